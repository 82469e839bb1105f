"""Chunking: one chunk per 申报表, continuation tables stay with their form."""

import itertools
import json
from pathlib import Path

from conftest import ROOT
from variants import HTML_FORM, TITLE_IN_TABLE, WANYUAN_SPLIT

from structurer.read import load_document
from structurer.read.chunker import split_forms
from structurer.read.layouts import chunk_grid
from structurer.read.structure import grid_parts
from structurer.vocab import resolve


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


# --- titles found by what they are, not by a list (issue 22) ---

_BODY = "| 项目名称 | {name} |\n| 主管部门 | 某局 |\n| 一级指标 | 二级指标 | 三级指标 | 指标值 |\n| 产出指标 | 数量指标 | 件数 | 2件 |"


def _titled(*titles: str) -> str:
    return "\n".join(f"{t}\n{_BODY.format(name=f'项目{k}')}" for k, t in enumerate(titles))


def test_an_unlisted_title_of_the_pattern_starts_a_form_with_its_own_lines() -> None:
    # 填报表 is in no list: before, each form began at its 项目名称 row and the title and year
    # lines fell into the form before
    text = _titled(
        "财政项目支出绩效目标填报表\n（2025年度）", "财政项目支出绩效目标填报表\n（2026年度）"
    )
    _, chunks = split_forms(text)
    assert [(c.start_line, c.year) for c in chunks] == [(1, 2025), (7, 2026)]
    assert chunks[0].text.endswith("2件 |")


def test_a_title_variant_never_seen_is_a_title_but_prose_and_other_tables_are_not() -> None:
    from structurer.read.chunker import is_title
    from structurer.vocab import default_vocabulary

    vocab = default_vocabulary()
    for title in (
        "中央预算内投资计划绩效目标表",
        "转移支付区域绩效目标表",
        "2024年项目绩效目标审核表（一级项目）",
    ):
        assert is_title(title, vocab), title
    for line in (
        "按照要求编制了项目支出绩效目标表。",
        "项目支出绩效自评表",
        "部门项目支出绩效目标汇总表",
    ):
        assert not is_title(line, vocab), line


def test_the_year_printed_inside_a_title_is_the_forms() -> None:
    _, chunks = split_forms(_titled("自治区本级部门2019年项目支出预算绩效目标表"))
    assert chunks[0].year == 2019


def test_a_title_with_the_form_run_on_after_it_starts_a_form() -> None:
    text = (
        "省级部门预算项目支出绩效目标表(2023年度)一*级项目名称文化事业发展专项资金项目主管部门某局"
    )
    _, chunks = split_forms(text)
    assert [(c.start_line, c.year) for c in chunks] == [(1, 2023)]


def test_a_list_table_merging_cells_across_projects_is_one_form_per_project() -> None:
    from structurer.backends import make_backend
    from structurer.pipeline import extract_documents
    from structurer.read import load_document

    rows = [
        "<table>",
        "<tr><td>单位名称</td><td>项目名称</td><td>年度资金总额(万元)</td><td>一级指标</td>"
        "<td>二级指标</td><td>三级指标</td><td>指标值</td></tr>",
        '<tr><td rowspan="4">105001某局</td><td rowspan="2">甲项目</td><td rowspan="2">30.00</td>'
        "<td>产出指标</td><td>数量指标</td><td>甲件数</td><td>=2件</td></tr>",
        "<tr><td>满意度指标</td><td>服务对象满意度指标</td><td>甲满意度</td><td>≥90%</td></tr>",
        '<tr><td rowspan="2">乙项目</td><td rowspan="2">16.56</td>'
        "<td>产出指标</td><td>数量指标</td><td>乙件数</td><td>=3件</td></tr>",
        "<tr><td>满意度指标</td><td>服务对象满意度指标</td><td>乙满意度</td><td>≥95%</td></tr>",
        "</table>",
    ]
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "list.md"
        path.write_text("某局2026年项目支出绩效目标表\n" + "\n".join(rows), encoding="utf-8")
        backend = make_backend("rules")
        records = extract_documents([load_document(path, backend.vocab)], backend).records
    got = [
        (r.project_name, r.funding.annual_total, [i.name for i in r.indicators]) for r in records
    ]
    assert got == [
        ("甲项目", "30.00", ["甲件数", "甲满意度"]),
        ("乙项目", "16.56", ["乙件数", "乙满意度"]),
    ]
    assert [r.funding.unit for r in records] == ["万元", "万元"]
    assert len({r.source.project_line for r in records}) == 2


def test_a_page_repeating_the_title_over_indicator_rows_only_continues_its_form() -> None:
    """烟台's template prints its title on every page: a page with nothing but indicator rows under
    it is the form before's; a page with a project-name row under it is a new form."""
    title = "政策和项目预算绩效目标表\n(2026年度)\n"
    form = (
        "| 项目名称 | {name} |\n|---|---|\n| 项目资金（万元） | 年度预算资金总额： | 9.00 |\n"
        "| 一级指标 | 二级指标 | 三级指标 | 指标值 |\n| 产出指标 | 数量指标 | 检查次数 | ≥20次 |\n"
    )
    rest = "| 效益指标 | 社会效益指标 | 保障能力 | 显著提升 |\n|---|---|---|---|\n"
    text = title + form.format(name="交通战备专项") + "\n— 38 —\n" + title + rest + "\n— 39 —\n"
    text += title + form.format(name="物业费")
    _, chunks = split_forms(text)
    assert len(chunks) == 2
    assert "保障能力" in chunks[0].text and "物业费" in chunks[1].text


def test_a_department_wide_table_ends_the_form_before_it_and_is_set_aside() -> None:
    """部门整体绩效目标表 is not a project's form: it is not read, its rows do not run into the form
    before it, and the document names it (an info finding, and the no-form error if alone)."""
    from structurer.read.chunker import split_document

    project = "城区绿化项目绩效目标表\n| 项目名称 | 城区绿化 |\n|---|---|\n| 产出指标 | 数量指标 | 绿化面积 | ≥10亩 |\n"
    whole = "2026年部门整体绩效目标表\n| 单位名称 | 某局 |\n|---|---|\n| 产出指标 | 数量指标 | 办件量 | ≥100件 |\n"
    _, chunks = split_forms(project + "\n" + whole)
    assert len(chunks) == 1 and "办件量" not in chunks[0].text
    assert split_document(project + "\n" + whole)[2] == ["2026年部门整体绩效目标表 (line 6)"]


def test_a_paged_list_table_repeats_its_header_and_project_rows_on_each_page(
    tmp_path: Path,
) -> None:
    """The 长沙 template (real-hunan-*-pdf-changsha-*): a two-row header, a total and a unit row
    above the projects, each page printing title, header and the running project's row again
    (its goal clipped at the foot of the page where it starts), the operator after the unit."""
    from structurer.backends import make_backend
    from structurer.pipeline import extract_documents
    from structurer.read import load_document

    header = [
        "<table>",
        '<tr><td rowspan="2">单位编码</td><td rowspan="2">单位（项目）名称</td>'
        '<td rowspan="2">资金总额</td><td rowspan="2">绩效目标</td><td colspan="6">绩效指标</td></tr>',
        "<tr><td>一级指标</td><td>二级指标</td><td>三级指标</td><td>指标值</td><td>度量单位</td>"
        "<td>指标值类型</td></tr>",
    ]
    title = ["2026年项目支出绩效目标表", "部门名称：某局 单位：万元"]

    def row(cells: str) -> str:
        return "<tr>" + "".join(f"<td>{t}</td>" for t in cells.split("|")) + "</tr>"

    page1 = [
        row("合计||46.56|||||||"),
        row("126001|某局|46.56|||||||"),
        row("126001|甲项目|30.00|甲目标|产出指标|数量指标|甲件数|2|件|="),
        row("|乙项目|16.56|乙目标前半|产出指标|时效指标|乙时效|按时||定性"),
    ]
    page2 = [
        row("126001|乙项目|16.56|乙目标前半后半|满意度指标|服务对象满意度指标|乙满意度|95|%|≥")
    ]
    pages = [*title, *header, *page1, "</table>", *title, *header, *page2, "</table>"]
    path = tmp_path / "list.md"
    path.write_text("\n".join(pages), encoding="utf-8")
    backend = make_backend("rules")
    records = extract_documents([load_document(path, backend.vocab)], backend).records
    got = [
        (r.project_name, r.funding.annual_total, r.annual_goal, r.department, r.implementing_unit,
         [(i.name, i.target) for i in r.indicators])
        for r in records
    ]  # fmt: skip
    assert got == [
        ("甲项目", "30.00", "甲目标", "某局", "某局", [("甲件数", "=2件")]),
        ("乙项目", "16.56", "乙目标前半后半", "某局", "某局", [("乙时效", "按时"), ("乙满意度", "≥95%")]),
    ]  # fmt: skip


def test_a_list_whose_project_cells_print_at_their_middle_is_cut_at_each_projects_amounts() -> None:
    """A PDF text layer of a list whose project cells are merged down their rows prints each
    project's code, name and amounts at the middle of those rows, among the indicator rows, and
    again on the next page when the project runs on: every form names the line of its own
    amounts, once per project, and its grid reads the rows nearest them."""
    case = ROOT / "fixtures" / "real-beijing-2026-pdftext-tongji"
    gold = [json.loads(x) for x in (case / "gold.jsonl").read_text("utf-8").splitlines() if x]
    document = load_document(case / "source.txt")
    lines = (case / "source.txt").read_text("utf-8").split("\n")
    named = [lines[c.project_line - 1] for c in document.chunks if c.project_line]
    assert len(named) == len(document.chunks) == len(gold)
    for line, project in zip(named, gold, strict=True):
        assert project["funding"]["annual_total"] in line.split(), (line, project["project_name"])
    vocab = resolve(None)
    tables = [grid_parts(chunk_grid(c, vocab), vocab).table for c in document.chunks]
    spans = [(t.rows[1][0].line, t.rows[-1][0].line) for t in tables if t is not None]
    assert len(spans) == len(gold) and spans == sorted(spans)


def test_a_tables_number_on_the_line_above_its_title_starts_its_form() -> None:
    """西安 prints `表14` on a line of its own above each form's title: the number is the form's
    first line, not the last line of the form before (where it was read as an indicator)."""
    form = "表14\n部门专项业务经费绩效目标表\n(2026年度)\n| 项目名称 | {name} |\n|---|---|\n"
    form += "| 一级指标 | 二级指标 | 三级指标 | 指标值 |\n| 产出指标 | 数量指标 | 报告 | 1 |\n"
    _, chunks = split_forms(form.format(name="甲") + form.format(name="乙"))
    assert [c.text.split("\n")[0] for c in chunks] == ["表14", "表14"]
    assert all(c.text.count("表14") == 1 for c in chunks)


def _beijing_list(tmp: Path) -> list:
    """Beijing's 预算表12 as pdfplumber's ruled tables give it (a made-up department): page 1
    with an empty margin column and the two-row header, page 2 without either; one project over
    two budget lines; a project whose cell is left open at page 1's foot (its rows there lie
    under no drawn cell, its text outside the table) and runs onto page 2's top rows."""
    from structurer.backends import make_backend
    from structurer.pipeline import extract_documents

    def row(*cells: str) -> str:
        return (
            "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"
        )

    ind = ["产出指标", "数量指标"]
    empty = ["<td></td>"] * 5
    page1 = [
        "<table>",
        row("", "预算表12 项目支出绩效目标表"),
        row(
            "",
            '<td rowspan="2">项目名称</td>',
            '<td rowspan="2">项目总额</td>',
            '<td colspan="2">其中：</td>',
            '<td rowspan="2">绩效目标</td>',
            '<td rowspan="2">一级指标</td>',
            '<td rowspan="2">二级指标</td>',
            '<td rowspan="2">三级指标</td>',
            '<td rowspan="2">绩效指标性质</td>',
            '<td rowspan="2">本年绩效指标值</td>',
            '<td rowspan="2">绩效度量单位</td>',
        ),
        row("", "财政资金", "其他资金"),
        row(
            "",
            '<td rowspan="2">11000022T000000111111-甲项目</td>',
            '<td rowspan="2">30.000000</td>',
            '<td rowspan="2">20.000000</td>',
            '<td rowspan="2">10.000000</td>',
            '<td rowspan="2">做好甲。</td>',
            *ind,
            "甲件数",
            "≥",
            "2",
            "件",
        ),
        row("", *ind, "甲次数", "＝", "3", "次"),
        row(
            "",
            '<td rowspan="2">11000022T000000222222-乙项目</td>',
            "5.000000",
            "5.000000",
            "",
            "做好乙一。",
            *ind,
            "乙件数",
            "≥",
            "4",
            "件",
        ),
        row("", "6.000000", "6.000000", "", "做好乙二。", *ind, "乙二件数", "≥", "5", "件"),
        row("", *empty, *ind, "丙件数", "≥", "6", "件"),
        "</table>",
        "11000022T00000033 7.000000 7.000000 做好",
        "3333-丙项目 丙。",
        "<table>",
        row(*empty, "满意度指标", "服务对象满意度指标", "丙满意度", "定性", "好", ""),
        row(
            "11000022T000000444444-丁项目",
            "8.000000",
            "8.000000",
            "",
            "做好丁。",
            *ind,
            "丁件数",
            "≥",
            "7",
            "件",
        ),
        "</table>",
    ]
    path = tmp / "list.md"
    path.write_text("\n".join(page1), encoding="utf-8")
    backend = make_backend("rules")
    return extract_documents([load_document(path, backend.vocab)], backend).records


def test_a_ruled_list_over_pages_is_read_under_its_two_row_header(tmp_path: Path) -> None:
    records = _beijing_list(tmp_path)
    got = [
        (r.project_name, r.funding.annual_total, r.funding.current_appropriation, r.funding.annual_other,
         r.annual_goal, [(i.name, i.target) for i in r.indicators])
        for r in records
    ]  # fmt: skip
    assert got == [
        ("甲项目", "30.000000", "20.000000", "10.000000", "做好甲。", [("甲件数", "≥2件"), ("甲次数", "=3次")]),
        ("乙项目", "5.000000", "5.000000", None, "做好乙一。", [("乙件数", "≥4件")]),
        ("乙项目", "6.000000", "6.000000", None, "做好乙二。", [("乙二件数", "≥5件")]),
        (None, None, None, None, None, [("丙件数", "≥6件"), ("丙满意度", "好")]),
        ("丁项目", "8.000000", "8.000000", None, "做好丁。", [("丁件数", "≥7件")]),
    ]  # fmt: skip
    # the code printed before a name is kept as printed under the column's label
    assert records[0].extra_fields == {"项目名称": "11000022T000000111111-甲项目"}
    outside = [f for f in records[3].findings if f.code == "extract.outside_table"]
    assert outside and outside[0].severity == "error"
    assert {"project_name", "funding.annual_total", "annual_goal"} <= set(outside[0].paths)
    assert not any(
        f.code == "extract.outside_table" for r in records[:3] + records[4:] for f in r.findings
    )
