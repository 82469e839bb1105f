"""LLM and hybrid backends end to end: the CLI over the seed, the API key, resume, settings, hybrid."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import SEED_CASE, read_jsonl
from fake_openai_server import FakeOpenAI, Reply, gold_reply, gold_responder, prompt_text
from test_llm import CONTENT, content
from typer.testing import CliRunner

from structurer import checks
from structurer.backends import make_backend
from structurer.cli import app
from structurer.errors import StructurerError
from structurer.llm.merge import disagreements
from structurer.models import Finding, FormRecord
from structurer.pipeline import extract_to_file
from structurer.read import load_document

SECRET = "sk-test-DO-NOT-STORE-4f1c9a"
runner = CliRunner()


@pytest.fixture(scope="module")
def gold() -> list[dict[str, Any]]:
    return read_jsonl(SEED_CASE / "gold.jsonl")


def settings(url: str, **overrides: Any) -> dict[str, Any]:
    base = {"base_url": url, "model": "test-model", "no_cache": True, "concurrency": 4}
    return {**base, **overrides}


def test_cli_extract_over_the_seed_equals_the_gold_and_never_stores_the_key(
    tmp_path, gold, monkeypatch
) -> None:
    monkeypatch.setenv("STRUCTURER_API_KEY", SECRET)
    out, cache = tmp_path / "out.jsonl", tmp_path / "cache"
    with FakeOpenAI(gold_responder(gold)) as server:
        args = ["-v", "extract", str(SEED_CASE / "source.md"), "-o", str(out), "-b", "llm"]
        args += ["--base-url", server.url, "--model", "X", "--cache-dir", str(cache)]
        result = runner.invoke(app, [*args, "--price-in", "1", "--price-out", "2"])
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert [{k: r[k] for k in CONTENT} for r in records] == [content(g) for g in gold]
    assert server.headers[0]["authorization"] == f"Bearer {SECRET}"  # it was used ...
    stored = [out, *(p for p in cache.rglob("*") if p.is_file())]
    assert all(SECRET.encode() not in p.read_bytes() for p in stored)  # ... and never kept
    assert SECRET not in result.output
    assert "LLM calls per form" in result.output and "cost" in result.output


def test_cli_eval_runs_with_the_llm_backend(tmp_path, gold) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        result = runner.invoke(
            app,
            [
                *("eval", str(SEED_CASE), "-b", "llm", "--base-url", server.url, "--model", "X"),
                *("--no-cache", "--report", str(tmp_path), "--no-history"),
            ],
        )
    assert result.exit_code == 0, result.output
    assert len(server.requests) == len(gold)


def test_interrupted_run_resumes_with_only_the_missing_forms(tmp_path, gold) -> None:
    out, seed = tmp_path / "out.jsonl", load_document(SEED_CASE / "source.md")
    finished: list[int] = []

    def interrupt_after_three(result) -> None:  # type: ignore[no-untyped-def]
        finished.append(result.form_index)
        if len(finished) == 3:
            raise KeyboardInterrupt

    with FakeOpenAI(gold_responder(gold)) as first:
        backend = make_backend("llm", **settings(first.url, concurrency=1))
        with pytest.raises(KeyboardInterrupt):
            extract_to_file([seed], out, backend, on_form=interrupt_after_three)
    assert (tmp_path / "out.jsonl.partial").exists() and not out.exists()
    with FakeOpenAI(gold_responder(gold)) as second:
        backend = make_backend("llm", **settings(second.url))
        result = extract_to_file([load_document(SEED_CASE / "source.md")], out, backend)
    assert result.resumed == 3
    assert len(second.requests) == len(gold) - 3  # the journal covers the rest
    asked = {
        name
        for g in gold
        for name in [g["project_name"]]
        if any(f":{name} |" in prompt_text(r) for r in second.requests)
    }
    assert not asked & {g["project_name"] for g in gold[:3]}
    assert [{k: r[k] for k in CONTENT} for r in read_jsonl(out)] == [content(g) for g in gold]


def test_missing_model_and_missing_key_are_clear_errors(monkeypatch) -> None:
    with pytest.raises(StructurerError, match="no LLM model"):
        make_backend("llm", base_url="http://127.0.0.1:9/v1", model=None)
    with pytest.raises(StructurerError, match="STRUCTURER_API_KEY"):
        make_backend("llm", base_url="https://api.deepseek.com/v1", model="deepseek-chat")
    with pytest.raises(StructurerError, match="--mode"):
        make_backend("llm", base_url="http://localhost:8000/v1", model="m", mode="xml")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    backend = make_backend("llm", base_url="https://api.deepseek.com/v1", model="deepseek-chat")
    assert SECRET not in repr(backend.settings)


def test_cli_reports_a_missing_key_in_one_line(tmp_path) -> None:
    args = ["extract", str(SEED_CASE / "source.md"), "-o", str(tmp_path / "o.jsonl"), "-b", "llm"]
    result = runner.invoke(app, [*args, "--base-url", "https://api.openai.com/v1", "--model", "m"])
    assert result.exit_code == 2
    assert "STRUCTURER_API_KEY" in result.output and "Traceback" not in result.output


# --- hybrid ---


def flag_rules_records(names: set[str]):  # type: ignore[no-untyped-def]
    """A checker that finds an error in the rule record of the named forms only."""

    def check(record: FormRecord, **kw: Any) -> list[Finding]:
        if "llm" not in record.meta and record.project_name in names:
            return [Finding(severity="error", code="funding.annual_identity", message="test")]
        return []

    return check


def run_hybrid(url: str, jobs_records: dict[int, FormRecord] | None = None) -> list[FormRecord]:
    from structurer.pipeline import plan_jobs
    from structurer.read import load_document

    jobs = plan_jobs([load_document(SEED_CASE / "source.md")])[:4]
    done: dict[int, FormRecord] = {}
    backend = make_backend("hybrid", **settings(url))
    backend.run(jobs, lambda job, rec: done.__setitem__(job.chunk.index, rec))
    run_hybrid.backend = backend  # type: ignore[attr-defined]
    return [done[j.chunk.index] for j in jobs]


def test_hybrid_sends_only_forms_with_rule_errors(gold, monkeypatch) -> None:
    monkeypatch.setattr(checks, "check_record", flag_rules_records(set()))
    with FakeOpenAI(gold_responder(gold)) as server:
        records = run_hybrid(server.url)
    assert server.requests == []
    assert all(
        r.meta["hybrid"]["chosen"] == "rules" and r.meta["llm"]["calls"] == 0 for r in records
    )
    assert ("LLM calls per form", "0.00") in run_hybrid.backend.llm.usage.rows()


def test_hybrid_keeps_each_value_the_checks_doubt_least_and_names_the_other(
    gold, monkeypatch
) -> None:
    name = gold[1]["project_name"]
    real_check, flag = checks.check_record, flag_rules_records({name})

    def check(record: FormRecord, **kw: Any) -> list[Finding]:  # the real checker, plus a flag
        return real_check(record, **kw) + flag(record, **kw)

    monkeypatch.setattr(checks, "check_record", check)
    reply = gold_reply(gold[1])
    reply["department"] = "上海市科学技术委员会办公室"
    reply["annual_goal"] = None  # the LLM says less: never a reason to prefer it
    with FakeOpenAI(lambda body: Reply(reply)) as server:
        records = run_hybrid(server.url)
    # the ungrounded department is re-asked with the cell its label points at; the stand-in
    # persists, so its reading stays doubted (not in the source) and the rules' is kept
    assert len(server.requests) == 3 and name in prompt_text(server.requests[0])
    assert "R33 1:上海市科学技术委员会: copy what that cell says" in prompt_text(server.requests[1])
    kept = records[1]
    assert kept.meta["hybrid"]["sent_to_llm"] and kept.meta["hybrid"]["from_llm"] == []
    assert kept.department == gold[1]["department"] and kept.meta["llm"]["calls"] == 3
    assert kept.annual_goal == gold[1]["annual_goal"]
    found = [f for f in kept.findings if f.code == "hybrid.disagreement"]
    (department,) = [f for f in found if f.paths == ["department"]]
    assert department.severity == "warning" and department.values["llm"] == reply["department"]
    assert ("LLM calls per form", "0.75") in run_hybrid.backend.llm.usage.rows()


def test_hybrid_fills_what_the_rules_left_empty_with_the_llms_grounded_value(
    gold, monkeypatch
) -> None:
    from structurer.llm import hybrid

    name = gold[1]["project_name"]
    monkeypatch.setattr(checks, "check_record", flag_rules_records({name}))
    real = hybrid.rules_record

    def rules_leaving_the_unit_empty(job, vocab):  # type: ignore[no-untyped-def]
        record = real(job, vocab)
        if record is not None and record.project_name == name:
            record.implementing_unit = None
        return record

    monkeypatch.setattr(hybrid, "rules_record", rules_leaving_the_unit_empty)
    with FakeOpenAI(lambda body: Reply(gold_reply(gold[1]))) as server:
        records = run_hybrid(server.url)
    kept = records[1]
    assert kept.implementing_unit == gold[1]["implementing_unit"]
    assert kept.meta["hybrid"]["from_llm"] == ["implementing_unit"]
    assert kept.meta["hybrid"]["chosen"] == "llm" and len(server.requests) == 1


def test_hybrid_keeps_the_rule_record_when_the_llm_fails(gold, monkeypatch) -> None:
    name = gold[0]["project_name"]
    monkeypatch.setattr(checks, "check_record", flag_rules_records({name}))
    with FakeOpenAI(lambda body: Reply(status=400)) as server:
        records = run_hybrid(server.url)
    assert len(server.requests) == 1
    kept = records[0]
    assert kept.meta["hybrid"]["chosen"] == "rules"
    assert [f.severity for f in kept.findings if f.code == "llm.failed"] == ["warning"]


def test_disagreements_compare_amounts_as_numbers() -> None:
    a = FormRecord(form_index=1, project_name="甲", funding={"annual_total": "0"})
    b = FormRecord(form_index=1, project_name="乙", funding={"annual_total": "0.00"})
    [finding] = disagreements(a, b)
    assert finding.paths == ["project_name"]
    assert finding.values == {"rules": "甲", "llm": "乙", "kept": "rules"}
