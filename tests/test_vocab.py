"""The template vocabulary: one data file, read by every stage."""

from __future__ import annotations

import pytest

from structurer.checks.grounding import ground_record
from structurer.errors import VocabularyError
from structurer.llm.prompt import load_prompt
from structurer.read import split_forms
from structurer.read.layouts import read_grid
from structurer.review.session import FormState
from structurer.review.view import build_form
from structurer.rules import extract_form
from structurer.vocab import default_vocabulary, load_vocabulary

# A made-up province that prints 主管部门 as 主管机关名录 and 年度资金申请总额 as 本年预算总盘子.
MADE_UP = """name = "testland"
extends = "base"

[fields]
department = ["主管机关名录"]
"funding.annual_total" = ["本年预算总盘子"]
"""
FORM = """财政项目支出绩效目标申报表
(2024年度)
| 项目名称 | 测试项目 | 实施单位 | 测试中心 |
|---|---|---|---|
| 主管机关名录 | 测试局 | | |
| 项目资金(元) | 本年预算总盘子 | 59OO,OOO.OO | |
| | 其中：当年财政拨款 | 0 | |
| | 上年结转资金 | 0 | |
| | 其他资金 | 5,900,000.00 | |
| 一级指标 | 二级指标 | 三级指标 | 指标值 |
| 产出指标 | 数量指标 | 完成率 | =100(%) |
"""


@pytest.fixture
def testland(tmp_path):
    path = tmp_path / "testland.toml"
    path.write_text(MADE_UP, encoding="utf-8")
    return load_vocabulary([path])


def _record(vocab):
    chunk = split_forms(FORM, vocab)[1][0]
    return chunk, extract_form(chunk, read_grid(chunk.text, chunk.start_line, vocab=vocab), vocab)


def test_a_spelling_added_in_a_vocabulary_file_reaches_every_stage(testland):
    base = default_vocabulary()
    # rules: the new labels are read only with the new vocabulary
    chunk, record = _record(testland)
    assert record.department == "测试局" and record.funding.annual_total == "5900000.00"
    assert _record(base)[1].department is None and _record(base)[1].funding.annual_total is None
    # grounding: an amount read with letter O for 0 is flagged on the row of its own label,
    # which only the new vocabulary knows (the number 5900000.00 also stands elsewhere)
    record.meta.pop("repairs")
    codes = {f.code for f in ground_record(record, chunk.text, testland)}
    assert "funding.amount_repaired" in codes
    assert "funding.amount_repaired" not in {
        f.code for f in ground_record(record, chunk.text, base)
    }
    # review view: the field is shown under the form's own label
    view = build_form(FormState(1, record, chunk), testland)
    assert {f.path: f.label for f in view.header}["department"] == "主管机关名录"
    assert {f.path: f.label for f in view.annual}["funding.annual_total"] == "本年预算总盘子"
    # LLM prompt: the instructions list the new spellings (and the cache key changes with them)
    assert "主管机关名录" in load_prompt().system_text(testland)
    assert "主管机关名录" not in load_prompt().system_text(base)
    assert testland.label != base.label and testland.names == ("base", "testland")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'name = "x"\nextends = "base"\n[fields]\nprojct_name = ["项目名"]\n',
            "unknown field path",
        ),
        ('name = "x"\nextends = "base"\ncolour = "red"\n', "colour"),
        ('name = "x"\n[fields]\nproject_name = ["项目名"]\n', 'extends = "base"'),
        ('name = "x"\nextends = "base"\n[fields\n', "cannot read vocabulary"),
        ('name = "x"\nextends = "base"\n[indicator_columns]\ncolour = ["颜色"]\n', "unknown name"),
    ],
)
def test_a_bad_vocabulary_file_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(VocabularyError, match=message) as err:
        load_vocabulary([path])
    assert str(path) in str(err.value)


def test_labels_match_through_spaces_brackets_and_qualifiers():
    v = default_vocabulary()
    assert v.fields_of("其中 ： 当年财政拨款") == ("funding.current_appropriation",)
    assert v.fields_of("其他资金") == ("funding.project_other", "funding.annual_other")
    assert v.block_of("项目资金（万元）") == "funding"
    assert v.fields_of("项目总体目标(2024 年-2026 年)") == ("overall_goal",)
    assert v.canonical_level("服务对象 满意度指 标") == "服务对象满意度指标"
    assert v.canonical_level("社会效益") == "社会效益指标"
    assert v.parent_of("成本指标") == "产出指标" and v.is_level1("成本指标")
    assert v.ambiguous_levels == {"成本指标", "满意度指标"}
    assert v.title_pattern.search("财 政 项目支出绩效目标申报 表")
    assert v.fields_of("主管部门测试局") == ()
