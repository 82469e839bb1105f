"""The command line behaves as a Unix tool (issue 23, item 1): --version, `python -m structurer`,
shell completion, one-line usage errors, a quiet end on a closed pipe, help that fits 80 columns
in click's words, and a finding repeated thousands of times shown a few times with a count."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEED_CASE
from typer.testing import CliRunner

from structurer import __version__
from structurer.cli import app
from structurer.cli.conventions import BROKEN_PIPE_EXIT, SHOWN_PER_CODE
from structurer.read import load_document
from structurer.vocab import load_vocabulary

runner = CliRunner()


def run(*args: str, **env: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env or None)


def test_version_and_python_dash_m() -> None:
    assert run("--version").stdout == f"structurer {__version__}\n"
    done = subprocess.run(
        [sys.executable, "-m", "structurer", "--version"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, f"structurer {__version__}\n")


def test_shell_completion_is_on() -> None:
    assert "--install-completion" in run("--help").stdout
    result = run("--show-completion", "bash")
    assert result.exit_code == 0
    assert "structurer" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["extract"], "missing argument 'INPUTS'"),
        (["extract", "a.md"], "missing option '--out'"),
        (["extract", "a.md", "-o", "x.jsonl", "--jobs", "0"], "invalid value for '--jobs'"),
        (["extract", "a.md", "-o", "x.jsonl", "--no-such-option"], "no such option"),
        (["no-such-command"], "no such command 'no-such-command'"),
        (["batch", "submit"], "missing argument 'FILES'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("structurer: error: ")
    assert says in line
    assert "--help" in line  # where to look


def _commands(command, path=()):  # type: ignore[no-untyped-def]
    yield path
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, (*path, name))


def _all_command_paths() -> list[tuple[str, ...]]:
    import typer.main

    return list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("columns", ["80", "200"])
def test_every_help_fits_80_columns_in_plain_words(columns: str) -> None:
    for path in _all_command_paths():
        result = run(*path, "--help", COLUMNS=columns)
        assert result.exit_code == 0, path
        text = result.stdout
        assert max(map(len, text.splitlines())) <= 80, (path, text)
        assert "<bool>" not in text and "<str>" not in text and "list[" not in text, path
        assert "…" not in text.split("Commands:")[0], (path, text)  # no option name is cut
        usage = text.splitlines()[0]
        assert "{" not in usage and usage == usage.replace("inputs", "INPUTS"), usage


def test_help_reflows_docstrings_and_names_arguments_in_capitals() -> None:
    text = run("extract", "--help", COLUMNS="80").stdout
    assert text.startswith("Usage: structurer extract [OPTIONS] INPUTS...\n")
    assert "\n  INPUTS...  Documents" in text
    assert "--max-failures-in-a-row INTEGER" in text
    assert "  --no-cache  " in text.replace("--no-cache ", "--no-cache  ")
    # the docstring's own line breaks are gone: each paragraph is wrapped once, at the width
    assert "root of the inputs\n  (source.document)" not in text
    assert "(source.document)" in text


def test_the_stated_cache_default_is_the_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from structurer.llm.settings import default_cache_dir

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    text = " ".join(run("extract", "--help").stdout.split())
    assert str(default_cache_dir()).replace(str(Path.home()), "~") in text
    assert "Default: $XDG_CACHE_HOME/structurer/llm" in text


# As a user's shell runs it: with PYTHONUNBUFFERED, a write to a closed pipe can be cut short
# without an error (an unbuffered FileIO returns the short count), so no pipe closes visibly.
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    records = tmp_path / "many.jsonl"
    records.write_bytes((SEED_CASE / "gold.jsonl").read_bytes() * 400)  # far more than a pipe holds
    source = tmp_path / "many.md"
    source.write_bytes((SEED_CASE / "source.md").read_bytes() * 100)
    for args in (["check", str(records), "--json"], ["split", str(source), "--json"]):
        with subprocess.Popen(
            [sys.executable, "-m", "structurer", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=BUFFERED,
        ) as reader:
            assert reader.stdout is not None and reader.stderr is not None
            reader.stdout.read(10)  # `| head -c 10`: then the reader goes away
            reader.stdout.close()
            err = reader.stderr.read()
            assert reader.wait() == BROKEN_PIPE_EXIT, (args, err)
            assert err == b"", err


def test_extract_to_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    source = tmp_path / "many.md"
    source.write_bytes((SEED_CASE / "source.md").read_bytes() * 40)  # 520 records: ~1 MB
    with subprocess.Popen(
        [sys.executable, "-m", "structurer", "extract", str(source), "-o", "-", "-b", "rules"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=BUFFERED,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.read(10)
        reader.stdout.close()
        err = reader.stderr.read().decode()
        assert reader.wait() == BROKEN_PIPE_EXIT, err
    assert "error" not in err and "Traceback" not in err, err


def test_repeated_findings_are_capped_with_a_count(tmp_path: Path) -> None:
    vocab = load_vocabulary()
    document = load_document(SEED_CASE / "source.md", vocab)
    first = document.chunks[0].text
    one = tmp_path / "one.md"  # the first form 25 times: one duplicate_project listing 25
    one.write_text("\n\n".join([first] * 25) + "\n", encoding="utf-8")
    three = tmp_path / "three.md"  # every form three times: 13 duplicate_project findings
    three.write_text((SEED_CASE / "source.md").read_text(encoding="utf-8") * 3, encoding="utf-8")
    result = run("extract", str(one), str(three), "-o", str(tmp_path / "out.jsonl"), "-b", "rules")
    lines = [x for x in result.stderr.splitlines() if "document.duplicate_project" in x]
    assert len(lines) == SHOWN_PER_CODE + 1
    assert "forms 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (25 in all) have" in lines[0]
    assert lines[-1].startswith(f"… and {1 + 13 - SHOWN_PER_CODE} more document.duplicate_project")
