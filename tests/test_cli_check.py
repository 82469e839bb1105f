"""`structurer check` and `structurer export` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from structurer.cli import app
from structurer.io import read_records, write_records
from structurer.models import Finding

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "shanghai-2024"
runner = CliRunner()


@pytest.fixture
def gold_file(tmp_path: Path) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_bytes((SEED / "gold.jsonl").read_bytes())
    return path


def _edit(path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    records = read_records(path)
    change(records)
    write_records(path, records)
    return path


def test_clean_records_exit_0_and_show_the_one_warning(gold_file):
    result = runner.invoke(app, ["check", str(gold_file), "--source", str(SEED / "source.md")])
    assert result.exit_code == 0, result.output
    assert "indicator.missing_target" in result.output
    assert "0 errors" in result.output


def test_an_error_exits_1_and_is_listed_first(gold_file):
    def change(records):  # type: ignore[no-untyped-def]
        records[2].funding.annual_total = "1450001.00"

    _edit(gold_file, change)
    result = runner.invoke(app, ["check", str(gold_file), "--source", str(SEED / "source.md")])
    assert result.exit_code == 1
    out = result.output
    assert "funding.annual_identity" in out and "grounding.ungrounded" in out
    assert out.index("form 3 ") < out.index("form 11 ")  # forms with errors come first


def test_grounding_needs_the_source(gold_file):
    def change(records):  # type: ignore[no-untyped-def]
        records[0].project_name = "完全虚构的项目"

    _edit(gold_file, change)
    assert runner.invoke(app, ["check", str(gold_file)]).exit_code == 0
    result = runner.invoke(app, ["check", str(gold_file), "-s", str(SEED / "source.md")])
    assert result.exit_code == 1 and "完全虚构的项目" in result.output


def test_without_source_stored_grounding_findings_are_kept(gold_file):
    def change(records):  # type: ignore[no-untyped-def]
        records[0].findings = [
            Finding(severity="error", code="grounding.ungrounded", message="from extract")
        ]

    _edit(gold_file, change)
    result = runner.invoke(app, ["check", str(gold_file), "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["forms"][0]["findings"][0]["message"] == "from extract"
    assert payload["document"] == []


def test_a_broken_records_file_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"form_index": 1}\nnot json\n', encoding="utf-8")
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    assert "bad.jsonl:2" in result.output and "Traceback" not in result.output


def test_export_csv_and_xlsx(gold_file, tmp_path):
    result = runner.invoke(
        app, ["export", str(gold_file), "-o", str(tmp_path / "out" / "seed.csv")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "seed-forms.csv").exists()
    assert (tmp_path / "out" / "seed-indicators.csv").exists()
    xlsx = tmp_path / "seed.xlsx"
    result = runner.invoke(app, ["export", str(gold_file), "--format", "xlsx", "-o", str(xlsx)])
    assert result.exit_code == 0 and xlsx.stat().st_size > 0


def test_export_refuses_an_unknown_format(gold_file, tmp_path):
    result = runner.invoke(app, ["export", str(gold_file), "-f", "ods", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert not list(tmp_path.glob("x*"))
