"""The queryable store (export --format sqlite|parquet) and the review queue's ranking and sample."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import SEED_CASE, planted_seed_records
from typer.testing import CliRunner

from structurer.cli import app
from structurer.review.corrections import Correction, CorrectionLog, FormKey
from structurer.review.queue import wilson
from structurer.review.session import ReviewSession

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two documents (one in 元, one in 万元) extracted as one corpus."""
    root = tmp_path_factory.mktemp("store")
    for folder, case in (("a", "shanghai-2024"), ("b", "synthetic-district-2026")):
        (root / "in" / folder).mkdir(parents=True)
        data = (SEED_CASE.parent / case / "source.md").read_bytes()
        (root / "in" / folder / "预算.md").write_bytes(data)
    out = root / "out.jsonl"
    result = runner.invoke(app, ["extract", str(root / "in"), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


def records_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_sqlite_store_keys_every_row_by_run_document_and_form(corpus_out, tmp_path) -> None:
    db = tmp_path / "corpus.db"
    for _ in range(2):  # the same records file twice: replaced, not counted twice
        result = runner.invoke(app, ["export", str(corpus_out), "-f", "sqlite", "-o", str(db)])
        assert result.exit_code == 0, result.output
    con = sqlite3.connect(db)
    records = records_of(corpus_out)
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
    assert con.execute("SELECT COUNT(*) FROM forms").fetchone() == (len(records),)
    indicators = sum(len(r["indicators"]) for r in records)
    assert con.execute("SELECT COUNT(*) FROM indicators").fetchone() == (indicators,)
    findings = sum(len(r["findings"]) for r in records)
    assert con.execute("SELECT COUNT(*) FROM findings").fetchone() == (findings,)
    docs = con.execute("SELECT DISTINCT document, sha256 FROM forms ORDER BY 1").fetchall()
    assert [d for d, _ in docs] == ["a/预算.md", "b/预算.md"] and all(len(s) == 64 for _, s in docs)
    assert con.execute("SELECT DISTINCT backend, model FROM forms").fetchall() == [("rules", None)]
    # the README's example: annual funding by department in 元 (万元 forms x 10,000)
    rows = dict(
        con.execute(
            "SELECT department, SUM(annual_total * unit_factor) FROM forms GROUP BY department"
        ).fetchall()
    )
    wan = next(r for r in records if r["funding"]["unit"] == "万元" and r["department"])
    expected = sum(
        float(r["funding"]["annual_total"]) * (10000 if r["funding"]["unit"] == "万元" else 1)
        for r in records
        if r["department"] == wan["department"] and r["funding"]["annual_total"]
    )
    assert rows[wan["department"]] == pytest.approx(expected)
    share = con.execute("SELECT AVG(quantitative) FROM indicators").fetchone()[0]
    quantitative = sum(1 for r in records for i in r["indicators"] if i["op"] and i["value"])
    assert share == pytest.approx(quantitative / indicators)


def test_a_second_run_is_added_beside_the_first(corpus_out, tmp_path) -> None:
    db = tmp_path / "corpus.db"
    other = tmp_path / "other.jsonl"
    other.write_text(corpus_out.read_text(encoding="utf-8").splitlines()[0] + "\n", "utf-8")
    for path in (corpus_out, other):
        assert (
            runner.invoke(app, ["export", str(path), "-f", "sqlite", "-o", str(db)]).exit_code == 0
        )
    con = sqlite3.connect(db)
    runs = con.execute("SELECT run_id, forms FROM runs ORDER BY forms").fetchall()
    assert [n for _, n in runs] == [1, len(records_of(corpus_out))]
    per_run = con.execute("SELECT run_id, COUNT(*) FROM forms GROUP BY run_id").fetchall()
    assert sorted(n for _, n in per_run) == [1, len(records_of(corpus_out))]


def test_parquet_store_is_a_folder_of_tables(corpus_out, tmp_path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    result = runner.invoke(
        app, ["export", str(corpus_out), "-f", "parquet", "-o", str(tmp_path / "pq")]
    )
    assert result.exit_code == 0, result.output
    forms = pq.read_table(tmp_path / "pq" / "forms").to_pylist()
    assert len(forms) == len(records_of(corpus_out))
    assert {f["document"] for f in forms} == {"a/预算.md", "b/预算.md"}
    first = records_of(corpus_out)[0]
    assert forms[0]["annual_total"] == float(first["funding"]["annual_total"])
    indicators = pq.read_table(tmp_path / "pq" / "indicators")
    assert indicators.schema.field("value").type == "double"


def test_a_store_that_is_not_sqlite_is_a_clear_error(corpus_out, tmp_path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("not a database\n" * 100)
    result = runner.invoke(app, ["export", str(corpus_out), "-f", "sqlite", "-o", str(bad)])
    assert result.exit_code == 2 and "not a structurer SQLite store" in result.stderr


# --- what a store cannot hold (issue 21 item 15) ---


@pytest.fixture
def huge_year(tmp_path) -> Path:
    """The seed's gold with form 2's year 10**20: an integer the record contract (and `check`)
    accept, beyond SQLite's and Arrow's 64 bits."""
    lines = (SEED_CASE / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    second = json.loads(lines[1])
    second["year"] = 10**20
    lines[1] = json.dumps(second, ensure_ascii=False)
    path = tmp_path / "huge.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sqlite_refuses_a_value_it_cannot_hold_as_a_finding_and_keeps_the_rest(
    huge_year, tmp_path
) -> None:
    db = tmp_path / "s.db"
    result = runner.invoke(app, ["export", str(huge_year), "-o", str(db)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = [x for x in result.stderr.splitlines() if "export.out_of_range" in x]
    assert line.startswith("form 2 · ") and "forms.year: 100000000000000000000" in line
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM forms").fetchone() == (13,)
    assert con.execute("SELECT year FROM forms WHERE form_index = 2").fetchone() == (None,)
    assert con.execute("SELECT year FROM forms WHERE form_index = 1").fetchone() == (2024,)
    refused = con.execute("SELECT form_index FROM findings WHERE code = 'export.out_of_range'")
    assert refused.fetchall() == [(2,)]


def test_parquet_refuses_it_the_same_way(huge_year, tmp_path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path / "pq"
    result = runner.invoke(app, ["export", str(huge_year), "-f", "parquet", "-o", str(folder)])
    assert result.exit_code == 1, result.output
    forms = pq.read_table(folder / "forms").to_pylist()
    assert len(forms) == 13 and forms[1]["year"] is None and forms[0]["year"] == 2024
    assert sorted(p.parent.name for p in folder.rglob("*.parquet")) == [
        "findings", "forms", "indicators", "runs"]  # fmt: skip


def test_a_failed_parquet_export_leaves_no_file(corpus_out, tmp_path, monkeypatch) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    real = pq.write_table

    def fail_on_indicators(table, where, **kwargs):  # type: ignore[no-untyped-def]
        if "position" in table.schema.names:
            raise OSError(28, "No space left on device")
        return real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", fail_on_indicators)
    folder = tmp_path / "pq"
    result = runner.invoke(app, ["export", str(corpus_out), "-f", "parquet", "-o", str(folder)])
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert not list(tmp_path.rglob("*.parquet"))  # no runs/<id>.parquet without its forms


def test_a_database_of_another_schema_is_refused_and_nothing_committed(
    corpus_out, tmp_path
) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE forms (name TEXT, amount REAL)")
        con.execute("INSERT INTO forms VALUES ('theirs', 1.0)")
    con.close()
    result = runner.invoke(app, ["export", str(corpus_out), "-f", "sqlite", "-o", str(db)])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "not a structurer SQLite store" in line and "'forms' has other columns" in line
    con = sqlite3.connect(db)
    tables = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == [("forms",)]  # no empty `runs` table committed beside theirs
    assert con.execute("SELECT * FROM forms").fetchall() == [("theirs", 1.0)]


def test_a_failure_inside_the_transaction_commits_no_table(corpus_out, tmp_path) -> None:
    db = tmp_path / "new.db"
    with sqlite3.connect(db) as con:  # a trigger that fails the first insert into findings
        con.execute("CREATE TABLE findings (run_id TEXT, document TEXT, sha256 TEXT, "
                    "form_index INTEGER, severity TEXT, code TEXT, message TEXT, paths TEXT, "
                    '"values" TEXT, accepted TEXT)')  # fmt: skip
        con.execute("CREATE TRIGGER no BEFORE INSERT ON findings BEGIN "
                    "SELECT RAISE(ABORT, 'planted'); END")  # fmt: skip
    con.close()
    result = runner.invoke(app, ["export", str(corpus_out), "-f", "sqlite", "-o", str(db)])
    assert result.exit_code == 2 and "planted" in result.stderr
    con = sqlite3.connect(db)
    tables = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == [("findings",)]


# --- the review queue ---


def test_the_queue_ranks_errors_repairs_disagreements_warnings_then_clean(tmp_path) -> None:
    records = planted_seed_records(tmp_path)  # form 1: an arithmetic error
    lines = [json.loads(x) for x in records.read_text(encoding="utf-8").splitlines()]
    lines[5]["meta"] = {"repairs": [{"path": "funding.annual_total", "raw": "1,2OO"}]}
    lines[8]["findings"] = [{"severity": "warning", "code": "hybrid.disagreement",
                             "message": "m", "paths": ["project_name"]}]  # fmt: skip
    records.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    session = ReviewSession(records, SEED_CASE / "source.md", sample=3, seed=1)
    tiers = [session.tier(s) for s in session.queue()]
    assert tiers[:3] == ["errors", "repairs", "disagreements"]
    order = ["errors", "repairs", "disagreements", "warnings", "sample", "clean", "reviewed"]
    assert [order.index(t) for t in tiers] == sorted(order.index(t) for t in tiers)
    assert tiers.count("sample") == 3
    assert session.queue()[0].number == 1


def test_the_sample_estimates_the_error_rate_of_the_clean_forms(tmp_path) -> None:
    records = planted_seed_records(tmp_path)
    session = ReviewSession(records, SEED_CASE / "source.md", sample=4, seed=3)
    again = ReviewSession(records, SEED_CASE / "source.md", sample=4, seed=3)
    assert session.sample == again.sample  # the same command, the same sample
    estimate = session.estimate()
    assert estimate is not None and estimate.reviewed == 0 and estimate.sampled == 4
    picked = sorted(session.sample)
    state = session.state(picked[0])
    old = state.record.annual_goal
    session.edit(picked[0], "annual_goal", (old or "") + "（修）", old=old)
    for n in picked[:2]:
        session.mark_reviewed(n)
    estimate = session.estimate()
    assert (estimate.reviewed, estimate.wrong, estimate.clean) == (2, 1, session.clean)
    assert estimate.rate == 0.5
    low, high = estimate.interval
    assert 0 < low < 0.5 < high < 1
    assert "1 needed a fix" in str(estimate)


def test_wilson_interval() -> None:
    low, high = wilson(0, 10)
    assert low == 0 and 0.25 < high < 0.35  # no error in 10 does not mean none at all
    low, high = wilson(5, 10)
    assert low == pytest.approx(1 - high)


def test_fixture_add_takes_only_the_named_documents_forms(corpus_out, tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(corpus_out.read_bytes())
    records = records_of(out)
    b_first = next(r for r in records if r["source"]["document"] == "b/预算.md")
    from structurer.models import FormRecord

    key = FormKey.of(FormRecord.model_validate(b_first))
    CorrectionLog(tmp_path / "out.corrections.jsonl").append(
        Correction(form=key, op="review", path="", new=True, reviewer="li")
    )
    source = Path(b_first["source"]["path"])
    result = runner.invoke(
        app,
        ["fixture", "add", str(out), "--source", str(source), "--name", "b-case",
         "--fixtures", str(tmp_path / "fx")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    gold = records_of(tmp_path / "fx" / "b-case" / "gold.jsonl")
    assert [g["project_name"] for g in gold] == [b_first["project_name"]]
    assert "the reviewed 1 of 4" in result.output  # b's forms only, never a's 13


def test_the_readme_queries_count_each_form_once_with_two_runs(corpus_out, tmp_path) -> None:
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### A store to query across runs", 1)[1]
    [sql] = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    funding, share = (q.strip() for q in sql.split(";") if q.strip())
    db = tmp_path / "corpus.db"
    other = tmp_path / "again.jsonl"  # the same corpus extracted again: another run
    other.write_text(corpus_out.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    for path in (corpus_out, other):
        assert runner.invoke(app, ["export", str(path), "-o", str(db)]).exit_code == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone() == (2,)
    forms = sum(n for _, _, n in con.execute(funding).fetchall())
    assert forms == len(records_of(corpus_out))  # each form once, not once per run
    assert all(0 <= s <= 1 for _, s in con.execute(share).fetchall())
