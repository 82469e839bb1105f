"""`structurer eval` end to end: a tiny case under tmp_path, thresholds, compare, history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import gap
from typer.testing import CliRunner

from structurer.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

SOURCE = """财政项目支出绩效目标申报表

(2024年度)

| 项目名称 | 孵化基地运营及创业孵化服务支出 | 项目性质 | 其他一次性项目 | 项目类别 | 特定目标类 |
|---|---|---|---|---|---|
| 主管部门 | 上海市科学技术委员会 | 实施单位 | 上海市科技创业中心 | | |
| 计划开始日期 | 2024-01-01 | 计划完成日期 | 2024-12-31 | | |
| 项目资金 (元) | 项目资金总额 | | 年度资金申请总额 | 5,900,000.00 | |
| | 其中：财政资金 | | 其中：当年财政拨款 | 0.00 | |
| | | | | 上年结转资金 | 0.00 |
| | 其他资金 | | 其他资金 | 5,900,000.00 | |
| 项目 绩效 目标 | 项目总目标 | | 年度总体目标 | | |
| | | | 确保孵化基地安全稳定运营。 | | |
| | 一级指标 | 二级指标 | 三级指标 | | 年度(/项目)指标值 |
| 绩效 指标 | 产出指标 | 数量指标 | 后勤保障服务完成率 | | =100.00(%) |
| | 效益指标 | 社会效益指标 | 保障基地安全 | | 有效实现 |
| | 满意度指标 | 服务对象满意度指标 | 综合满意度 | | ≥90.00(%) |
"""


def gold_record() -> dict:
    return {
        "form_index": 1,
        "year": 2024,
        "project_name": "孵化基地运营及创业孵化服务支出",
        "project_nature": "其他一次性项目",
        "project_category": "特定目标类",
        "department": "上海市科学技术委员会",
        "implementing_unit": "上海市科技创业中心",
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "funding": {
            "unit": "元",
            "annual_total": "5900000.00",
            "current_appropriation": "0.00",
            "prior_carryover": "0.00",
            "annual_other": "5900000.00",
        },
        "annual_goal": "确保孵化基地安全稳定运营。",
        "indicators": [
            {"level1": "产出指标", "level2": "数量指标", "name": "后勤保障服务完成率",
             "target": "=100.00(%)", "op": "=", "value": "100.00", "unit": "%"},
            {"level1": "效益指标", "level2": "社会效益指标", "name": "保障基地安全",
             "target": "有效实现"},
            {"level1": "满意度指标", "level2": "服务对象满意度指标", "name": "综合满意度",
             "target": "≥90.00(%)", "op": "≥", "value": "90.00", "unit": "%"},
        ],
    }  # fmt: skip


def make_case(folder: Path, record: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.md").write_text(SOURCE, encoding="utf-8")
    line = json.dumps(record, ensure_ascii=False)
    (folder / "gold.jsonl").write_text(line + "\n", encoding="utf-8")
    return folder


def run(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return make_case(tmp_path / "tiny", gold_record())


def test_eval_writes_reports_and_history(case: Path, tmp_path: Path) -> None:
    report, history = tmp_path / "rep", tmp_path / "history.jsonl"
    result = run("eval", case, "--report", report, "--history", history, "--min-f1", "0.99")
    assert result.exit_code == 0, result.output
    assert "tiny" in result.output and "overall" in result.output
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert data["backend"] == "rules" and [c["name"] for c in data["cases"]] == ["tiny"]
    assert data["overall"]["forms_found"] == 1 and data["overall"]["indicators_expected"] == 3
    assert data["overall"]["indicator_f1"] == 1.0 and data["overall"]["field_accuracy"] == 1.0
    assert "| tiny |" in (report / "report.md").read_text(encoding="utf-8")
    [line] = [json.loads(x) for x in history.read_text(encoding="utf-8").splitlines()]
    assert line["backend"] == "rules" and line["indicator_f1"] == 1.0 and "commit" in line
    run("eval", case, "--report", report, "--no-history", "--history", history)
    assert len(history.read_text(encoding="utf-8").splitlines()) == 1


def test_the_report_puts_first_contact_beside_now(tmp_path: Path) -> None:
    """A case's first-contact.jsonl (what the rules read when it was first seen) is scored like
    the run and shown beside it; an empty file is a first contact that found no form."""
    seen, lost = (
        make_case(tmp_path / "seen", gold_record()),
        make_case(tmp_path / "lost", gold_record()),
    )
    first = gold_record() | {"project_name": None, "findings": []}
    first["indicators"] = first["indicators"][:1]
    (seen / "first-contact.jsonl").write_text(json.dumps(first, ensure_ascii=False) + "\n")
    (lost / "first-contact.jsonl").write_text("")
    report = tmp_path / "rep"
    result = run(
        "eval",
        seen,
        lost,
        make_case(tmp_path / "new", gold_record()),
        "--report",
        report,
        "--no-history",
    )
    assert result.exit_code == 0, result.output
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    by_name = {c["name"]: c for c in data["cases"]}
    then = by_name["seen"]["first_contact"]
    assert (
        then["forms_found"] == 1 and then["field_accuracy"] < 1.0 and then["indicator_recall"] < 1
    )
    assert then["unflagged_wrong_values"] == then["values_wrong"] > 0  # no finding named them
    assert by_name["lost"]["first_contact"]["forms_found"] == 0
    assert "first_contact" not in by_name["new"]
    total = data["first_contact"]
    assert (
        total["cases"] == 2
        and total["then"]["forms_found"] == 1
        and total["now"]["forms_found"] == 2
    )
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "## First contact beside now" in md
    assert (
        "| seen | 1/1 → 1/1 |" in md
        and "| lost | 0/1 → 1/1 |" in md
        and "| new |" not in md.split("## First contact")[1].split("##")[0]
    )


def test_eval_fails_below_threshold_and_names_the_wrong_field(tmp_path: Path) -> None:
    record = gold_record()
    record["funding"]["annual_total"] = "6900000.00"  # the gold disagrees with the source
    record["indicators"][1]["level2"] = "经济效益指标"
    case = make_case(tmp_path / "wrong", record)
    report = tmp_path / "rep"
    args = ("eval", case, "--report", report, "--no-history")
    assert run(*args).exit_code == 0  # no threshold: a report, not a failure
    result = run(*args, "--min-fields", "1.0", "--min-f1", "0.5")
    assert result.exit_code == 1
    assert "field accuracy" in result.output
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    wrong = {(m["field"], m["gold"], m["got"]) for m in data["cases"][0]["mismatches"]}
    assert ("funding.annual_total", "6900000.00", "5900000.00") in wrong
    assert ("indicators[1].level2", "经济效益指标", "社会效益指标") in wrong


def test_compare_lists_regressions(case: Path, tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    assert run("eval", case, "--report", good, "--no-history").exit_code == 0
    record = gold_record()
    record["indicators"].append({"level1": "产出指标", "level2": "质量指标", "name": "漏掉的指标"})
    make_case(case, record)
    result = run("eval", case, "--report", bad, "--no-history", "--compare", good / "report.json")
    assert result.exit_code == 0, result.output
    assert "WORSE" in result.output and "indicator_recall" in result.output
    changes = json.loads((bad / "report.json").read_text(encoding="utf-8"))["changes"]
    assert changes[0]["worse"] and any(c["metric"].endswith("indicators[3]") for c in changes)
    assert "## Changes (regressions first)" in (bad / "report.md").read_text(encoding="utf-8")


def test_bad_case_folder_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = run("eval", tmp_path, "--no-history", "--report", tmp_path / "r")
    assert result.exit_code == 2
    assert "gold.jsonl" in result.output and "Traceback" not in result.output


def test_eval_gates_every_fixture_on_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI gate: every case holds its own case.toml [gate] (forms found, fields, indicator F1,
    goals, silent errors, expected findings), real and synthetic reported apart."""
    monkeypatch.chdir(ROOT)
    report = tmp_path / "rep"
    result = run("eval", "--report", report, "--no-history", "--gate")
    assert result.exit_code == 0, result.output
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    names = [c["name"] for c in data["cases"]]
    assert "shanghai-2024" in names and sum(n.startswith("real-") for n in names) >= 6
    gated = [p for p in (ROOT / "fixtures").iterdir() if (p / "case.toml").exists()]
    assert len(gated) == len(names)  # every case says what it is and what it is held to
    # A silent form (wrong, no error finding), a wrong value no finding names, an error on a
    # correct record: each exactly where the case's [gaps] says why (a gap that closes fails
    # here until its line is removed).
    for metric, why in (("silent_errors", "silent"), ("unflagged_wrong_values", "unflagged"),
                        ("errors_on_gold", "gold_errors")):  # fmt: skip
        short = {c["name"] for c in data["cases"] if c["metrics"][metric]}
        written = {n for n in names if gap(ROOT / "fixtures" / n, why)}
        assert short == written, (metric, short ^ written)
    assert data["groups"]["synthetic"]["silent_errors"] == 0
    assert (report / "report.md").exists()


def test_a_case_below_its_gate_fails_the_eval(tmp_path: Path) -> None:
    case = tmp_path / "c"
    shutil.copytree(ROOT / "fixtures" / "synthetic-paddle-2025", case)
    gold = (case / "gold.jsonl").read_text(encoding="utf-8").replace("闽溪", "闽西", 1)
    (case / "gold.jsonl").write_text(gold, encoding="utf-8")  # the gold now disagrees with the form
    result = run("eval", case, "--report", tmp_path / "r", "--no-history", "--gate")
    assert result.exit_code == 1
    assert "gate:" in result.output and "silent errors" in result.output


def test_eval_runs_from_any_folder_and_writes_only_where_told(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside the checkout: --cases names the cases, the reports and the history go to
    ./structurer-eval/ (ignored in the checkout), nothing else is written."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("eval", "--cases", case.parent)
    assert result.exit_code == 0, result.output
    written = sorted(str(p.relative_to(elsewhere)) for p in elsewhere.rglob("*") if p.is_file())
    assert written == [
        "structurer-eval/history.jsonl",
        "structurer-eval/latest/report.json",
        "structurer-eval/latest/report.md",
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("eval", "--cases", empty)
    assert result.exit_code == 2 and "no eval cases" in result.output


def test_without_cases_eval_finds_the_checkouts_fixtures_from_any_folder(tmp_path: Path) -> None:
    from structurer.quality.evaluate import default_cases_root

    assert default_cases_root(tmp_path) == ROOT / "fixtures"
    make_case(tmp_path / "fixtures" / "mine", gold_record())
    assert default_cases_root(tmp_path) == tmp_path / "fixtures"


def test_the_default_outputs_are_ignored_in_the_checkout() -> None:
    """A run with the defaults leaves `git status` clean: its folder is git-ignored, and the
    tracked history and reports are not the defaults of any command."""
    import subprocess

    from structurer.cli.evaluate import DEFAULT_HISTORY, DEFAULT_OUT

    for path in (DEFAULT_HISTORY, DEFAULT_OUT / "latest" / "report.json"):
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT, check=False)
        assert ignored.returncode == 0, path
    help_text = run("robustness", "--help").output + run("eval", "--help").output
    assert "[default: eval/" not in help_text.replace("\n", "")


def test_eval_dry_run_estimates_without_a_key_or_sending(case: Path) -> None:
    """--dry-run sends nothing, so it needs no API key even for a remote endpoint."""
    args = ("eval", case, "-b", "llm", "--model", "gpt-4o-mini", "--base-url",
            "https://api.openai.com/v1", "--price-in", "0.15", "--price-out", "0.6")  # fmt: skip
    result = run(*args, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "nothing sent" in result.output and "llm" in result.output
    refused = run(*args, "--no-history", "--report", case.parent / "r")  # a real run needs one
    assert refused.exit_code == 2 and "STRUCTURER_API_KEY" in refused.output
