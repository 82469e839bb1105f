"""Markdown and HTML tables -> one grid of cleaned cells that know their source line/column."""

import subprocess
import sys

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


def test_html_spans_past_the_last_row_or_column_read_as_the_table_is() -> None:
    # a rowspan past the last row copies nothing more; a title spanning a small table stays wide
    html = (
        '<table><tr><td colspan="6">标题</td></tr>'
        '<tr><td rowspan="99">项目名称</td><td>甲</td></tr><tr><td>乙</td></tr></table>'
    )
    assert texts(read_grid(html)) == [
        ["标题", "", "", "", "", ""],
        ["项目名称", "甲"],
        ["项目名称", "乙"],
    ]


HUGE_SPANS = """财政项目支出绩效目标申报表
<table><tr><td colspan="1000000000">项目名称</td><td rowspan="1000000000">甲</td></tr>
{rows}</table>
"""


def test_html_spans_are_clamped_to_the_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`colspan="1000000000"` in a 32 KB file allocated ~226 bytes per spanned column until
    MemoryError. Run in a child limited to 2 GB of address space, so a regression fails fast
    instead of taking the machine's memory."""
    huge = 'colspan="1000000000" rowspan="1000000000"'
    rows = "".join(
        f"<tr><td {huge}>主管部门{i}</td><td>乙</td></tr><tr></tr>\n" for i in range(400)
    )
    source = tmp_path / "spans.md"
    source.write_text(HUGE_SPANS.format(rows=rows), encoding="utf-8")
    assert 30_000 < source.stat().st_size < 40_000
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from structurer.read.layouts import read_grid\n"
        "grid = read_grid(open(sys.argv[1], encoding='utf-8').read())\n"
        "print(sum(map(len, grid.rows)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(source)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    cells = 2 * 401  # spans may add 4 per source cell (+64), the row that spends it a row more
    assert int(done.stdout) <= 2 * (cells + 4 * cells + 64)
