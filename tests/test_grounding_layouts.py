"""Grounding on layouts that leave a label's reach undecidable: a PDF text layer interleaves the
wrapped cells of neighbouring columns line by line, and prints a merged cell once, between the
rows it spans. The checker must not accuse a correct record there (one warning per form instead),
and must still find a value wrapped over lines, but never one stitched from scraps."""

from __future__ import annotations

from structurer.checks.grounding import ground_record, index_source
from structurer.models import FormRecord, Funding, Indicator
from structurer.read import read_grid
from structurer.read.structure import grid_parts
from structurer.vocab import default_vocabulary

VOCAB = default_vocabulary()

# A PDF text layer: the department label is wrapped (`主管部门及代` / `码`) around the line that
# holds the department and the unit; the goal label is printed one character per line.
INTERLEAVED = """信息化运行维护绩效目标表
(2026 年度)
项目名称 信息化运行维护
主管部门及代
[292]国家信访局 实施单位 国家信访局本级
码
年度资金总额： 2,134.87
其中：财政拨款 1,384.87
上年结转 750.00
1.加强对信访信息系统应用工作的指导和部署，
年
推动信访信息系统应用工作不断深入。
度
总
体
目
标
一级指标 二级指标 三级指标 指标值
产出指标 数量指标 数据中心设备维护量 ≥330台（套）
培养实践锻炼、跟班学习
质量指标
≥110人
干部人数"""


def _interleaved_gold() -> FormRecord:
    return FormRecord(
        form_index=1,
        year=2026,
        project_name="信息化运行维护",
        department="国家信访局",
        implementing_unit="国家信访局本级",
        funding=Funding(
            unit=None,
            annual_total="2134.87",
            current_appropriation="1384.87",
            prior_carryover="750.00",
        ),
        annual_goal="1.加强对信访信息系统应用工作的指导和部署，推动信访信息系统应用工作不断深入。",
        indicators=[
            Indicator(
                level1="产出指标", level2="数量指标", name="数据中心设备维护量", target="≥330台(套)"
            ),
            Indicator(
                level1="产出指标",
                level2="质量指标",
                name="培养实践锻炼、跟班学习干部人数",
                target="≥110人",
            ),
        ],
    )


def _ground(record: FormRecord, text: str) -> list:
    return ground_record(record, text, VOCAB, read_grid(text, vocab=VOCAB))


def test_an_interleaved_text_layer_is_recognised_and_a_clean_table_is_not():
    assert grid_parts(read_grid(INTERLEAVED, vocab=VOCAB), VOCAB).interleaved
    table = "| 项目名称 | 甲 |\n| 主管部门 | 乙 |\n| 年 | 度 |\n| 总 | 体 |\n| 目 | 标 |"
    assert not grid_parts(read_grid(table, vocab=VOCAB), VOCAB).interleaved


def test_the_correct_record_of_an_interleaved_form_gets_one_warning_and_no_error():
    found = _ground(_interleaved_gold(), INTERLEAVED)
    assert [f for f in found if f.severity == "error"] == []
    (warning,) = [f for f in found if f.code == "grounding.undecidable"]
    assert warning.severity == "warning"
    assert {"department", "implementing_unit", "indicators[1].name"} <= set(warning.paths)


def test_a_value_wrapped_over_interleaved_lines_is_in_the_source():
    src = index_source(INTERLEAVED)
    assert src.has_text("培养实践锻炼、跟班学习干部人数")  # a long piece, then a line of its own
    assert src.has_text(
        "1.加强对信访信息系统应用工作的指导和部署，推动信访信息系统应用工作不断深入。"
    )


def test_scraps_are_not_stitched_into_an_invented_value():
    src = index_source(INTERLEAVED)
    assert not src.has_text("培养实践锻炼、跟班学习数据中心")  # the rest is no piece of its own
    assert not src.has_text("国家信访局本级干部人数")  # the rest is more than a window away
    assert not src.has_text("年度总体目标")  # single characters are no pieces


def test_an_invented_value_on_an_interleaved_form_is_still_an_error():
    record = _interleaved_gold()
    record.implementing_unit = "国家发展改革委"
    errors = [f for f in _ground(record, INTERLEAVED) if f.severity == "error"]
    assert [(f.code, f.paths) for f in errors] == [("grounding.ungrounded", ["implementing_unit"])]


# A text layer prints a merged level cell once, between the rows it spans: the row above the
# level line may be under it, or under the level in force above.
MID_SPAN = """项目名称 设备购置更新
一级指标 二级指标 三级指标 指标值
产出指标 数量指标 系统设备购置种类 2种
产出指标 时效指标 设备安装及时性 =100%
保障统计业务顺利开展 明显保障
效益指标 社会效益指标
质保期内设备稳定运行 =100%"""


def _levels(level2: str) -> FormRecord:
    level1 = VOCAB.parent_of(level2)
    return FormRecord(
        form_index=1,
        project_name="设备购置更新",
        indicators=[
            Indicator(level1="产出指标", level2="数量指标", name="系统设备购置种类", target="2种"),
            Indicator(level1="产出指标", level2="时效指标", name="设备安装及时性", target="=100%"),
            Indicator(level1=level1, level2=level2, name="保障统计业务顺利开展", target="明显保障"),
            Indicator(
                level1="效益指标",
                level2="社会效益指标",
                name="质保期内设备稳定运行",
                target="=100%",
            ),
        ],
    )


def test_a_row_above_a_merged_level_line_may_be_under_either_level():
    for level2 in ("社会效益指标", "时效指标"):
        found = _ground(_levels(level2), MID_SPAN)
        assert not [f for f in found if f.severity == "error"], level2
        (warning,) = [f for f in found if f.code == "grounding.undecidable"]
        assert warning.paths == ["indicators[2].level2", "indicators[2].level1"]


def test_a_level_neither_above_nor_below_is_still_wrong():
    found = _ground(_levels("数量指标"), MID_SPAN)
    assert ("grounding.wrong_label", "indicators[2].level2") in {
        (f.code, f.paths[0]) for f in found if f.severity == "error"
    }


def test_in_a_table_with_cells_a_level_fills_down_only():
    table = MID_SPAN.replace(" ", " | ").replace("\n", " |\n| ")
    table = "| " + table + " |"
    found = _ground(_levels("社会效益指标"), table)
    assert ("grounding.wrong_label", "indicators[2].level2") in {
        (f.code, f.paths[0]) for f in found if f.severity == "error"
    }


# Every row between the level line above and a merged level line may be under either: the cell
# is printed at the middle of the rows it spans, however many come before that middle.
TWO_ABOVE = MID_SPAN.replace(
    "保障统计业务顺利开展 明显保障\n", "数据采集及时上报 及时\n保障统计业务顺利开展 明显保障\n"
)


def test_rows_further_above_a_merged_level_line_may_be_under_it():
    record = _levels("社会效益指标")
    record.indicators.insert(
        2,
        Indicator(level1="效益指标", level2="社会效益指标", name="数据采集及时上报", target="及时"),
    )
    found = _ground(record, TWO_ABOVE)
    assert not [f for f in found if f.severity == "error"]
    (warning,) = [f for f in found if f.code == "grounding.undecidable"]
    assert "indicators[2].level2" in warning.paths and "indicators[3].level2" in warning.paths


# A wrapped level-2 cell split around its row, the level 1 on the row between the pieces.
SPLIT_LEVEL = """项目名称 社区环境整治
一级指标 二级指标 三级指标 指标值
效益指标 社会效益指标 社区居民满意度、幸福感 不低于50%
服务对象满意
满意度指标 市容环境满意度 不低于50%
度指标"""


def _satisfaction(level2: str) -> FormRecord:
    return FormRecord(
        form_index=1,
        project_name="社区环境整治",
        indicators=[
            Indicator(
                level1="效益指标",
                level2="社会效益指标",
                name="社区居民满意度、幸福感",
                target="不低于50%",
            ),
            Indicator(
                level1=VOCAB.parent_of(level2),
                level2=level2,
                name="市容环境满意度",
                target="不低于50%",
            ),
        ],
    )


def test_a_level_2_printed_in_pieces_around_its_row_is_a_reading_not_an_error():
    found = _ground(_satisfaction("服务对象满意度指标"), SPLIT_LEVEL)
    assert not [f for f in found if f.severity == "error"]
    found = _ground(_satisfaction("社会效益指标"), SPLIT_LEVEL)  # the level above is not
    assert "grounding.wrong_label" in {f.code for f in found if "indicators[1].level2" in f.paths}


# A text layer runs an amount into the label after it: the annual label has no cell of its own.
GLUED = """项目名称 各类工作经费
项目资金总额 7595500.00年度资金申请总额 7595500.00
其中：当年财政拨款 7595500.00
其他资金 0.00"""


def test_an_amount_whose_label_is_glued_to_another_amount_is_undecided_not_wrong():
    record = FormRecord(
        form_index=1,
        project_name="各类工作经费",
        funding=Funding(
            project_total="7595500.00",
            annual_total="7595500.00",
            current_appropriation="7595500.00",
        ),
    )
    found = _ground(record, GLUED)
    assert not [f for f in found if f.severity == "error"]
    (warning,) = [f for f in found if f.code == "grounding.undecidable"]
    assert "funding.annual_total" in warning.paths


# Two wrapped lines of a narrow cell whose heights overlap: the text layer prints them as one
# line, their characters ordered by x.
MERGED_GLYPHS = """6223-政府热点调查 81.525000 效益指标 社会效益指标 民 相 生 关 实 部 事 门 调 共 查 享 数据与 ＝ 1 次
垃圾分类调查数据与
政府及相关部门决 效益指标 社会效益指标 ＝ 1 次"""


def test_two_wrapped_lines_merged_glyph_by_glyph_are_in_the_source():
    src = index_source(MERGED_GLYPHS)
    assert src.has_text("民生实事调查数据与相关部门共享")
    assert not src.has_text("民生实事调查数据与有关部门共享")  # a changed character
    assert not src.has_text("民生事实调查数据与相关部门共享")  # characters swapped
    assert not src.has_text("垃圾分类调查数据与相关部门共享")  # lines of two cells
    # a limit: the first line cut where the second ends (`民生实事调查` + `相关部门共享`, its
    # tail `数据与` dropped) is a merge too; the text layer cannot say where the first line ends


# The goal columns side by side, their wrapped lines interleaved; a goal label printed amid its
# text (the merged cell's label at its middle).
SIDE_BY_SIDE = """项目名称 新建社区服务中心
其他资金 0.00
项目总目标 年度总体目标
建成后作为万里街道社区事务受理、社区管
建成后作为万里街道社区事务受理、社区管理、社区文化艺术活动场所。更
理、社区文化艺术活动场所。更有效的整合
一级指标 二级指标 三级指标 指标值
产出指标 数量指标 规划建筑面积 ≥13459.00(平方米)"""
LABEL_AMID = """项目名称 人口抽样调查
其他资金 0.00
高质量完成1%人口抽样调查工作。掌握2020年以来烟台市人口在数量、素质、结构的变
总体目标 化情况，客观反映我市人口发展状况。
一级指标 二级指标 三级指标 指标值
绩效指标 产出指标 数量指标 抽样调查对象数量 ≥4.2万"""


def test_a_goal_whose_extent_the_text_leaves_undecided_is_named():
    goal = "建成后作为万里街道社区事务受理、社区管理、社区文化艺术活动场所。更有效的整合"
    record = FormRecord(form_index=1, overall_goal=goal, annual_goal=goal)
    (warning,) = [f for f in _ground(record, SIDE_BY_SIDE) if f.code == "grounding.undecidable"]
    assert {"overall_goal", "annual_goal"} <= set(warning.paths)
    cut = FormRecord(form_index=1, overall_goal="化情况，客观反映我市人口发展状况。")
    (warning,) = [f for f in _ground(cut, LABEL_AMID) if f.code == "grounding.undecidable"]
    assert "overall_goal" in warning.paths


def test_a_goal_label_beside_its_whole_text_leaves_nothing_undecided():
    text = LABEL_AMID.replace("的变\n总体目标 化", "的变化").replace(
        "其他资金 0.00\n", "其他资金 0.00\n总体目标 "
    )
    record = FormRecord(form_index=1, overall_goal="高质量完成1%人口抽样调查工作。")
    assert not [f for f in _ground(record, text) if f.code == "grounding.undecidable"]
