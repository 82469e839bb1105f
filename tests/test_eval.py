"""The scorer catches each kind of extraction error, and scores perfect output 1.0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from structurer.errors import InputError, RecordsError
from structurer.models import Finding, FormRecord, Funding, Indicator
from structurer.quality.compare import compare_reports
from structurer.quality.evaluate import EvalReport, history_line, load_case
from structurer.quality.report_md import render_markdown
from structurer.quality.scoring import ExpectedFinding, pair_indicators, score_case


def approx(x: float):  # type: ignore[no-untyped-def]
    return pytest.approx(x, abs=1e-4)  # rates are rounded to 4 places


def ind(name: str, target: str = "≥90.00(%)", level2: str = "数量指标", **kw) -> Indicator:
    from structurer.read.values import parse_target

    t = parse_target(target)
    level1 = kw.pop("level1", "满意度指标" if "满意度" in level2 else "产出指标")
    return Indicator(
        level1=level1,
        level2=level2,
        name=name,
        target=t.target,
        op=t.op,
        value=t.value,
        unit=t.unit,
    )


def form(index: int = 1, name: str = "孵化基地运营", **kw) -> FormRecord:
    return FormRecord(
        form_index=index,
        year=2024,
        project_name=name,
        project_nature="其他一次性项目",
        department="上海市科学技术委员会",
        start_date="2024-01-01",
        end_date="2024-12-31",
        funding=Funding(unit="元", annual_total="5900000.00", current_appropriation="0.00"),
        annual_goal="确保孵化基地安全稳定运营。",
        indicators=[
            ind("后勤保障服务完成率", "=100.00(%)"),
            ind("设备质量达标率", "=100.00(%)", "质量指标"),
            ind("保障基地安全", "有效实现", "社会效益指标", level1="效益指标"),
            ind("综合满意度", "≥90.00(%)", "服务对象满意度指标"),
        ],
        **kw,
    )


def gold() -> list[FormRecord]:
    return [form(1), form(2, "项目管理费")]


def score(got: list[FormRecord], **kw):  # type: ignore[no-untyped-def]
    return score_case("t", gold(), got, **kw).metrics()


def fields_of(got: list[FormRecord]) -> set[str]:
    return {m.field for m in score_case("t", gold(), got).mismatches}


def test_perfect_output_scores_one() -> None:
    m = score(gold())
    assert m["forms_found"] == m["forms_expected"] == 2 and m["forms_extra"] == 0
    for key in ("field_accuracy", "goal_mean", "goal_worst", "indicator_f1", "target_accuracy"):
        assert m[key] == 1.0, key
    assert score_case("t", gold(), gold()).mismatches == []


def test_amounts_compare_as_numbers_not_text() -> None:
    got = gold()
    got[0].funding.annual_total = "5,900,000"
    got[0].funding.current_appropriation = "0"
    assert score(got)["field_accuracy"] == 1.0


def test_wrong_amount() -> None:
    got = gold()
    got[0].funding.annual_total = "590000.00"
    m = score_case("t", gold(), got)
    assert m.metrics()["field_accuracy"] < 1.0
    [miss] = m.mismatches
    assert (miss.form, miss.field, miss.gold, miss.got) == (
        "孵化基地运营",
        "funding.annual_total",
        "5900000.00",
        "590000.00",
    )


def test_null_against_a_value_is_wrong_both_ways() -> None:
    got = gold()
    got[0].funding.annual_total = None
    got[1].funding.prior_carryover = "0"  # gold: empty cell
    assert fields_of(got) == {"funding.annual_total", "funding.prior_carryover"}


def test_wrong_header_field_and_date() -> None:
    got = gold()
    got[0].department = "上海市科学技术委員会"
    got[1].end_date = "2024-12-30"
    assert fields_of(got) == {"department", "end_date"}


def test_missing_indicator_lowers_recall_not_precision() -> None:
    got = gold()
    del got[0].indicators[1]
    m = score(got)
    assert m["indicator_precision"] == 1.0
    assert m["indicator_recall"] == approx(7 / 8)
    assert "indicators[1]" in fields_of(got)


def test_extra_indicator_lowers_precision_not_recall() -> None:
    got = gold()
    got[1].indicators.append(ind("多出来的指标"))
    m = score(got)
    assert m["indicator_recall"] == 1.0
    assert m["indicator_precision"] == approx(8 / 9)
    assert "indicators+4" in fields_of(got)


def test_wrong_level() -> None:
    got = gold()
    got[0].indicators[0].level2 = "质量指标"
    got[1].indicators[2].level1 = "产出指标"
    m = score(got)
    assert m["level2_accuracy"] == approx(7 / 8) and m["level1_accuracy"] == approx(7 / 8)
    assert m["indicator_f1"] < 1.0
    assert fields_of(got) == {"indicators[0].level2", "indicators[2].level1"}


@pytest.mark.parametrize(
    ("target", "right"),
    [
        ("=100.00(%)", True),
        ("=100(%)", True),  # same number
        ("≥100.00(%)", False),  # operator
        ("=10.00(%)", False),  # value
        ("=100.00(天)", False),  # unit
        (None, False),
    ],
)
def test_quantitative_target(target: str | None, right: bool) -> None:
    got = gold()
    got[0].indicators[0] = (
        ind("后勤保障服务完成率", target) if target else ind("后勤保障服务完成率")
    )
    if target is None:
        got[0].indicators[0].target = got[0].indicators[0].value = None
        got[0].indicators[0].op = got[0].indicators[0].unit = None
    assert (score(got)["target_accuracy"] == 1.0) is right


def test_qualitative_target() -> None:
    got = gold()
    got[0].indicators[2].target = "有效 实现"  # whitespace is cleaning, not content
    assert score(got)["target_accuracy"] == 1.0
    got[0].indicators[2].target = "基本实现"
    assert score(got)["target_accuracy"] == approx(7 / 8)
    assert "indicators[2].target" in fields_of(got)


def test_missing_form_counts_everything_in_it_as_missed() -> None:
    m = score([gold()[0]])
    assert (m["forms_found"], m["forms_expected"], m["forms_extra"]) == (1, 2, 0)
    assert m["field_accuracy"] == 0.5
    assert m["indicator_recall"] == 0.5 and m["indicator_precision"] == 1.0
    assert "form" in fields_of([gold()[0]])


def test_extra_form_lowers_precision() -> None:
    m = score([*gold(), form(3, "多出来的项目")])
    assert (m["forms_found"], m["forms_extra"]) == (2, 1)
    assert m["field_accuracy"] == 1.0
    assert m["indicator_precision"] == approx(8 / 12) and m["indicator_recall"] == 1.0


def test_forms_pair_by_name_then_by_position() -> None:
    got = [form(1, "项目管理费"), form(2, "孵化基地运营")]  # swapped order, right names
    assert score(got)["field_accuracy"] == 1.0
    got = [form(1, "孵化基地运營"), form(2, "项目管理费")]  # OCR slip in a name
    m = score_case("t", gold(), got)
    assert m.metrics()["forms_found"] == 2
    assert [x.field for x in m.mismatches] == ["project_name"]


def test_goal_difference() -> None:
    got = gold()
    got[0].annual_goal = "确保孵化基地安全运营。"
    m = score(got)
    assert 0.8 < m["goal_worst"] < 1.0
    assert m["goal_mean"] == approx((1 + m["goal_worst"]) / 2)
    got[1].annual_goal = None
    assert score(got)["goal_worst"] == 0.0


def test_indicator_names_pair_fuzzily_one_to_one() -> None:
    g = [ind("孵化器管理人员培训课程满意度"), ind("综合满意度")]
    o = [ind("综合满意度"), ind("孵化器管理人员培训课程满意庋"), ind("孵化器管理人员培训课程")]
    pairs, missing, extra = pair_indicators(g, o)
    assert pairs == [(0, 1), (1, 0)] and missing == [] and extra == [2]


def test_fuzzy_named_indicator_is_matched_but_not_fully_correct() -> None:
    got = gold()
    got[0].indicators[0].name = "后勤保障服务完成牢"
    m = score(got)
    assert m["indicators_matched"] == 8 and m["level1_accuracy"] == 1.0
    assert m["name_accuracy"] == approx(7 / 8) and m["indicator_recall"] == approx(7 / 8)


def test_checker_findings_raised_missed_and_unexpected() -> None:
    expected = [[ExpectedFinding("indicator.missing_target", ("indicators[2].target",))], []]
    got = gold()
    m = score(got, expected=expected)
    assert (m["findings_raised"], m["findings_missed"]) == (0, 1)
    got[0].findings = [
        Finding(
            severity="warning",
            code="indicator.missing_target",
            message="",
            paths=["indicators[2].target"],
        ),
        Finding(severity="error", code="funding.annual_identity", message="sum", paths=[]),
    ]
    m = score(got, expected=expected)
    assert (m["findings_raised"], m["findings_missed"], m["unexpected_errors"]) == (1, 0, 1)


def test_document_findings_count_for_expected() -> None:
    expected = [[ExpectedFinding("document.duplicate_project")], []]
    doc = [Finding(severity="warning", code="document.duplicate_project", message="")]
    assert score(gold(), expected=expected, document_findings=doc)["findings_raised"] == 1


def test_llm_usage_is_summed_and_absence_tolerated() -> None:
    got = gold()
    assert "calls" not in score(got)
    got[0].meta["llm"] = {"calls": 2, "prompt_tokens": 100, "completion_tokens": 50, "seconds": 3}
    got[1].meta["llm"] = {"calls": 1, "prompt_tokens": 10, "cache_hit": True, "seconds": 1}
    m = score(got)
    assert (m["calls"], m["prompt_tokens"], m["completion_tokens"], m["cache_hits"]) == (
        3,
        110,
        50,
        1,
    )
    assert m["llm_seconds_per_form"] == 2.0


def write_case(folder: Path, records: list[dict], source: str = "x") -> Path:
    folder.mkdir(parents=True)
    (folder / "source.md").write_text(source, encoding="utf-8")
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    (folder / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_load_case_splits_expected_findings(tmp_path: Path) -> None:
    rec = form().model_dump()
    rec["expected_findings"] = [{"code": "indicator.missing_target", "paths": ["indicators[2]"]}]
    case = load_case(write_case(tmp_path / "c", [rec, form(2).model_dump()]))
    assert case.name == "c" and case.source_path.name == "source.md"
    assert len(case.gold) == 2 and "expected_findings" not in case.gold[0].model_dump()
    assert case.expected_findings == [
        [ExpectedFinding("indicator.missing_target", ("indicators[2]",))],
        [],
    ]


def test_load_case_reports_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"gold\.jsonl"):
        load_case(tmp_path)
    folder = write_case(tmp_path / "bad", [form().model_dump()])
    (folder / "gold.jsonl").write_text('{"form_index": 1}\n{"form_index": "x"}\n')
    with pytest.raises(RecordsError, match=":2:"):
        load_case(folder)


def test_compare_lists_regressions_first() -> None:
    before = EvalReport("rules", None, [score_case("t", gold(), gold())], commit="a").to_dict()
    got = gold()
    got[0].funding.annual_total = "1"
    got[1].indicators.append(ind("多出来的指标"))
    after_report = EvalReport("rules", None, [score_case("t", gold(), got)], commit="b")
    changes = compare_reports(before, after_report.to_dict())
    assert changes and all(c.worse for c in changes)
    assert {"field_accuracy", "indicator_precision", "孵化基地运营 funding.annual_total"} <= {
        c.metric for c in changes
    }
    back = compare_reports(after_report.to_dict(), before)
    assert back and not any(c.worse for c in back)
    line = history_line(after_report)
    assert line["commit"] == "b" and line["backend"] == "rules" and line["field_accuracy"] < 1


def test_compare_tells_apart_several_findings_of_one_form() -> None:
    expected = [[ExpectedFinding("a.one"), ExpectedFinding("a.two")], []]

    def report(codes: list[str]) -> dict:
        got = gold()
        got[0].findings = [Finding(severity="warning", code=c, message="") for c in codes]
        return EvalReport(
            "rules", None, [score_case("t", gold(), got, expected=expected)]
        ).to_dict()

    changes = compare_reports(report(["a.one"]), report(["a.two"]))
    assert [(c.worse, c.before, c.after) for c in changes if " finding" in c.metric] == [
        (True, "ok", "missed []"),
        (False, "missed []", "ok"),
    ]


def _error(code: str = "grounding.wrong_label") -> Finding:
    return Finding(severity="error", code=code, message="x")


def test_silent_errors_are_wrong_forms_without_an_error_finding():
    gold = [form(1, "甲"), form(2, "乙"), form(3, "丙")]
    wrong_silent = form(1, "甲", project_category="错的类别")
    wrong_flagged = form(2, "乙", project_category="错的类别")
    wrong_flagged.findings.append(_error())
    right_flagged = form(3, "丙")
    right_flagged.findings.append(_error())
    extra_silent = form(9, "多出来的")
    score = score_case("c", gold, [wrong_silent, wrong_flagged, right_flagged, extra_silent])
    m = score.metrics()
    assert m["forms_wrong"] == 3  # 甲, 乙, the extra form
    assert m["silent_errors"] == 2  # 甲 and the extra form
    assert m["silent_error_rate"] == approx(2 / 4)
    assert m["false_alarms"] == 1  # 丙 is right but flagged
    assert score.field_errors()["project_category"] == 2


def test_a_missing_form_is_a_silent_error():
    m = score_case("c", [form(1, "甲"), form(2, "丁")], [form(1, "甲")]).metrics()
    assert (m["forms_wrong"], m["silent_errors"]) == (1, 1)


def test_a_warning_does_not_make_a_wrong_form_flagged():
    got = form(1, "甲", project_category="错的类别")
    got.findings.append(Finding(severity="warning", code="header.missing_field", message="x"))
    assert score_case("c", [form(1, "甲")], [got]).metrics()["silent_errors"] == 1


def test_report_groups_real_and_synthetic_cases_and_layouts():
    real = score_case("r", [form(1, "甲")], [form(1, "甲", project_category="错")])
    real.kind, real.layout = "real", "pdf-text"
    synthetic = score_case("s", [form(1, "乙")], [form(1, "乙")])
    synthetic.kind, synthetic.layout = "synthetic", "pipe"
    groups = EvalReport("rules", None, [real, synthetic]).to_dict()["groups"]
    assert groups["real"]["silent_errors"] == 1 and groups["synthetic"]["silent_errors"] == 0
    assert groups["layout:pdf-text"]["forms_wrong"] == 1
    assert groups["layout:pipe"]["field_accuracy"] == 1.0
    data = EvalReport("rules", None, [real, synthetic]).to_dict()
    assert set(data["layouts"]["pdf-text"]) == {"real"}
    assert data["layouts"]["pipe"]["synthetic"]["forms_found"] == 1
    table = render_markdown(data).split("## By layout")[1]
    assert "| pdf-text | 1/1 | 94.4% | 100.0% | 1 | - | - | - | - |" in table  # 17 of 18 fields


def test_a_wrong_value_is_unflagged_unless_a_finding_names_its_path():
    got = form()
    got.funding.annual_total = "590000.00"  # wrong, an info finding names it
    got.project_name = None  # wrong, a warning names it
    got.indicators[2].target = "提升"  # wrong, named through its indicator
    got.department = "上海市科学技术协会"  # wrong, no finding names it
    got.findings = [
        Finding(severity="warning", code="header.missing", message="", paths=["project_name"]),
        Finding(severity="error", code="x", message="", paths=["indicators[2]"]),
        Finding(severity="info", code="y", message="", paths=["funding.annual_total"]),
        Finding(severity="error", code="z", message="", paths=["funding.annual"]),  # no prefix
    ]
    m = score_case("c", [form()], [got]).metrics()
    assert (m["values_wrong"], m["unflagged_wrong_values"]) == (4, 1)


def test_an_extra_indicator_is_flagged_by_its_own_index():
    got = form()
    got.indicators.insert(0, ind("页脚第3页"))
    got.findings = [Finding(severity="error", code="x", message="", paths=["indicators[0]"])]
    m = score_case("c", [form()], [got]).metrics()
    assert (m["values_wrong"], m["unflagged_wrong_values"]) == (1, 0)


def test_errors_on_gold_count_the_checkers_errors_beyond_the_expected_ones():
    accused = Finding(severity="error", code="grounding.wrong_label", message="", paths=["x"])
    source_fault = Finding(severity="error", code="funding.annual_identity", message="")
    expected = [[ExpectedFinding("funding.annual_identity")]]
    found = [[accused, source_fault, Finding(severity="warning", code="w", message="")]]
    m = score_case("c", [form()], [form()], expected=expected, gold_findings=found).metrics()
    assert (m["gold_checked"], m["errors_on_gold"]) == (1, 1)
    assert m["forms_wrong"] == 0  # an accusation of the gold is not a reading error


def test_the_seed_gold_checked_against_its_source_has_no_error():
    from structurer.backends import make_backend
    from structurer.quality.evaluate import run_case

    case = load_case(Path(__file__).parent.parent / "fixtures" / "shanghai-2024")
    m = run_case(case, make_backend("rules")).metrics()
    assert (m["gold_checked"], m["errors_on_gold"]) == (13, 0)
    gold = case.gold[0]  # 5,900,000 of other funds and 0 appropriated: swap them
    funding = gold.funding
    funding.current_appropriation, funding.annual_other = "5900000.00", "0.00"
    assert run_case(case, make_backend("rules")).metrics()["errors_on_gold"] >= 2
