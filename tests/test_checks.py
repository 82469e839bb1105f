"""The checker: no false alarm on hand-labelled gold, every planted fault caught, exact values."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from conftest import gap, readable_case

from structurer.checks import check_document, check_record, chunk_for, refresh_findings
from structurer.checks.grounding import ground_record
from structurer.models import Document, Finding, FormRecord, Funding, Indicator
from structurer.read import load_document

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "shanghai-2024"


def _load_eval():  # eval/ is a folder of scripts, not a package
    spec = importlib.util.spec_from_file_location(
        "planted_faults", ROOT / "eval" / "planted_faults.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["planted_faults"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


planted = _load_eval()


@pytest.fixture(scope="module")
def seed() -> tuple[Document, list[FormRecord]]:
    doc = load_document(SEED / "source.md")
    lines = (SEED / "gold.jsonl").read_text("utf-8").splitlines()
    return doc, [FormRecord.model_validate(json.loads(line)) for line in lines if line.strip()]


def _check(record: FormRecord, doc: Document) -> list[Finding]:
    chunk = chunk_for(record, doc)
    assert chunk is not None
    return check_record(record, source_text=chunk.text, title=doc.title)


def _codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


# --- the seed gold ---


def test_seed_gold_has_no_error_and_only_the_expected_warning(seed):
    doc, records = seed
    raised = [(r.form_index, f) for r in records for f in _check(r, doc) if f.severity != "info"]
    assert [(n, f.code, f.paths) for n, f in raised] == [
        (11, "indicator.missing_target", ["indicators[14].target"])
    ]
    assert check_document(records, doc) == []


def test_title_unit_differs_is_info_only_where_the_form_says_another_unit(seed):
    doc, records = seed
    flagged = {
        r.form_index
        for r in records
        for f in _check(r, doc)
        if f.code == "header.unit_differs_from_title"
    }
    assert flagged == set(range(1, 14)) - {1, 10}  # forms 1 and 10 say 上海市科技创业中心


@pytest.mark.parametrize("fault", planted.FAULTS + planted.MISLABELLINGS, ids=lambda f: f.name)
def test_every_planted_fault_is_caught_on_every_seed_form(seed, fault):
    doc, records = seed
    for record in records:
        copy = record.model_copy(deep=True)
        path = fault.plant(copy)
        if path is None:
            continue
        found = _check(copy, doc)
        assert any(f.code == fault.must and path in f.paths for f in found), (
            f"form {record.form_index}: {fault.name} not reported as {fault.must} at {path}"
        )


def _fixtures(*, pdf_text: bool) -> list[Path]:
    """Readable cases, or the real PDFs and their text layers (see conftest.readable_case);
    a case with a checker gap written down, or whose forms are not all found (a fault planted in
    a gold form is checked against that form's own source), is left out of both (case.toml
    [gaps] checker / forms)."""
    folders = sorted(p for p in (ROOT / "fixtures").iterdir() if (p / "gold.jsonl").is_file())
    return [
        p
        for p in folders
        if readable_case(p) != pdf_text and not (gap(p, "checker") or gap(p, "forms"))
    ]


def test_planted_fault_precision_and_recall_over_all_readable_fixtures():
    """Every planted fault (mislabellings included) is caught, and clean gold records raise
    nothing they should not, on every fixture whose layout keeps its cells apart."""
    tally, _, _ = planted.measure(_fixtures(pdf_text=False))
    assert tally.planted >= 1000
    assert tally.caught == tally.planted, tally.misses[:5]
    assert tally.false_pos == 0, tally.stray.most_common(5)
    assert tally.expected_found == tally.expected  # what the gold says a clean form must raise


def test_planted_faults_on_pdf_text_layers_are_still_caught():
    """A PDF text layer interleaves wrapped cells, so the checker cannot see every value of a
    clean record as one cell (errors on clean records there send them to review, which is what
    such a source needs); faults planted into them are still caught."""
    tally, _, _ = planted.measure(_fixtures(pdf_text=True))
    assert tally.planted >= 300
    assert tally.caught / tally.planted >= 0.95, tally.misses[:5]
    assert tally.expected_found == tally.expected


# --- funding ---


def _record(**funding: str | None) -> FormRecord:
    return FormRecord(
        form_index=1,
        year=2024,
        project_name="测试项目",
        funding=Funding(unit="元", **funding),
        indicators=[
            Indicator(level1="产出指标", level2="数量指标", name="完成率", target="=100(%)")
        ],
    )


def _only(findings: list[Finding], code: str) -> Finding:
    hits = [f for f in findings if f.code == code]
    assert len(hits) == 1, findings
    return hits[0]


def test_annual_identity_error_shows_both_sides_and_the_difference():
    r = _record(
        annual_total="5900000.00",
        current_appropriation="0",
        prior_carryover="0.00",
        annual_other="5800000",
    )
    f = _only(check_record(r), "funding.annual_identity")
    assert f.severity == "error"
    assert f.values == {"left": "5900000.00", "right": "5800000.00", "difference": "100000.00"}
    assert "funding.annual_total" in f.paths and "funding.annual_other" in f.paths


def test_amounts_compare_as_numbers_in_the_forms_unit():
    r = _record(
        annual_total="426.80", current_appropriation="400", prior_carryover="26.8", annual_other="0"
    )
    r.funding.unit = "万元"
    assert not [f for f in check_record(r) if f.code.startswith("funding.")]


def test_one_missing_amount_gets_the_implied_value_and_is_not_filled():
    r = _record(annual_total="1450000.00", current_appropriation="1200000.00", annual_other="0.00")
    f = _only(check_record(r), "funding.implied_value")
    assert f.severity == "info"
    assert f.paths == ["funding.prior_carryover"] and f.values["implied"] == "250000.00"
    assert r.funding.prior_carryover is None


def test_two_missing_amounts_imply_nothing():
    r = _record(annual_total="100", current_appropriation="100")
    assert "funding.implied_value" not in _codes(check_record(r))


def test_project_identity_and_plausibility():
    r = _record(project_total="100", project_fiscal="80", project_other="10", annual_total="200")
    codes = _codes(check_record(r))
    assert {"funding.project_identity", "funding.project_below_annual"} <= codes


def test_repaired_amount_warns_with_the_raw_text():
    r = _record(annual_total="5900000.00")
    r.meta["repairs"] = [
        {"path": "funding.annual_total", "raw": "5,9OO,OOO.OO", "repair": "letter O read as 0"}
    ]
    f = _only(check_record(r), "funding.amount_repaired")
    assert f.severity == "warning" and f.values["raw"] == "5,9OO,OOO.OO"


def test_unreadable_amounts_are_errors():
    r = _record(annual_total="12x.5")
    r.meta["unreadable"] = {"funding.project_total": "壹佰万"}
    found = [f for f in check_record(r) if f.code == "funding.amount_unreadable"]
    assert {p for f in found for p in f.paths} == {"funding.annual_total", "funding.project_total"}
    assert all(f.severity == "error" for f in found)


# --- indicators and header ---


def _codes_for(**indicator: str | None) -> set[str]:
    r = _record()
    r.indicators = [Indicator(**indicator)]
    return {c for c in _codes(check_record(r)) if c.startswith("indicator.")}


def test_percent_over_100_only_with_equals():
    assert "indicator.percent_over_100" in _codes_for(
        level1="产出指标",
        level2="数量指标",
        name="x",
        target="=120.00(%)",
        op="=",
        value="120.00",
        unit="%",
    )
    assert "indicator.percent_over_100" not in _codes_for(
        level1="产出指标",
        level2="数量指标",
        name="x",
        target="≥120(%)",
        op="≥",
        value="120",
        unit="%",
    )


def test_wrapped_and_suffixless_level_names_are_known():
    assert not _codes_for(level1="效益指标", level2="社会效益", name="x", target="提升")
    assert not _codes_for(level1="满意度指标", level2="服务对象 满意度指 标", name="x", target="高")


def test_level_checks():
    assert "indicator.level_mismatch" in _codes_for(
        level1="产出指标", level2="社会效益指标", name="x", target="高"
    )
    assert "indicator.unknown_level" in _codes_for(
        level1="绩效指标", level2="数量指标", name="x", target="高"
    )
    assert "indicator.missing_level" in _codes_for(level1="产出指标", name="x", target="高")


def test_target_syntax_and_inconsistent_parts():
    assert "indicator.target_syntax" in _codes_for(
        level1="产出指标", level2="数量指标", name="x", target="≥(%)"
    )
    assert "indicator.target_syntax" in _codes_for(
        level1="产出指标",
        level2="数量指标",
        name="x",
        target="≥90(%)",
        op="=",
        value="90",
        unit="%",
    )


def test_header_dates():
    r = _record()
    r.start_date, r.end_date = "2024-02-30", "2023-12-31"
    assert "header.invalid_date" in _codes(check_record(r))
    r.start_date = "2024-01-01"
    assert "header.end_before_start" in _codes(check_record(r))
    r.start_date, r.end_date = "2025-01-01", "2026-12-31"
    f = _only(check_record(r), "header.year_outside_period")
    assert f.severity == "warning" and f.values["year"] == "2024"


def test_missing_project_name_is_an_error_other_fields_warnings():
    r = _record()
    r.project_name = None
    by_path = {f.paths[0]: f.severity for f in check_record(r) if f.code == "header.missing_field"}
    assert by_path["project_name"] == "error" and by_path["department"] == "warning"


def test_title_naming_a_district_covers_its_units():
    r = _record()
    r.implementing_unit = "上海市浦江区绿化建设服务中心"
    assert "header.unit_differs_from_title" not in _codes(
        check_record(r, title="上海市浦江区2026年度区级部门项目支出绩效目标表")
    )
    r.implementing_unit = "上海市科技创新中心"
    f = _only(
        check_record(r, title="上海市科技创业中心2024年度项目绩效目标汇总表"),
        "header.unit_differs_from_title",
    )
    assert f.severity == "info" and f.values["title_unit"] == "上海市科技创业中心"


# --- grounding ---

SOURCE = """| 项目名称 | 阶段 性项 目建设 | 项目资金（元） | 年度资金申请总额 | 5,9OO,OOO.OO |
| 计划开始日期 | 2026/1/1 | 上年结转资金 | 1,200,000.00 |
| <p>总体目标：建设平台。</p> <p>年度总体目标：完成采集。</p> |
| 满意度指标 | 服务对象 满意度指 标 | 课程满意度课程满意度课程满意度 | $\\geq 90.00\\%$ |
| 产出指标 | 数量指标 | 服务人次 | ≥４.30(元/人次) |
| 效益指标 | 社会效益指标 | “一网通办”覆盖率 | =1OO.OO(%) |"""


def _grounded(**fields) -> list[Finding]:
    return ground_record(FormRecord(form_index=1, **fields), SOURCE)


def test_grounding_accepts_cleaned_values():
    ind = [
        Indicator(
            level1="满意度指标", level2="服务对象满意度指标", name="课程满意度", target="≥90.00%"
        ),
        Indicator(level1="产出指标", level2="数量指标", name="服务人次", target="≥4.30(元/人次)"),
        # a backend may write straight quotes, and repair letter O in a target
        Indicator(
            level1="效益指标", level2="社会效益指标", name='"一网通办"覆盖率', target="=100.00(%)"
        ),
    ]
    found = _grounded(
        project_name="阶段性项目建设",
        start_date="2026-01-01",
        overall_goal="建设平台。",
        annual_goal="完成采集。",
        funding=Funding(unit="元", annual_total="5900000.00", prior_carryover="1200000"),
        indicators=ind,
    )
    # 5,9OO,OOO.OO grounds the amount, and says that it was read with letter O as 0
    assert [(f.code, f.paths, f.values["raw"]) for f in found] == [
        ("funding.amount_repaired", ["funding.annual_total"], "5,9OO,OOO.OO")
    ]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"project_name": "阶段性项目改造"}, "project_name"),
        ({"funding": Funding(annual_total="5900001.00")}, "funding.annual_total"),
        ({"funding": Funding(unit="万元")}, "funding.unit"),
        ({"start_date": "2026-01-02"}, "start_date"),
        ({"annual_goal": "完成采集。\n新增三家基地。"}, "annual_goal"),
        (
            {
                "indicators": [
                    Indicator(
                        level1="产出指标",
                        level2="质量指标",
                        name="服务人次",
                        target="≥4.30(元/人次)",
                    )
                ]
            },
            "indicators[0].level2",
        ),
        (
            {"indicators": [Indicator(name="服务人次", target="≥90.00%")]},
            "indicators[0].target",
        ),
    ],
)
def test_grounding_flags_values_not_in_the_source(fields, path):
    found = _grounded(**fields)
    assert [f.paths[0] for f in found] == [path]
    assert all(f.code == "grounding.ungrounded" and f.severity == "error" for f in found)


# --- refresh and document ---


def test_refresh_keeps_backend_findings_and_recomputes_the_rest():
    r = _record(annual_total="1", current_appropriation="1", prior_carryover="0", annual_other="0")
    r.findings = [
        Finding(severity="warning", code="llm.reasked", message="re-asked once"),
        Finding(severity="error", code="funding.annual_identity", message="stale"),
    ]
    refresh_findings(r)
    assert r.findings[0].code == "llm.reasked"
    assert all(f.message != "stale" for f in r.findings)
    assert "funding.annual_identity" not in _codes(r.findings)


def test_document_checks():
    a, b = _record(), _record()
    b.form_index = 2
    doc = Document(path="x.md", encoding="utf-8", chunks=[])
    assert _codes(check_document([a, b])) == {"document.duplicate_project"}
    doc.chunks = load_document(SEED / "source.md").chunks[:3]
    assert "document.missing_forms" in _codes(check_document([a, b], doc))


def test_amount_printed_as_bare_letter_o_is_grounded_and_flagged_repaired():
    from structurer.read.chunker import split_forms
    from structurer.read.layouts import read_grid
    from structurer.rules import extract_form

    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 甲 | | |\n|---|---|---|---|\n"
        "| 项目资金(元) | 年度资金申请总额 | 5.00 | |\n| | 其中：当年财政拨款 | 5.00 | |\n"
        "| | 上年结转资金 | O | |\n| | 其他资金 | O.OO | |\n"
    )
    (chunk,) = split_forms(doc)[1]
    record = extract_form(chunk, read_grid(chunk.text, chunk.start_line))
    assert (record.funding.prior_carryover, record.funding.annual_other) == ("0", "0.00")
    codes = _codes(check_record(record, source_text=chunk.text))
    assert "grounding.ungrounded" not in codes
    assert "funding.amount_repaired" in codes
