"""Layouts other than pipe and HTML tables (issue 10): each becomes the same cell grid, and what
the reader could only guess or could not place carries an error finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from structurer.llm.prompt import render_form
from structurer.models import FormRecord, Grid
from structurer.read import load_document
from structurer.read.layouts import choose_layout, chunk_grid
from structurer.read.layouts.cells import split_run_together, split_words
from structurer.rules import extract_form
from structurer.vocab import load_vocabulary

VOCAB = load_vocabulary()

# Generated for these tests, in the shapes of the real fixtures (web-page text of Hunan and
# Sichuan, one cell per line of Hubei, a department list table of Chongqing and Sichuan).
TEXT_ROWS = """\
项目支出绩效目标表
（2023年度）
项目名称 乡村道路养护 主管部门及编码 101-某县交通运输局
实施单位 某县公路养护中心 项目属性 经常性项目
项目资金(万元) 年度资金总额:120 其中:财政拨款 100 其他资金 20
年度目标 完成乡村道路日常养护
一级指标 二级指标 三级指标 指标值
产出指标 数量指标 养护里程( ≥**公里 ) ≥300公里
产出指标 质量指标 路面完好率 ≥95%
满意度指标 服务对象满意度指标 群众满意度 ≥90%
"""

CELL_PER_LINE = """\
项目支出绩效目标表

项目名称

村级阵地维修

主管部门

某区委组织部

年度资金总额

50

其中：财政拨款

50

年度目标

维修村级阵地10处

一级指标

二级指标

三级指标

指标值

产出指标

数量指标

维修阵地数量

10处

效益指标

社会效益指标

服务群众能力

有效提升
"""

LIST_TABLE = """\
部门预算项目绩效目标申报表(2025年度)
金额单位:元
| 单位名称 | 项目名称 | 预算数 | 年度目标 | 一级指标 | 二级指标 | 三级指标 | 指标性质 | 指标值 | 度量单位 |
| 101-某县文化和旅游局 | 5,000.00 |
| 101001-某县图书馆 | 图书购置 | 3,000.00 | 新增图书 | 产出指标 | 数量指标 | 新增藏书 | ≥ | 2000 | 册 |
| 产出指标 | 质量指标 | 验收合格率 | ＝ | 100 | % |
| 满意度指标 | 服务对象满意度指标 | 读者满意度 | ≥ | 90 | % |
| 101002-某县文化馆 | 文化下乡 | 2,000.00 | 送戏下乡 | 产出指标 | 数量指标 | 演出场次 | ≥ | 12 | 场 |
| 效益指标 | 社会效益指标 | 受益群众 | ≥ | 5000 | 人次 |
"""


def read(text: str, tmp_path: Path) -> list[FormRecord]:
    path = tmp_path / "doc.txt"
    path.write_text(text, encoding="utf-8")
    doc = load_document(path)
    return [extract_form(c, chunk_grid(c, VOCAB), VOCAB) for c in doc.chunks]


def errors(record: FormRecord) -> list[str]:
    return [f.code for f in record.findings if f.severity == "error"]


def triples(record: FormRecord) -> list[tuple[str | None, ...]]:
    return [(i.level2, i.name, i.target) for i in record.indicators]


def test_text_rows_read_labels_glued_values_and_bracketed_names(tmp_path: Path) -> None:
    (record,) = read(TEXT_ROWS, tmp_path)
    assert record.year == 2023  # from the year line under the title
    assert (record.project_name, record.department) == (
        "乡村道路养护",
        "某县交通运输局",
    )  # code dropped
    # `label:value` in one word; amounts are kept as printed, in the unit the form states
    assert (record.funding.unit, record.funding.annual_total) == ("万元", "120")
    assert record.funding.current_appropriation == "100"
    assert triples(record) == [
        ("数量指标", "养护里程( ≥**公里)", "≥300公里"),  # the placeholder kept whole
        ("质量指标", "路面完好率", "≥95%"),
        ("服务对象满意度指标", "群众满意度", "≥90%"),
    ]
    assert errors(record) == []


def test_one_cell_per_line_is_rebuilt_into_rows(tmp_path: Path) -> None:
    assert choose_layout(CELL_PER_LINE.split("\n")).name == "cell-per-line"
    (record,) = read(CELL_PER_LINE, tmp_path)
    assert (record.project_name, record.department) == ("村级阵地维修", "某区委组织部")
    assert record.annual_goal == "维修村级阵地10处"
    assert triples(record) == [
        ("数量指标", "维修阵地数量", "10处"),
        ("社会效益指标", "服务群众能力", "有效提升"),
    ]


def test_cells_closed_by_a_pipe_join_a_cell_wrapped_over_two_lines(tmp_path: Path) -> None:
    # every cell ends with ` |`; a line without one runs on into the next line (the Anhui web page)
    closed = "\n".join(f"{cell} |" for cell in CELL_PER_LINE.split("\n") if cell)
    wrapped = closed.replace("服务群众能力 |", "服务群众\n能力 |").replace(
        "年度目标 |", "年度\n目标 |"
    )
    assert choose_layout(wrapped.split("\n")).name == "cell-per-line"
    (record,) = read("项目支出绩效目标表\n" + wrapped, tmp_path)
    assert record.annual_goal == "维修村级阵地10处"
    assert triples(record) == [
        ("数量指标", "维修阵地数量", "10处"),
        ("社会效益指标", "服务群众能力", "有效提升"),
    ]


def test_a_department_list_table_is_one_form_per_project(tmp_path: Path) -> None:
    first, second = read(LIST_TABLE, tmp_path)
    assert [first.form_index, second.form_index] == [1, 2]
    assert (first.project_name, first.implementing_unit) == ("图书购置", "某县图书馆")
    # the unit line above the table says 元
    assert (first.funding.unit, first.funding.annual_total) == ("元", "3000.00")
    assert [i.name for i in first.indicators] == ["新增藏书", "验收合格率", "读者满意度"]
    assert (second.project_name, second.funding.annual_total) == ("文化下乡", "2000.00")
    assert [i.name for i in second.indicators] == ["演出场次", "受益群众"]
    # each form's source points at its own rows (and the department's subtotal row)
    assert all(c.line <= 7 for c in first.source.cells.values())
    assert all(c.line >= 8 or c.line == 4 for c in second.source.cells.values())  # 4: subtotal


@pytest.mark.parametrize(
    ("cell", "pieces", "guess"),
    [
        (
            "产出指标数量指标培训人数≥100人次",
            ["产出指标", "数量指标", "培训人数", "≥100人次"],
            False,
        ),
        (
            "满意度指标服务对象满意度指标满意度>=90%",
            ["满意度指标", "服务对象满意度指标", "满意度", ">=90%"],
            False,
        ),
        (
            "产出指标数量指标人数(≥**人)≥20人",
            ["产出指标", "数量指标", "人数(≥**人)", "≥20人"],
            False,
        ),
        ("产出指标时效指标完成时限1", ["产出指标", "时效指标", "完成时限", "1"], True),
        ("效益指标社会效益指标服务能力", ["效益指标", "社会效益指标", "服务能力"], True),
        ("效益指标(30分)", ["效益指标(30分)"], False),  # a level and its score: one cell
        ("产出指标", ["产出指标"], False),
    ],
)
def test_cells_run_together_split_at_level_names(cell: str, pieces: list[str], guess: bool) -> None:
    guessed: list[str] = []
    assert split_run_together([cell], VOCAB, guessed) == pieces
    assert guessed == ([cell] if guess else [])


def test_run_together_rows_read_and_a_guess_is_an_error(tmp_path: Path) -> None:
    sure = TEXT_ROWS.replace("产出指标 质量指标 路面完好率 ≥95%", "产出指标质量指标路面完好率≥95%")
    (record,) = read(sure, tmp_path)
    assert ("质量指标", "路面完好率", "≥95%") in triples(record)
    assert errors(record) == []
    guessed = TEXT_ROWS.replace(
        "产出指标 质量指标 路面完好率 ≥95%", "产出指标质量指标路面完好率95%"
    )
    (record,) = read(guessed, tmp_path)
    assert ("质量指标", "路面完好率", "95%") in triples(record)
    assert "extract.guessed" in errors(record)  # read right, but the split is a guess: say so


def test_text_the_rules_could_not_place_is_an_error(tmp_path: Path) -> None:
    odd = TEXT_ROWS.replace("实施单位 某县公路养护中心", "实施单位 某县公路养护中心 备用金 5")
    (record,) = read(odd, tmp_path)
    assert "extract.unread" in errors(record)
    (unread,) = [f for f in record.findings if f.code == "extract.unread"]
    assert "备用金" in unread.values["texts"]


def test_words_keep_an_open_bracket_whole() -> None:
    assert [w for w, _ in split_words("数量( ≥**个 ) ≥3个")] == ["数量( ≥**个 )", "≥3个"]


def test_the_llm_gets_the_text_when_there_is_no_grid(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(TEXT_ROWS, encoding="utf-8")
    chunk = load_document(path).chunks[0]
    prompt = render_form(chunk, Grid(), VOCAB)
    assert "乡村道路养护" in prompt and "路面完好率" in prompt  # nothing lost with no grid
    grid = chunk_grid(chunk, VOCAB)
    prompt = render_form(chunk, grid, VOCAB)
    assert prompt.count("路面完好率") == 1  # a line in the grid is not sent twice


def test_forms_without_a_title_start_at_their_project_name(tmp_path: Path) -> None:
    body = TEXT_ROWS.split("\n", 2)[2]  # no title, no year line
    other = body.replace("乡村道路养护", "桥梁检测")
    records = read(body + "\n" + other, tmp_path)
    assert [r.project_name for r in records] == ["乡村道路养护", "桥梁检测"]
    assert all(len(r.indicators) == 3 for r in records)


@pytest.mark.parametrize(
    ("head", "year"),
    [
        ("2023年乡村道路养护项目绩效目标申报表", 2023),  # a project name glued in front
        ("绩效目标申报表\n2023年度)", 2023),  # the year on its own line, its bracket lost
        ("某县2023年部门预算公开\n项目支出绩效目标表", 2023),  # the year in the page heading
        ("2026 年,某局按要求编制绩效目标\n项目支出绩效目标表", None),  # prose, not a heading
        ("项目支出绩效目标表\n\n| 项目支出绩效目标表 |\n|---|", None),  # printed twice: one form
    ],
)
def test_title_variants_and_where_the_year_is(head: str, year: int | None, tmp_path: Path) -> None:
    body = TEXT_ROWS.split("\n", 2)[2]
    (record,) = read(head + "\n" + body, tmp_path)
    assert record.year == year
    assert record.project_name == "乡村道路养护"


def test_a_guess_in_a_list_table_is_an_error_too(tmp_path: Path) -> None:
    doc = (
        "部门预算项目绩效目标申报表(2025年度)\n金额单位:元\n"
        "单位名称 项目名称 预算数 年度目标 一级指标 二级指标 三级指标 指标值\n"
        "某县图书馆 图书购置 3000.00 新增图书 产出指标 数量指标 新增藏书 ≥2000册\n"
        "产出指标质量指标验收合格率100\n"
    )
    (record,) = read(doc, tmp_path)
    assert ("质量指标", "验收合格率", "100") in triples(record)
    assert errors(record) == ["extract.guessed"]
