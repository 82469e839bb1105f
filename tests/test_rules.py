"""The rule extractor against the hand-labelled seed and hand-written variants."""

from __future__ import annotations

import pytest
from variants import HTML_FORM, TITLE_IN_TABLE, WANYUAN_SPLIT

from structurer.models import FormRecord
from structurer.read.chunker import split_forms
from structurer.read.layouts import read_grid
from structurer.rules import extract_form

CONTRACT = {"indicators", "funding", *FormRecord.model_fields} - {
    "backend",
    "source",
    "findings",
    "meta",
    "form_index",
}


def extract_all(text: str) -> list[FormRecord]:
    return [extract_form(c, read_grid(c.text, c.start_line)) for c in split_forms(text)[1]]


def contract(record: FormRecord) -> dict:
    return record.model_dump(include=CONTRACT)


def test_seed_matches_gold_form_by_form(seed_source, seed_gold) -> None:  # type: ignore[no-untyped-def]
    got = extract_all(seed_source.read_text(encoding="utf-8"))
    assert len(got) == len(seed_gold) == 13
    for g, r in zip(seed_gold, got, strict=True):
        assert contract(r) == contract(g), g.project_name


def test_wanyuan_multiyear_cost_level1_split_pages() -> None:
    (r,) = extract_all(WANYUAN_SPLIT)
    assert (r.year, r.project_nature, r.start_date, r.end_date) == (
        2026,
        "阶段性项目",
        "2026-01-01",
        "2026-12-31",
    )
    f = r.funding
    assert (f.unit, f.project_total, f.project_fiscal, f.project_other) == (
        "万元",
        "1280.50",
        "1200.50",
        "80.00",
    )
    assert (f.annual_total, f.current_appropriation, f.prior_carryover, f.annual_other) == (
        "500.00",
        "420.00",
        "60.00",
        "20.00",
    )
    assert r.overall_goal == "三年内建成覆盖全区的社区养老服务网络。"
    assert r.annual_goal == "完成12家中心的运营补贴发放。"
    levels = [(i.level1, i.level2, i.name) for i in r.indicators]
    assert levels == [
        ("产出指标", "数量指标", "补贴中心数量"),
        ("产出指标", "质量指标", "服务规范达标率"),
        ("成本指标", "经济成本指标", "单次服务成本"),
        ("成本指标", "社会成本指标", "社会成本控制"),  # after the repeated header row
        ("效益指标", "社会效益指标", "老年人生活质量"),  # 社会效益 -> canonical name
        ("满意度指标", "服务对象满意度指标", "老年人满意度"),  # wrapped label
    ]
    cost = r.indicators[2]
    assert (cost.target, cost.op, cost.value, cost.unit) == (
        "≤4.30(元/人次)",
        "≤",
        "4.30",
        "元/人次",
    )


def test_title_in_table_repaired_amount_and_latex() -> None:
    first, second = extract_all(TITLE_IN_TABLE)
    assert first.funding.annual_total == "3200000.00"
    assert first.meta["repairs"][0]["raw"] == "3,2OO,OOO.OO"
    assert first.annual_goal == "保持河道整洁。"
    assert [(i.target, i.op, i.value, i.unit) for i in first.indicators] == [
        ("985米", None, "985", "米"),
        ("≥90.00%", "≥", "90.00", "%"),
    ]
    assert second.project_name == "泵站运维"
    assert second.indicators[0].level2 == "时效指标"


def test_html_table_merges_are_used() -> None:
    (r,) = extract_all(HTML_FORM)
    assert r.project_name == "校园安全改造"
    assert r.funding.annual_total == "100000.00" and r.funding.prior_carryover == "0.00"
    assert [(i.level2, i.name) for i in r.indicators] == [
        ("数量指标", "改造教室"),
        ("数量指标", "更换门禁"),
        ("质量指标", "验收合格率"),
        ("社会效益指标", "校园安全水平"),
    ]


def test_truncated_form_keeps_what_is_there() -> None:
    text = WANYUAN_SPLIT.split("| 项目 绩效 目标")[0]  # cut off after the funding block
    (r,) = extract_all(text)
    assert r.project_name == "社区养老服务中心运营补贴"
    assert r.funding.annual_other == "20.00"
    assert r.annual_goal is None and r.indicators == []


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # a level-2 name in the level-1 column: level 1 from the hierarchy
        (
            "| 可持续影响指标 | | 长效机制 | 建立 |",
            [("效益指标", "可持续影响指标", "长效机制", "建立")],
        ),
        # rows before any level label take the first labels that follow
        (
            "| | | 甲 | =1(个) |\n| 产出指标 | 数量指标 | 乙 | =2(个) |",
            [("产出指标", "数量指标", "甲", "=1(个)"), ("产出指标", "数量指标", "乙", "=2(个)")],
        ),
        # a name in the level-1 column keeps inherited levels; a missing target stays None
        (
            "| 满意度指标 | 服务对象满意度指标 | 甲 | ≥90% |\n| 乙 | | | |",
            [
                ("满意度指标", "服务对象满意度指标", "甲", "≥90%"),
                ("满意度指标", "服务对象满意度指标", "乙", None),
            ],
        ),
        # a name cut by a line break continues on the next row
        (
            "| 产出指标 | 数量指标 | 完成培训、 | =3(场) |\n| | | 讲座 | |",
            [("产出指标", "数量指标", "完成培训、讲座", "=3(场)")],
        ),
        # a row printed again after a page break (header repeated in between) is kept once
        (
            "| 产出指标 | 数量指标 | 甲 | =1(个) |\n| 一级指标 | 二级指标 | 三级指标 | 指标值 |\n"
            "| | | 甲 | =1(个) |",
            [("产出指标", "数量指标", "甲", "=1(个)")],
        ),
        # a copy printed further down, under another level, inherits nothing: still a copy
        (
            "| 产出指标 | 数量指标 | 甲 | =1(个) |\n| | 质量指标 | 乙 | 高 |\n| | | 甲 | =1(个) |",
            [("产出指标", "数量指标", "甲", "=1(个)"), ("产出指标", "质量指标", "乙", "高")],
        ),
        # an operator printed with its number and the unit in a cell of its own: one target
        (
            "| 产出指标 | 数量指标 | 天气预报节目 | ≥366 | 期 |",
            [("产出指标", "数量指标", "天气预报节目", "≥366期")],
        ),
        # a legacy 成本指标 under 产出指标 is a level 2
        (
            "| 产出指标 | 成本指标 | 成本控制 | ≤10(万元) |",
            [("产出指标", "成本指标", "成本控制", "≤10(万元)")],
        ),
    ],
)
def test_indicator_layouts(rows: str, expected: list[tuple]) -> None:
    doc = (
        "财政项目支出绩效目标申报表\n(2025年度)\n| 项目名称 | 甲项目 | | |\n|---|---|---|---|\n"
        "| 一级指标 | 二级指标 | 三级指标 | 指标值 |\n" + rows + "\n"
    )
    (r,) = extract_all(doc)
    assert [(i.level1, i.level2, i.name, i.target) for i in r.indicators] == expected


def test_label_pieces_a_text_layer_prints_around_a_row_are_no_indicators() -> None:
    """A PDF text layer prints a wrapped level-1 cell's pieces on the lines above and below its
    row (成本指 / <row> / 标) and a merged label's pieces down the left edge (年度绩 beside a row,
    效指标 under it): pieces of labels, not indicators. In a table with cells a short cell of its
    own is a value (a name such as 乙): the rule holds only where pieces stand alone."""
    doc = (
        "财政项目支出绩效目标申报表\n(2025年度)\n项目名称 甲项目\n一级指标 二级指标 三级指标 指标值\n"
        "成本指\n经济成本指标 委托费 ≤1.5\n标\n年度绩 质量指标 合格率 100\n效指标\n"
        "满意度 服务对象满意度指标 满意度 ≥90\n指标\n"
    )
    (r,) = extract_all(doc)
    assert [(i.level1, i.level2, i.name, i.target) for i in r.indicators] == [
        ("成本指标", "经济成本指标", "委托费", "≤1.5"),
        ("产出指标", "质量指标", "合格率", "100"),
        ("满意度指标", "服务对象满意度指标", "满意度", "≥90"),
    ]


def test_a_weight_column_whose_header_a_text_layer_wraps_is_set_aside() -> None:
    """西安's forms print `分值权重（90分）` beside 指标值; a text layer prints the wrapped header's
    pieces above and below the header line, so the header row names no weight column. The
    form still prints the weight label: each row's last bare number is its weight, and a text
    target is not replaced by it."""
    doc = (
        "财政项目支出绩效目标申报表\n(2025年度)\n项目名称 甲项目\n分值权重（90\n"
        "一级指标二级指标 三级指标 指标值\n分）\n成本指\n经济成本指标 委托费 ≤1.5 10\n标\n"
        "社会效益指标 提升管理水平 有效提升 30\n效益指\n标\n"
    )
    (r,) = extract_all(doc)
    assert [(i.name, i.target) for i in r.indicators] == [
        ("委托费", "≤1.5"),
        ("提升管理水平", "有效提升"),
    ]


def test_source_cells_point_at_the_value(seed_source) -> None:  # type: ignore[no-untyped-def]
    text = seed_source.read_text(encoding="utf-8")
    first = extract_all(text)[0]
    lines = text.split("\n")
    for path in ("project_name", "funding.annual_total", "indicators[0].target"):
        ref = first.source.cells[path]
        assert first.source.start_line <= ref.line <= first.source.end_line
        assert lines[ref.line - 1].split("|")[ref.col + 1].strip()  # a non-empty cell


def test_doubled_grid_steps_over_label_copies() -> None:
    # Docling spreads one merged cell over several columns: labels and goals come in copies
    doc = (
        "财政项目支出绩效目标申报表\n"
        "| 项目名称 | 项目名称 | 甲工程 | 甲工程 |\n|---|---|---|---|\n"
        "| 项目资金(元) | 年度资金申请总额 | 年度资金申请总额 | 10.00 |\n"
        "| 项目资金(元) | 其他资金 | 其他资金 | 0.00 | 其他资金 | 其他资金 | 10.00 |\n"
        "| 项目绩效目标 | 年度总体目标 | 年度总体目标 | |\n"
        "| 项目绩效目标 | 建成甲工程。 | 建成甲工程。 | 建成甲工程。 |\n"
    )
    (r,) = extract_all(doc)
    assert r.project_name == "甲工程"
    assert (r.funding.project_other, r.funding.annual_other) == ("0.00", "10.00")
    assert r.annual_goal == "建成甲工程。"


def test_empty_cell_between_other_funds_labels_is_no_value() -> None:
    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 乙 | | | |\n|---|---|---|---|---|\n"
        "| 项目资金(元) | 项目资金总额 | | 年度资金申请总额 | 5.00 |\n"
        "| | 其他资金 | | 其他资金 | 5.00 |\n"
    )
    (r,) = extract_all(doc)
    assert (r.funding.project_other, r.funding.annual_other) == (None, "5.00")


def test_funding_labels_over_a_row_of_amounts() -> None:
    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 丙 | | | |\n|---|---|---|---|---|\n"
        "| 项目资金（万元） | 年度资金申请总额 | 其中：当年财政拨款 | 上年结转资金 | 其他资金 |\n"
        "| | 120.00 | 100.00 | 20.00 | 0 |\n"
    )
    (r,) = extract_all(doc)
    f = r.funding
    assert (f.unit, f.annual_total, f.current_appropriation, f.prior_carryover) == (
        "万元",
        "120.00",
        "100.00",
        "20.00",
    )
    assert f.annual_other == "0"


def test_other_funds_with_the_empty_project_column_dropped() -> None:
    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 丁 | | |\n|---|---|---|---|\n"
        "| 项目资金(元) | 项目资金总额 | 年度资金申请总额 | 5,900,000.00 |\n"
        "| | 其他资金 | 其他资金 | 5,900,000.00 |\n"
    )
    (r,) = extract_all(doc)
    assert (r.funding.project_other, r.funding.annual_other) == (None, "5900000.00")


def test_two_goals_shifted_right_keep_their_order() -> None:
    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 戊 | | | | |\n|---|---|---|---|---|---|\n"
        "| 项目绩效目标 | 项目总目标 | | 年度总体目标 | | |\n"
        "| | | 总目标甲。 | | 年度目标乙。 | |\n"
    )
    (r,) = extract_all(doc)
    assert (r.overall_goal, r.annual_goal) == ("总目标甲。", "年度目标乙。")


def test_a_single_goal_text_is_the_annual_goal_wherever_it_landed() -> None:
    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 己 | | | | |\n|---|---|---|---|---|---|\n"
        "| | 项目绩效目标 | 项目总目标 | | 年度总体目标 | |\n"
        "| | | 按计划完成建设任务。 | | | |\n"
    )
    (r,) = extract_all(doc)
    assert (r.overall_goal, r.annual_goal) == (None, "按计划完成建设任务。")


@pytest.mark.parametrize(
    ("period", "dates"),
    [
        ("2023年1月1日-2023年12月31日", ("2023-01-01", "2023-12-31")),
        ("2026/1/1至2026/12/31", ("2026-01-01", "2026-12-31")),
        ("2024-01-01 ~ 2026-12-31", ("2024-01-01", "2026-12-31")),
        ("2023年1月-2023年12月", (None, None)),  # months only: not guessed
    ],
)
def test_period_cell_gives_both_planned_dates(period: str, dates: tuple) -> None:
    doc = (
        "项目支出绩效目标申报表\n| 项目名称 | 庚 | | |\n|---|---|---|---|\n"
        f"| 主管部门及代码 | [118]某厅 | 项目期限 | {period} |\n"
    )
    (r,) = extract_all(doc)
    assert r.department == "某厅"  # the budget code printed with the name is not part of it
    assert (r.start_date, r.end_date) == dates


@pytest.mark.parametrize("label", ["项目资金(单位:万元)", "资金情况（万元）", "项目资金（万元）"])
def test_funding_unit_label_variants(label: str) -> None:
    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 辛 | | |\n|---|---|---|---|\n"
        f"| {label} | 年度资金总额： | 12.50 | |\n"
    )
    (r,) = extract_all(doc)
    assert (r.funding.unit, r.funding.annual_total) == ("万元", "12.50")


def test_a_funding_labels_unit_printed_on_a_line_of_its_own_is_the_unit() -> None:
    """A text layer prints a wrapped `资金金额（万元）` label's brackets on a line of their own, two
    lines under the label, between the amounts' rows."""
    doc = (
        "财政项目支出绩效目标申报表\n项目名称 辛\n实施期资金总额： 1.50\n资金金额\n"
        "其中：财政拨款 1.50\n(万元)\n其他资金 0.00\n"
    )
    (r,) = extract_all(doc)
    assert (r.funding.unit, r.funding.project_total) == ("万元", "1.50")


def test_operator_value_and_unit_in_separate_columns() -> None:
    from structurer.checks import check_record

    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 壬 | | | | |\n|---|---|---|---|---|---|\n"
        "| 一级指标 | 二级指标 | 三级指标 | 指标性质 | 指标值 | 度量单位 |\n"
        "| 产出指标 | 数量指标 | 培训人次 | ≥ | 500 | 人次 |\n"
        "| | 成本指标 | 人均成本 | 小于等于 | 800 | 元 |\n"
        "| 效益指标 | 社会效益指标 | 履职能力 | 定性 | 提升 | |\n"
    )
    (chunk,) = split_forms(doc)[1]
    r = extract_form(chunk, read_grid(chunk.text, chunk.start_line))
    assert [(i.target, i.op, i.value, i.unit) for i in r.indicators] == [
        ("≥500人次", "≥", "500", "人次"),
        ("≤800元", "≤", "800", "元"),
        ("提升", None, None, None),
    ]
    assert "unplaced" not in r.meta
    grounding = [
        f for f in check_record(r, source_text=chunk.text) if f.code.startswith("grounding")
    ]
    assert grounding == []


def test_header_labels_over_a_row_of_values() -> None:
    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 主管部门 | 实施单位 | 计划开始日期 |\n"
        "|---|---|---|---|\n| 癸工程 | 某区建设局 | 某区建设中心 | 2025/3/1 |\n"
    )
    (r,) = extract_all(doc)
    assert (r.project_name, r.department, r.implementing_unit, r.start_date) == (
        "癸工程",
        "某区建设局",
        "某区建设中心",
        "2025-03-01",
    )


HTML_SPANS = """\
财政项目支出绩效目标申报表
(2025年度)
<table>
<tr><td>项目名称</td><td colspan="4">气象服务</td></tr>
<tr><td rowspan="3">总体目标</td><td colspan="4">年度目标</td></tr>
<tr><td colspan="4">目标1：完成监测。</td></tr>
<tr><td colspan="4">目标2：发布预警。</td></tr>
<tr><td>一级指标</td><td>二级指标</td><td>三级指标</td><td>指标值</td></tr>
<tr><td rowspan="4">产出指标</td><td rowspan="3">数量指标</td><td>指标1：做好抗旱减灾工</td>\
<td rowspan="2">减少支出</td></tr>
<tr><td>作</td></tr>
<tr><td>指标2：监测站点</td><td>≥10个</td></tr>
<tr><td>质量指标</td><td>预报准确</td><td>预报准确</td></tr>
</table>
"""


def test_goals_under_a_column_header_beside_a_spanning_block_label() -> None:
    # 总体目标 spans the goal rows as a block label; 年度目标 heads the column the goals are in
    (r,) = extract_all(HTML_SPANS)
    assert (r.overall_goal, r.annual_goal) == (None, "目标1：完成监测。\n目标2：发布预警。")


def test_a_name_wrapped_under_its_spanning_target_and_a_target_spelling_its_name() -> None:
    (r,) = extract_all(HTML_SPANS)
    assert [(i.level2, i.name, i.target) for i in r.indicators] == [
        ("数量指标", "指标1：做好抗旱减灾工作", "减少支出"),  # the target cell spans both rows
        ("数量指标", "指标2：监测站点", "≥10个"),
        ("质量指标", "预报准确", "预报准确"),  # in the header's name and target columns: both
    ]
