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


# --- template families: a hierarchy per template, chosen by what the form prints ---

# A central-investment form (its own level 1 names over the 财政 level 1 names) and a 财政 form.
CENTRAL = """中央预算内投资计划绩效目标表
| 一级指标 | 二级指标 | 三级指标 | 指标值 |
|---|---|---|---|
| 实施效果指标 | 产出指标 | 劳务报酬占中央投资比例 | ≥30% |
| 过程管理指标 | 资金管理指标 | 中央预算内投资支付率 | ≥95% |
"""
FISCAL = """项目支出绩效目标表
| 一级指标 | 二级指标 | 三级指标 | 指标值 |
|---|---|---|---|
| 产出指标 | 数量指标 | 完成率 | =100(%) |
| 效益指标 | 社会效益指标 | 过程管理指标完成情况 | 有效 |
"""


def test_a_form_printing_a_familys_own_level_1_names_is_read_by_its_hierarchy():
    vocab = default_vocabulary()
    assert vocab.family_of(CENTRAL) == ("central-investment", "实施效果指标")
    # a family's level-1 name inside a longer name or a sentence shows nothing
    assert vocab.family_of(FISCAL) is None and vocab.for_form(FISCAL) is vocab
    central = vocab.for_form(CENTRAL)
    assert central is vocab.for_form(CENTRAL) and central.sha != vocab.sha
    assert central.for_form(FISCAL) is vocab  # back to the default, the same object
    # 产出指标 is a level 2 there, a level 1 in the default hierarchy: neither changes the other
    assert central.is_level2("产出指标") and not central.is_level1("产出指标")
    assert vocab.is_level1("产出指标") and not vocab.is_level1("实施效果指标")
    assert central.belongs("过程管理指标", "资金管理指标") and not central.is_level2("数量指标")


def test_rules_and_checker_read_a_central_investment_form_by_its_hierarchy():
    from structurer.checks import check_record

    _, [chunk] = split_forms(CENTRAL)
    record = extract_form(chunk, read_grid(chunk.text))
    levels = [(i.level1, i.level2, i.name) for i in record.indicators]
    assert levels == [
        ("实施效果指标", "产出指标", "劳务报酬占中央投资比例"),
        ("过程管理指标", "资金管理指标", "中央预算内投资支付率"),
    ]
    for source in (chunk.text, None):  # without the source, by the level names it holds
        found = check_record(record, source_text=source)
        assert not [f for f in found if f.code.startswith("indicator.") and f.severity != "info"]
        [note] = [f for f in found if f.code == "indicator.family"]
        assert note.severity == "info" and "中央预算内投资计划绩效目标表" in note.message
        assert not note.paths  # it doubts no value, and must not pass for a finding on the list
    # a level of the default hierarchy on such a form is not one of its levels
    record.indicators[0].level2 = "数量指标"
    codes = {f.code for f in check_record(record, source_text=chunk.text)}
    assert "indicator.unknown_level" in codes
    _, [fiscal] = split_forms(FISCAL)
    found = check_record(extract_form(fiscal, read_grid(fiscal.text)), source_text=fiscal.text)
    assert not [f for f in found if f.code.startswith("indicator.")]


def test_the_llm_may_write_every_familys_levels_and_is_told_when():
    from structurer.llm.schema import reply_model

    vocab = default_vocabulary()
    schema = reply_model(vocab).model_json_schema()
    indicator = schema["$defs"]["DraftIndicator"]["properties"]
    level1 = next(b["enum"] for b in indicator["level1"]["anyOf"] if b.get("type") == "string")
    level2 = next(b["enum"] for b in indicator["level2"]["anyOf"] if b.get("type") == "string")
    assert {"产出指标", "实施效果指标", "过程管理指标"} <= set(level1)
    assert {"数量指标", "计划管理指标", "监督检查指标"} <= set(level2)
    system = load_prompt().system_text(vocab)
    assert (
        "A form that prints 实施效果指标 or 过程管理指标 (中央预算内投资计划绩效目标表)" in system
    )
    assert "  过程管理指标: 计划管理指标, 资金管理指标, 项目管理指标, 监督检查指标" in system
    assert system == load_prompt().system_text(vocab.for_form(CENTRAL))  # one prefix for all


def test_a_family_file_adds_to_a_familys_hierarchy(tmp_path):
    (tmp_path / "base.toml").write_text(
        (default_vocabulary_dir() / "base.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "more.toml").write_text(
        'name = "more"\nextends = "base"\n[families.central-investment.levels]\n'
        '"过程管理指标" = ["绩效管理指标"]\n',
        encoding="utf-8",
    )
    central = load_vocabulary(directory=tmp_path).for_family("central-investment")
    assert central.family_name == "中央预算内投资计划绩效目标表"
    assert central.belongs("过程管理指标", "绩效管理指标")
    assert central.belongs("过程管理指标", "计划管理指标")


def default_vocabulary_dir():
    from structurer.vocab import VOCAB_DIR

    return VOCAB_DIR


def test_another_templates_level_is_no_indicator_name_and_is_named_on_the_list():
    # the form's own level-1 names lost: read by the default hierarchy, where 资金管理指标 is no level
    lost = CENTRAL.replace("实施效果指标", " ").replace("过程管理指标", " ")
    _, [chunk] = split_forms(lost)
    record = extract_form(chunk, read_grid(chunk.text))
    assert "资金管理指标" not in [i.name for i in record.indicators]
    [unread] = [f for f in record.findings if f.code == "extract.unread"]
    assert "indicators" in unread.paths and "资金管理指标" in unread.values["texts"]
