"""`structurer split/extract/schema` as a user runs them, bad input included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import read_jsonl
from typer.testing import CliRunner

from structurer import pipeline
from structurer.cli import app
from structurer.read import load_document
from structurer.rules import RulesBackend

runner = CliRunner()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_extract_seed_writes_13_records(seed_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = run("extract", str(seed_source), "-o", str(out), "--backend", "rules")
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert [r["form_index"] for r in records] == list(range(1, 14))
    assert records[0]["funding"]["annual_total"] == "5900000.00"
    assert records[0]["source"]["document"] == "source.md"
    assert not (tmp_path / "out.jsonl.partial").exists()
    assert "extract summary" in result.output


def test_split_lists_forms(seed_source: Path) -> None:
    result = run("split", str(seed_source), "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == 13
    assert rows[0]["project_name"] == "孵化基地运营及创业孵化服务支出"
    assert rows[0]["start_line"] == 5


def test_schema_is_the_record_model() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"funding", "indicators", "project_name"} <= set(schema["properties"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("# 汇总表\n没有表格\n".encode(), "no project performance-target form"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    src = tmp_path / "doc.md"
    if content is not None:
        src.write_bytes(content)
    result = run("extract", str(src), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_gbk_document_is_decoded(seed_source: Path, tmp_path: Path) -> None:
    src = tmp_path / "gbk.md"
    src.write_bytes(seed_source.read_text(encoding="utf-8").encode("gb18030"))
    out = tmp_path / "out.jsonl"
    assert run("extract", str(src), "-o", str(out)).exit_code == 0
    assert read_jsonl(out)[2]["project_name"] == "国际孵化器活动及工作"


def test_bad_file_among_good_is_skipped(seed_source: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("")
    out = tmp_path / "out.jsonl"
    result = run("extract", str(empty), str(seed_source), "-o", str(out))
    assert result.exit_code == 1
    assert "skipped" in result.stderr
    assert len(read_jsonl(out)) == 13


class _Flaky:
    """A backend whose extraction of one form crashes."""

    name = "rules"

    def run(self, jobs, on_record):  # type: ignore[no-untyped-def]
        from structurer.rules import extract_form

        for job in jobs:
            if job.chunk.index == 3:
                raise RuntimeError("boom")
            on_record(job, extract_form(job.chunk, job.grid))


def test_one_broken_form_loses_nothing_else(seed_source: Path, tmp_path: Path) -> None:
    doc = load_document(seed_source)
    out = tmp_path / "out.jsonl"
    result = pipeline.extract_to_file([doc], out, _Flaky())
    records = read_jsonl(out)
    assert len(records) == 13 and result.failed == 1
    failed = [r for r in records if any(f["code"] == "extract.failed" for f in r["findings"])]
    # only the form that crashes the backend fails: the forms after it are run one by one
    assert [r["form_index"] for r in failed] == [3]
    assert "RuntimeError: boom" in failed[0]["findings"][0]["message"]
    assert failed[0]["source"]["document"] == "source.md"  # still says where it belongs
    assert records[1]["project_name"] == "项目管理费"
    assert records[3]["project_name"] and records[12]["project_name"]


def test_interrupted_run_resumes_from_journal(seed_source: Path, tmp_path: Path) -> None:
    doc = load_document(seed_source)
    out = tmp_path / "out.jsonl"
    seen: list[int] = []

    def stop_after_five(result: pipeline.FormResult) -> None:
        seen.append(result.form_index)
        if len(seen) == 5:
            raise KeyboardInterrupt  # Ctrl-C mid-run

    with pytest.raises(KeyboardInterrupt):
        pipeline.extract_to_file([doc], out, RulesBackend(), on_form=stop_after_five)
    assert not out.exists()  # never a half-written output
    assert len((tmp_path / "out.jsonl.partial").read_text().splitlines()) == 5

    again: list[int] = []
    result = pipeline.extract_to_file(
        [doc], out, RulesBackend(), on_form=lambda r: again.append(r.form_index)
    )
    assert result.resumed == 5
    assert again == list(range(6, 14))
    assert [r["form_index"] for r in read_jsonl(out)] == list(range(1, 14))


def test_output_is_written_with_normal_permissions(seed_source: Path, tmp_path: Path) -> None:
    import os

    out = tmp_path / "out.jsonl"
    assert run("extract", str(seed_source), "-o", str(out)).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's private 0600
    assert not list(tmp_path.glob(".out.jsonl.*.tmp"))  # no temporary file left behind
