"""The noisy suite: scores per damage type and rate, the report, and the command."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from structurer.cli import app
from structurer.io import read_records, write_records
from structurer.models import FormRecord, Job, OnRecord
from structurer.quality.robustness import (
    GoldCase,
    damaged_text,
    load_gold_cases,
    run_suite,
    shortfalls,
    write_report,
)
from structurer.rules import RulesBackend

GOLD = Path(__file__).parent.parent / "fixtures" / "shanghai-2024" / "gold.jsonl"


@pytest.fixture(scope="module")
def case() -> GoldCase:
    return GoldCase("mini", read_records(GOLD)[:3])


@pytest.fixture
def fixtures_dir(tmp_path: Path, case: GoldCase) -> Path:
    (tmp_path / "cases" / "mini").mkdir(parents=True)
    write_records(tmp_path / "cases" / "mini" / "gold.jsonl", case.gold)
    return tmp_path / "cases"


class EmptyBackend:
    """Finds forms but reads nothing from them: every score must drop."""

    name = "empty"

    def run(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        for job in jobs:
            on_record(job, FormRecord(form_index=job.chunk.index))


def test_clean_baseline_is_perfect_and_a_blind_backend_scores_zero(case: GoldCase) -> None:
    points = run_suite(
        [RulesBackend(), EmptyBackend()], [case], damages=["latex"], rates=[0.0], repeats=1
    )
    by = {p.backend: p.metrics for p in points}
    assert by["rules"]["indicator_f1"] == 1.0 and by["rules"]["field_accuracy"] == 1.0
    assert by["empty"]["indicator_f1"] == 0.0
    assert by["empty"]["field_accuracy"] < 0.5  # only year and empty amounts still agree


def test_points_cover_every_damage_and_rate(case: GoldCase) -> None:
    points = run_suite(
        [RulesBackend()], [case], damages=["letter_o", "p_tags"], rates=[0.0, 0.5], repeats=2
    )
    assert [(p.damage, p.rate) for p in points] == [
        ("letter_o", 0.0),
        ("letter_o", 0.25),  # the default rate is always run
        ("letter_o", 0.5),
        ("p_tags", 0.0),
        ("p_tags", 0.1),
        ("p_tags", 0.5),
    ]
    assert all(p.metrics["indicator_f1"] is not None for p in points)


def test_damaged_documents_are_reproducible(case: GoldCase) -> None:
    a = damaged_text(case, "shift_cells", 0.5, rep=0)
    assert a == damaged_text(case, "shift_cells", 0.5, rep=0)
    assert a != damaged_text(case, "shift_cells", 0.5, rep=1)


def test_shortfalls_name_the_damage_below_the_bar(case: GoldCase) -> None:
    points = run_suite([EmptyBackend()], [case], damages=["latex"], rates=[0.25], repeats=1)
    assert [p.damage for p in shortfalls(points)] == ["latex"]


def test_report_files(tmp_path: Path, case: GoldCase) -> None:
    points = run_suite([EmptyBackend()], [case], damages=["latex"], rates=[], repeats=1)
    paths = write_report(points, tmp_path, {"forms": 3}, why="## Why\n\nbecause.")
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| latex | quantitative target | 0.25 | 0.000" in report
    assert "**no**" in report and "## Why" in report
    assert "indicator.missing" in report  # names the fields the damage broke
    assert (tmp_path / "f1_vs_rate.png").read_bytes().startswith(b"\x89PNG")
    assert len(paths) == 3 and '"points"' in (tmp_path / "report.json").read_text()


def test_load_gold_cases(fixtures_dir: Path) -> None:
    cases = load_gold_cases(fixtures_dir)
    assert [c.name for c in cases] == ["mini"] and len(cases[0].gold) == 3


def test_command_writes_the_report(fixtures_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["robustness", "--fixtures", str(fixtures_dir), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "-d", "latex", "--rates", "0.5", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"report.md", "report.json", "f1_vs_rate.png"}
    # an unreachable bar fails the run, so CI can gate on it
    result = CliRunner().invoke(app, [*args, "-d", "latex", "--rates", "0.1", "--min-f1", "1.5"])
    assert result.exit_code == 1


def test_command_refuses_unknown_damage_and_missing_model(fixtures_dir: Path) -> None:
    args = ["robustness", "--fixtures", str(fixtures_dir)]
    result = CliRunner().invoke(app, [*args, "-d", "coffee_stain"])
    assert result.exit_code == 2 and "coffee_stain" in result.output
    result = CliRunner().invoke(app, [*args, "-b", "llm"], env={"STRUCTURER_MODEL": ""})
    assert result.exit_code == 2


def test_recoverable_damage_at_its_default_rate_loses_no_form() -> None:
    """Each damage type at its default rate, five seeds, on every gold case: every form is found
    (a wrapped project-name label once let two forms of the same template run together)."""
    cases = load_gold_cases(GOLD.parent.parent)
    points = run_suite([RulesBackend()], cases, rates=[], repeats=5)
    lost = {
        p.damage: p.metrics["forms_expected"] - p.metrics["forms_found"]
        for p in points
        if p.metrics["forms_found"] < p.metrics["forms_expected"]
    }
    assert lost == {}
