"""A corpus in one command: document identity across folders, pipes, the process pool, and
corrections and review pages that never cross documents.

The corpus is 200 documents in nested folders, every one named 预算.md: 10 districts x 2 years x
10 departments. The 2024 and 2025 documents of a department print the same project name with the
same amounts (a department's recurring project), so only the document's identity can tell them
apart; each form's goal names its own document, so a record paired with the wrong source shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEED_CASE
from typer.testing import CliRunner

from structurer.cli import app
from structurer.io import read_records
from structurer.models import FormRecord
from structurer.quality.damage import render_document
from structurer.review.corrections import Correction, CorrectionLog, FormKey
from structurer.review.session import ReviewSession

runner = CliRunner()
DISTRICTS, YEARS, DEPARTMENTS = 10, (2024, 2025), 10


def gold() -> list[FormRecord]:
    return read_records(SEED_CASE / "gold.jsonl")


def build_corpus(root: Path) -> dict[str, FormRecord]:
    """200 documents of one form each; returns the planted record by document name."""
    forms = gold()
    planted: dict[str, FormRecord] = {}
    for d in range(DISTRICTS):
        for year in YEARS:
            for dept in range(DEPARTMENTS):
                name = f"district-{d}/{year}/dept-{dept}/预算.md"
                record = forms[(d * DEPARTMENTS + dept) % len(forms)].model_copy(deep=True)
                record.project_name = f"{record.project_name}{d}{dept}"  # same in both years
                record.year = year
                record.annual_goal = f"目标{d}-{year}-{dept}"  # the document's own text
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(render_document([record]), encoding="utf-8")
                planted[name] = record
    return planted


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, FormRecord]]:
    root = tmp_path_factory.mktemp("corpus") / "disclosures"
    planted = build_corpus(root)
    (root / "README.txt").write_text("下载说明：本目录为各部门预算公开文件。\n", encoding="utf-8")
    (root / "district-0" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    return root, planted


@pytest.fixture(scope="module")
def extracted(corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus extracted once to a file (the tests that only read it share it)."""
    out = tmp_path_factory.mktemp("extracted") / "out.jsonl"
    result = run("extract", str(corpus[0]), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def run(*args: str, **kwargs):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), **kwargs)


def lines_of(text: str) -> list[dict]:
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def test_extract_a_folder_to_stdout_pipes_valid_jsonl_one_record_per_document(corpus) -> None:
    root, planted = corpus
    result = run("extract", str(root), "-o", "-")
    assert result.exit_code == 0, result.stderr
    records = lines_of(result.stdout)  # stdout holds nothing but JSON Lines
    for data in records:
        FormRecord.model_validate(data)
    assert [r["source"]["document"] for r in records] == sorted(planted)  # walk order
    for r in records:
        mine = planted[r["source"]["document"]]
        assert (r["project_name"], r["annual_goal"], r["year"]) == (
            mine.project_name,
            mine.annual_goal,
            mine.year,
        )
        assert not any(f["severity"] == "error" for f in r["findings"])
    # what is not a document is passed over with a one-line note each; the summary is on stderr
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith("note: passed over")]
    assert len(notes) == 2 and any("README.txt" in n for n in notes)
    assert "all 200 documents" in result.stderr


def test_a_corrections_log_made_on_one_year_is_not_applied_to_the_other(
    corpus, extracted, tmp_path
) -> None:
    root, _ = corpus
    out = tmp_path / "out.jsonl"
    out.write_bytes(extracted.read_bytes())
    records = read_records(out)
    y2024 = next(r for r in records if r.source.document == "district-3/2024/dept-4/预算.md")
    y2025 = next(r for r in records if r.source.document == "district-3/2025/dept-4/预算.md")
    assert y2024.project_name == y2025.project_name  # the same project, both years
    fixed = "123.45"
    CorrectionLog(tmp_path / "out.corrections.jsonl").append(
        Correction(
            form=FormKey.of(y2024),
            op="set",
            path="funding.annual_total",
            old=y2024.funding.annual_total,
            new=fixed,
            reviewer="li",
        )
    )
    result = run("extract", str(root), "-o", str(out))
    assert "corrections: 1 applied" in result.stderr, result.stderr
    again = {r.source.document: r for r in read_records(out)}
    assert again["district-3/2024/dept-4/预算.md"].funding.annual_total == fixed
    assert again["district-3/2025/dept-4/预算.md"].funding.annual_total == (
        y2025.funding.annual_total
    )
    changed = [n for n, r in again.items() if r.funding.annual_total == fixed]
    assert changed == ["district-3/2024/dept-4/预算.md"]


def test_review_pages_pair_every_record_with_its_own_document(corpus, extracted) -> None:
    _, planted = corpus
    session = ReviewSession(extracted)  # no --source: each document is found from the records
    assert len(session.documents) == 200
    for state in session.states():
        name = state.record.source.document
        assert state.document is not None and state.document.key == name
        assert state.chunk is not None and planted[name].annual_goal in state.chunk.text
        assert not any(f.code == "grounding.ungrounded" for f in state.record.findings)


def test_moved_documents_are_found_with_source_root(corpus, tmp_path) -> None:
    root, _ = corpus
    out = tmp_path / "out.jsonl"
    part = root / "district-1"
    assert run("extract", str(part), "-o", str(out)).exit_code == 0
    moved = tmp_path / "moved"
    moved.mkdir()
    for doc in part.rglob("预算.md"):
        target = moved / doc.relative_to(part)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(doc.read_bytes())
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    for r in records:
        r["source"]["path"] = str(tmp_path / "gone" / r["source"]["document"])
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    with pytest.raises(Exception, match="--source-root"):
        ReviewSession(out)
    session = ReviewSession(out, source_root=moved)
    assert len(session.documents) == 20 and all(s.chunk for s in session.states())
    # a document whose text changed since extraction is refused, never shown beside the records
    first = moved / records[0]["source"]["document"]
    first.write_text(first.read_text(encoding="utf-8").replace("目标", "目的"), encoding="utf-8")
    with pytest.raises(Exception, match="other text than was extracted"):
        ReviewSession(out, source_root=moved)


def test_the_process_pool_writes_the_same_output_as_one_process(corpus, tmp_path) -> None:
    root, _ = corpus
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run("extract", str(root / "district-2"), "-o", str(one), "-j", "1").exit_code == 0
    result = run("extract", str(root / "district-2"), "-o", str(two), "-j", "2")
    assert result.exit_code == 0, result.stderr
    assert one.read_bytes() == two.read_bytes()


def test_byte_identical_files_at_two_paths_are_two_documents(tmp_path) -> None:
    source = (SEED_CASE / "source.md").read_bytes()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "预算.md").write_bytes(source)
    out = tmp_path / "out.jsonl"
    result = run("extract", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    records = read_records(out)
    assert [r.source.document for r in records] == ["a/预算.md"] * 13 + ["b/预算.md"] * 13
    assert len({r.meta["job"] for r in records}) == 26  # no two forms share a job key
    assert {r.source.sha256 for r in records} == {records[0].source.sha256}
    summary = [ln for ln in result.stderr.splitlines() if "预算.md" in ln]
    assert len(summary) == 2 and all(" 13 " in ln for ln in summary)


def test_stdin_is_a_document(tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    data = (SEED_CASE / "source.md").read_bytes()
    result = run("extract", "-", "-o", str(out), input=data)
    assert result.exit_code == 0, result.stderr
    records = read_records(out)
    assert len(records) == 13 and records[0].source.document == "<stdin>"
    assert records[0].source.path is None
    bad = run("extract", "-", "-o", str(tmp_path / "bad.jsonl"), input=b"")
    assert bad.exit_code == 2 and bad.stderr.strip() == "structurer: error: <stdin>: file is empty"


def test_a_folder_with_no_document_is_one_clear_error(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here\n", encoding="utf-8")
    result = run("extract", str(tmp_path), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("structurer: error:")
    assert not (tmp_path / "out.jsonl").exists()
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_glob_picks_the_files_to_read(corpus, tmp_path) -> None:
    root, _ = corpus
    result = run("extract", str(root), "--glob", "*.txt", "-o", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2  # README.txt is the only match, and it holds no form
    result = run("extract", str(root), "--glob", "district-4/2025/*/*.md", "-o", "-")
    assert result.exit_code == 0
    docs = {r["source"]["document"] for r in lines_of(result.stdout)}
    assert docs == {f"district-4/2025/dept-{n}/预算.md" for n in range(DEPARTMENTS)}
