"""Chunking: one chunk per 申报表, continuation tables stay with their form."""

import itertools

from variants import HTML_FORM, TITLE_IN_TABLE, WANYUAN_SPLIT

from structurer.read.chunker import split_forms


def test_seed_has_13_forms_with_year_and_lines(seed_source) -> None:  # type: ignore[no-untyped-def]
    heading, chunks = split_forms(seed_source.read_text(encoding="utf-8"))
    assert heading == "上海市科技创业中心2024年度项目绩效目标汇总表"
    assert [c.index for c in chunks] == list(range(1, 14))
    assert {c.year for c in chunks} == {2024}
    # chunks tile the document in order, each starting at its title line
    lines = seed_source.read_text(encoding="utf-8").split("\n")
    for c in chunks:
        assert "财政项目支出绩效目标申报表" in lines[c.start_line - 1]
    assert all(a.end_line < b.start_line for a, b in itertools.pairwise(chunks))


def test_continuation_table_stays_with_its_form(seed_source) -> None:  # type: ignore[no-untyped-def]
    _, chunks = split_forms(seed_source.read_text(encoding="utf-8"))
    third = chunks[2]  # its indicator table continues on the next page without a title
    assert "国际孵化合作及沪港孵化合作" in third.text
    assert "孵化器国际培训班影响力" in third.text
    assert "“创·在上海”" not in third.text


def test_spaced_title_fullwidth_year_and_split_pages() -> None:
    heading, chunks = split_forms(WANYUAN_SPLIT)
    assert heading == "某区2026年度项目支出绩效目标"
    assert len(chunks) == 1
    assert chunks[0].year == 2026
    assert "老年人满意度" in chunks[0].text  # the part after the page footer


def test_title_inside_table_and_lost_title() -> None:
    _, chunks = split_forms(TITLE_IN_TABLE)
    assert [c.year for c in chunks] == [2025, None]
    assert chunks[0].start_line == 1
    assert "河道保洁" in chunks[0].text and "泵站运维" not in chunks[0].text
    assert chunks[1].text.lstrip().startswith("| 项目名称 | 泵站运维")


def test_title_repeated_as_first_table_row_is_one_form() -> None:
    doc = "财政项目支出绩效目标申报表\n\n| 财政项目支出绩效目标申报表 | |\n|---|---|\n| 项目名称 | 甲 |\n"
    _, chunks = split_forms(doc)
    assert len(chunks) == 1


def test_html_form_and_no_form() -> None:
    assert len(split_forms(HTML_FORM)[1]) == 1
    assert split_forms("# 汇总表\n\n没有申报表。\n")[1] == []


def test_title_without_caizheng_prefix() -> None:
    # other provinces print 项目支出绩效目标申报表; a summary heading (汇总) is not a form
    doc = "项目支出绩效目标申报表汇总\n\n项目支出绩效目标申报表\n| 项目名称 | 甲 |\n"
    heading, chunks = split_forms(doc)
    assert heading == "项目支出绩效目标申报表汇总"
    assert len(chunks) == 1 and chunks[0].start_line == 3


def test_duplicated_name_row_is_not_a_lost_title() -> None:
    doc = (
        "财政项目支出绩效目标申报表\n| 项目名称 | 甲 | 项目性质 | 其他 |\n|---|---|---|---|\n"
        "| 项目名称 | 甲 | 项目性质 | 其他 |\n| 主管部门 | 乙 | | |\n"
    )
    assert len(split_forms(doc)[1]) == 1


def test_title_inside_a_multiline_html_table_starts_at_the_table() -> None:
    form = (
        '<table>\n<tr><td colspan="2">财政项目支出绩效目标申报表</td></tr>\n'
        "<tr><td>项目名称</td><td>{}</td></tr>\n</table>\n"
    )
    _, chunks = split_forms(form.format("甲") + "\n" + form.format("乙"))
    assert [c.start_line for c in chunks] == [1, 6]
    assert chunks[1].text.startswith("<table>") and "乙" in chunks[1].text


def test_forms_with_the_same_head_and_a_wrapped_name_label_stay_apart() -> None:
    # every seed-template form starts with the same title, year and empty header rows; a page
    # repeating them continues a list table, unless a project is named below: the OCR wrapped
    # that label (`项目名 称`), which must still count as one cell of a pipe row
    form = (
        "财政项目支出绩效目标申报表\n\n(2024年度)\n\n| | | |\n|---|---|---|\n"
        "| {label} | {name} | 其他 |\n| 主管部门 | 乙 | |\n| 产出指标 | 数量指标 | 甲 |\n\n"
    )
    doc = form.format(label="项 目名称", name="甲") + form.format(label="项目名 称", name="丙")
    assert [c.start_line for c in split_forms(doc)[1]] == [1, 11]
