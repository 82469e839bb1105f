"""Hybrid's per-field choice (structurer/llm/merge.py) where the layout doubts a reading: the
undecidable warning falls on every reading of a path alike, so it is no reason to keep the rules;
where it does not name the rules' path, a faithful-but-wrong model still loses a tie."""

from __future__ import annotations

from structurer.llm.merge import merge
from structurer.models import Finding, FormRecord, Indicator


def _undecidable(*paths: str) -> Finding:
    return Finding(severity="warning", code="grounding.undecidable", message="", paths=list(paths))


def _error(code: str, *paths: str) -> Finding:
    return Finding(severity="error", code=code, message="", paths=list(paths))


def _records(rules_goal: str, llm_goal: str) -> tuple[FormRecord, FormRecord]:
    return (
        FormRecord(form_index=1, project_name="甲", overall_goal=rules_goal),
        FormRecord(form_index=1, project_name="甲", overall_goal=llm_goal),
    )


def test_a_grounded_model_value_wins_where_the_layout_doubts_the_rules_reading():
    rules, llm = _records(
        "整治辖区内乱设摊，整治辖区内乱设摊", "整治辖区内乱设摊，开展防汛防台工作"
    )
    doubt = [_undecidable("overall_goal")]
    out = merge(rules, doubt, llm, doubt)  # the same warning on both readings
    assert out.taken["overall_goal"] == "llm"
    assert out.record.overall_goal == llm.overall_goal


def test_a_faithful_but_wrong_model_loses_the_tie_where_the_layout_leaves_the_path_decided():
    rules, llm = _records("保障统计专网安全可靠运行", "保障统计工作的顺利开展")
    doubt = [_undecidable("indicators[0].level2")]  # the layout doubts another path only
    out = merge(rules, doubt, llm, doubt)
    assert out.taken["overall_goal"] == "rules"


def test_an_ungrounded_or_more_doubted_model_value_does_not_win_a_doubted_path():
    rules, llm = _records("乡村产业等乡村振兴实施情况", "全面推进乡村振兴")
    doubt = [_undecidable("overall_goal")]
    ungrounded = [*doubt, _error("grounding.ungrounded", "overall_goal")]
    assert merge(rules, doubt, llm, ungrounded).taken["overall_goal"] == "rules"
    other = [*doubt, _error("goal.something", "overall_goal")]
    assert merge(rules, doubt, llm, other).taken["overall_goal"] == "rules"


def test_the_indicator_list_follows_the_same_rule():
    rules = FormRecord(
        form_index=1,
        indicators=[Indicator(level1="产出指标", level2="时效指标", name="调查数据的分析使用率")],
    )
    llm = FormRecord(
        form_index=1,
        indicators=[
            Indicator(level1="效益指标", level2="社会效益指标", name="调查数据的分析使用率")
        ],
    )
    doubt = [_undecidable("indicators[0].level2", "indicators[0].level1")]
    assert merge(rules, doubt, llm, doubt).taken["indicators"] == "llm"
    assert merge(rules, [], llm, []).taken["indicators"] == "rules"


def test_an_empty_rule_reading_doubted_by_an_error_loses_to_an_equally_doubted_value():
    rules = FormRecord(form_index=1, funding={"annual_total": "10.00"})
    llm = FormRecord(form_index=1, funding={"annual_total": "10.00", "annual_other": "0.00"})
    unreadable = [_error("funding.amount_unreadable", "funding.annual_other")]
    slip = [_error("funding.annual_identity", "funding.annual_total", "funding.annual_other")]
    assert merge(rules, unreadable, llm, slip).taken["funding.annual_other"] == "llm"
    assert merge(rules, [], llm, slip).taken["funding.annual_other"] == "rules"
