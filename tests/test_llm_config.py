"""One LLM configuration (issue 23, item 9): options over the environment over a config file
over the defaults, declared once for every command; prompts chosen from the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, read_jsonl
from fake_openai_server import FakeOpenAI, gold_responder
from typer.main import get_command
from typer.testing import CliRunner

from structurer.cli import app
from structurer.cli.options import LLM_OPTIONS, REQUEST_OPTIONS, RUN_OPTIONS
from structurer.errors import StructurerError
from structurer.llm.prompt import PROMPTS_DIR, load_prompt, prompt_registry
from structurer.llm.settings import LLMConfig, load_config, resolve_settings

runner = CliRunner()
TINY = ROOT / "fixtures" / "synthetic-paddle-2025" / "source.md"


def test_each_layer_over_the_next(tmp_path: Path) -> None:
    (tmp_path / "structurer.toml").write_text(
        'model = "file-model"\nmode = "md_json"\nmax_reasks = 0\nprice_in = 0.5\n',
        encoding="utf-8",
    )
    env = {"STRUCTURER_MODEL": "env-model", "STRUCTURER_MAX_REASKS": "1"}
    config = load_config({"max_reasks": 3, "model": None}, environ=env, cwd=tmp_path)
    assert (config.model, config.max_reasks) == ("env-model", 3)  # option > env > file
    assert (config.mode, config.price_in, config.timeout) == ("md_json", 0.5, 120.0)
    assert load_config(environ={}, cwd=tmp_path).model == "file-model"


def test_pyproject_table_and_the_nearest_file_from_a_sub_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.structurer]\nbase_url = "http://127.0.0.1:9/v1"\n',
        encoding="utf-8",
    )
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert load_config(environ={}, cwd=deep).base_url == "http://127.0.0.1:9/v1"
    (tmp_path / "a" / "structurer.toml").write_text('model = "near"\n', encoding="utf-8")
    near = load_config(environ={}, cwd=deep)
    assert (near.model, near.base_url) == ("near", None)  # the nearest file, not a merge
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:7/v1"}
    assert load_config(environ=env, cwd=tmp_path).base_url == "http://127.0.0.1:7/v1"


@pytest.mark.parametrize(
    ("file_text", "env", "given", "message"),
    [
        ('mode = "xml"\n', {}, {}, "structurer.toml: mode: Input should be"),
        ('modle = "x"\n', {}, {}, "structurer.toml: modle: not an LLM setting"),
        ('api_key = "sk-1"\n', {}, {}, "no api_key in a file"),
        ("", {"STRUCTURER_MAX_REASKS": "many"}, {}, "STRUCTURER_MAX_REASKS: Input should be"),
        ("", {}, {"concurrency": 0}, "--concurrency: Input should be greater than or equal"),
    ],
)
def test_a_bad_value_names_where_it_came_from(tmp_path, file_text, env, given, message) -> None:
    (tmp_path / "structurer.toml").write_text(file_text, encoding="utf-8")
    with pytest.raises(StructurerError, match=message.replace("(", r"\(")):
        load_config(given, environ=env, cwd=tmp_path)


def test_the_key_comes_from_the_environment_only_and_is_never_dumped(monkeypatch) -> None:
    monkeypatch.setenv("STRUCTURER_API_KEY", "sk-secret-1")
    settings = resolve_settings(model="m", prompt="extract-v2")
    assert settings.api_key == "sk-secret-1"
    assert "sk-secret-1" not in repr(settings) + settings.model_dump_json()
    assert isinstance(settings, LLMConfig) and settings.prompt == "extract-v2"


def _llm_params(*path: str) -> set[str]:
    command = get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return {p.name for p in command.params if p.name in LLMConfig.model_fields}


def test_every_command_declares_the_options_of_the_one_model() -> None:
    for command in ("extract", "eval", "robustness"):
        assert _llm_params(command) == set(LLM_OPTIONS), command
    assert _llm_params("batch", "submit") == set(REQUEST_OPTIONS)
    assert _llm_params("batch", "collect") == set(RUN_OPTIONS)
    assert set(LLM_OPTIONS) == set(LLMConfig.model_fields) - {"reasoning"}


def _extract(server: FakeOpenAI, out: Path, *extra: str) -> None:
    args = ["extract", str(TINY), "-o", str(out), "-b", "llm", "--no-cache", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def test_the_cli_reads_the_config_file_and_an_option_at_its_default_does_not_hide_it(
    tmp_path, monkeypatch
) -> None:
    gold = read_jsonl(TINY.parent / "gold.jsonl")
    monkeypatch.chdir(tmp_path)
    with FakeOpenAI(gold_responder(gold)) as server:
        (tmp_path / "structurer.toml").write_text(
            f'model = "from-file"\nbase_url = "{server.url}"\nmode = "md_json"\n',
            encoding="utf-8",
        )
        _extract(server, tmp_path / "a.jsonl")
        assert {r["model"] for r in server.requests} == {"from-file"}
        assert not any("tools" in r for r in server.requests)  # md_json from the file
        monkeypatch.setenv("STRUCTURER_MODEL", "from-env")
        _extract(server, tmp_path / "b.jsonl")
        assert server.requests[-1]["model"] == "from-env"
        _extract(server, tmp_path / "c.jsonl", "--model", "from-option", "--mode", "tools")
        assert server.requests[-1]["model"] == "from-option" and "tools" in server.requests[-1]


# --- the prompt registry ---


def test_every_registered_prompt_loads_and_the_current_one_is_the_default() -> None:
    registry = prompt_registry()
    for version, entry in registry["prompts"].items():
        prompt = load_prompt(version)
        assert prompt.version == version and (PROMPTS_DIR / entry["file"]).is_file()
    assert load_prompt().version == registry["current"]["extract"]
    with pytest.raises(StructurerError, match="known: extract-v3"):
        load_prompt("extract-v0")


def test_a_prompt_file_is_a_new_prompt_without_code(tmp_path: Path) -> None:
    text = (PROMPTS_DIR / "extract-v3.md").read_text(encoding="utf-8")
    mine = tmp_path / "my-prompt.md"
    mine.write_text(text.replace("You read one", "You carefully read one"), encoding="utf-8")
    prompt = load_prompt(str(mine))
    assert prompt.version == "my-prompt" and prompt.sha != load_prompt("extract-v3").sha
    (tmp_path / "bad.md").write_text("no parts", encoding="utf-8")
    with pytest.raises(StructurerError, match="system"):
        load_prompt(str(tmp_path / "bad.md"))


def test_a_prompt_version_is_sent_and_named_with_its_hash_in_each_record(tmp_path) -> None:
    gold = read_jsonl(TINY.parent / "gold.jsonl")
    out = tmp_path / "out.jsonl"
    v2 = load_prompt("extract-v2")
    with FakeOpenAI(gold_responder(gold)) as server:
        args = ["--base-url", server.url, "--model", "m", "--prompt", "extract-v2"]
        _extract(server, out, *args)
    system = server.requests[0]["messages"][0]["content"]
    assert "<form_data>" not in system and system.startswith(v2.system.template[:40])
    metas = [r["meta"]["llm"] for r in read_jsonl(out)]
    assert {(m["prompt_version"], m["prompt_sha"]) for m in metas} == {("extract-v2", v2.sha)}


def test_the_command_line_is_built_without_pydantic() -> None:
    """The options come from config_fields.py, plain data: `structurer --help` stays fast."""
    import subprocess
    import sys

    code = "import sys, structurer.cli; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
