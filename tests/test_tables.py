"""Markdown and HTML tables -> one grid of cleaned cells that know their source line/column."""

from variants import HTML_FORM

from structurer.read.layouts import read_grid


def texts(grid):  # type: ignore[no-untyped-def]
    return [[c.text for c in row] for row in grid.rows]


def test_markdown_cells_remember_line_and_column() -> None:
    grid = read_grid("intro\n| 项目 名称 | 甲 |\n|---|---|\n| 主管部门 | 乙 |", first_line=10)
    assert texts(grid) == [["项目名称", "甲"], ["主管部门", "乙"]]
    first = grid.rows[0][1]
    assert (first.line, first.col, first.raw) == (11, 1, "甲")


def test_empty_and_verbatim_duplicate_rows_dropped() -> None:
    md = "| | |\n|---|---|\n| a名称 | 1 |\n| a名称 | 1 |\n| b名称 | 1 |\n| a名称 | 1 |\n"
    # consecutive copy dropped; a later identical row is kept (the checker flags duplicates)
    assert texts(read_grid(md)) == [["a名称", "1"], ["b名称", "1"], ["a名称", "1"]]


def test_html_rowspan_is_copied_down_and_colspan_leaves_blanks() -> None:
    grid = read_grid(HTML_FORM, first_line=1)
    rows = texts(grid)
    assert rows[0] == ["项目名称", "校园安全改造", "", "项目性质", "其他一次性项目"]
    fund = next(r for r in grid.rows if r[1].text == "其中：当年财政拨款")
    assert fund[0].text == "项目资金（元）" and fund[0].merged
    second = next(r for r in grid.rows if r[2].text == "更换门禁")
    assert [c.text for c in second[:2]] == ["产出指标", "数量指标"]
    assert all(c.merged for c in second[:2])
    assert second[2].line == 11  # the source line of that <tr>


def test_truncated_html_table_keeps_what_is_there() -> None:
    grid = read_grid("<table><tr><td>项目名称</td><td>甲</td></tr><tr><td>主管部门</td><td>乙")
    assert texts(grid) == [["项目名称", "甲"], ["主管部门", "乙"]]


def test_html_markup_that_never_closes_is_text_and_loses_no_later_row() -> None:
    # `<![x` made html.parser raise; an unclosed <style> swallowed every row after it
    html = (
        "<table><tr><td>项目名称</td><td>甲<![x</td></tr>"
        "<tr><td>主管部门</td><td><style>乙</td></tr>"
        "<tr><td>实施单位</td><td>丙</td></tr></table>"
    )
    assert texts(read_grid(html)) == [
        ["项目名称", "甲<![x"],
        ["主管部门", "乙"],
        ["实施单位", "丙"],
    ]


def test_html_tags_that_close_are_read_as_before() -> None:
    html = "<table><tr><td colspan='2' class=\"a\">甲</td><!-- c --><td>乙<br/>丙</td></tr></table>"
    assert texts(read_grid(html)) == [["甲", "", "乙\n丙"]]
