"""Input formats: PDF, spreadsheets and OCR JSON read into the same records as the markdown,
each cell with its page and box; bad inputs get one clear line and exit 2."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from structurer.cli import app
from structurer.errors import InputError
from structurer.pipeline import extract_documents
from structurer.quality.evaluate import load_case, run_case
from structurer.quality.robustness import load_gold_cases
from structurer.read import load_document, read_source
from structurer.read.formats import FORMATS, HEAD_BYTES
from structurer.rules import RulesBackend

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
GENERATED = sorted(p.name for p in FIXTURES.glob("gen-*") if (p / "gold.jsonl").is_file())
CONTENT = ("year", "project_name", "department", "funding", "annual_goal", "indicators")
runner = CliRunner()


@functools.cache
def records_of(path: Path) -> list:
    """Records of a document, read once per test run (PDF parsing is the slow part)."""
    return extract_documents([load_document(path)], RulesBackend()).records


def content(records: list) -> list[dict]:
    return [r.model_dump(include=set(CONTENT)) for r in records]


# --- the generated cases: every record back, exactly ---


def test_every_input_format_has_a_generated_case() -> None:
    def sniffed(path: Path) -> str:
        head = path.read_bytes()[:HEAD_BYTES]
        return next(f.name for f in FORMATS if f.sniff(path, head))

    formats = {sniffed(next((FIXTURES / n).glob("source.*"))) for n in GENERATED}
    assert formats == {"pdf", "xlsx", "xls", "mineru", "docling"}


@pytest.mark.parametrize("name", GENERATED)
def test_generated_case_reads_back_its_gold_exactly(name: str) -> None:
    score = run_case(load_case(FIXTURES / name), RulesBackend())
    m = score.metrics()
    assert (m["forms_found"], m["forms_extra"]) == (m["forms_expected"], 0)
    assert m["field_accuracy"] == 1.0 and m["indicator_f1"] == 1.0, score.mismatches[:3]
    assert m["target_accuracy"] == 1.0 and m["goal_mean"] == 1.0
    assert m["findings_raised"] == m["findings_expected"]  # the gold's expected findings, no more


@pytest.mark.parametrize(
    ("generated", "markdown"),
    [
        ("gen-shanghai-2024-mineru/source.json", "shanghai-2024/source.md"),
        ("gen-district-2026-xlsx/source.xlsx", "synthetic-district-2026/source.md"),
    ],
)
def test_a_content_list_and_a_spreadsheet_read_as_well_as_the_markdown(
    generated: str, markdown: str
) -> None:
    assert content(records_of(FIXTURES / generated)) == content(records_of(FIXTURES / markdown))


def test_pdf_records_name_the_page_and_box_of_each_source_cell() -> None:
    records = records_of(FIXTURES / "gen-district-2026-pdf/source.pdf")
    cells = [c for r in records for c in r.source.cells.values()]
    assert cells and all(c.page and c.bbox for c in cells)
    assert all(0 <= c.bbox[0] < c.bbox[2] <= 1 and 0 <= c.bbox[1] < c.bbox[3] <= 1 for c in cells)
    first = records[0].source.cells
    # the project name sits left of its nature on the same row of page 1; the amounts below it
    name, nature = first["project_name"], first["project_nature"]
    assert name.page == nature.page == 1 and name.bbox[2] <= nature.bbox[0]
    assert abs(name.bbox[1] - nature.bbox[1]) < 0.005
    assert first["funding.annual_total"].bbox[1] > name.bbox[3]
    pages = {r.form_index: {c.page for c in r.source.cells.values()} for r in records}
    assert pages[1] == {1} and pages[3] == {2, 3}  # form 3's table breaks at the page's end


def test_docling_boxes_match_the_pdf_boxes_of_the_same_cells() -> None:
    """The Docling JSON was written from pages.pdf: its bottom-left prov boxes and top-left cell
    boxes must land on the same places as reading pages.pdf itself."""
    folder = FIXTURES / "gen-docling-2025-docling"
    from_json = records_of(folder / "source.json")
    from_pdf = records_of(folder / "pages.pdf")
    for a, b in zip(from_json, from_pdf, strict=True):
        for path, ref in a.source.cells.items():
            other = b.source.cells[path]
            assert ref.page == other.page
            assert max(abs(x - y) for x, y in zip(ref.bbox, other.bbox, strict=True)) < 0.002


def test_mineru_cells_carry_the_page_but_no_box_of_their_own() -> None:
    """MinerU gives one box per table, none per cell: a cell names its page only."""
    records = records_of(FIXTURES / "gen-shanghai-2024-mineru/source.json")
    cells = [c for r in records for c in r.source.cells.values()]
    assert all(c.page and c.bbox is None for c in cells)


def test_text_and_spreadsheet_records_keep_line_and_col_only(seed_source: Path) -> None:
    for path in (seed_source, FIXTURES / "gen-district-2026-xlsx/source.xlsx"):
        record = records_of(path)[0]
        dumped = json.loads(record.model_dump_json())
        assert all(set(c) == {"line", "col"} for c in dumped["source"]["cells"].values())


def test_format_is_sniffed_by_content_not_by_name(tmp_path: Path) -> None:
    for case, fmt in (("gen-shanghai-2024-mineru", "mineru"), ("gen-docling-2025-docling", "docling"),
                      ("gen-district-2026-pdf", "pdf"), ("gen-district-2026-xlsx", "xlsx")):  # fmt: skip
        renamed = tmp_path / f"{case}-download"
        renamed.write_bytes(next((FIXTURES / case).glob("source.*")).read_bytes())
        assert read_source(renamed).format == fmt


# --- spreadsheets ---


def _workbook(path: Path, *, borders: bool) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Border, Side

    book = Workbook()
    ws = book.active
    ws.append(["财政项目支出绩效目标申报表"])
    ws.merge_cells("A1:D1")
    ws.append(["(2025年度)"])
    ws.append(["项目名称", "测试项目", None, None])
    ws.merge_cells("B3:D3")
    ws.append(["项目资金（元）", "年度资金申请总额", 1500000, None])
    ws.append([None, "其中：当年财政拨款", 1500000, None])
    ws.merge_cells("A4:A5")
    ws["C4"].number_format = ws["C5"].number_format = "#,##0.00"
    ws.append([None, "=B9", None, None])  # a formula without a saved value
    ws.append(["年度总体目标：完成测试。"])  # one cell, bordered: a table row
    if borders:
        side = Side(style="thin")
        for row in ws.iter_rows(min_row=3, max_row=7):
            for cell in row:
                cell.border = Border(left=side, right=side, top=side, bottom=side)
    book.save(path)


def test_spreadsheet_titles_become_lines_and_merges_become_spans(tmp_path: Path) -> None:
    path = tmp_path / "form.xlsx"
    _workbook(path, borders=True)
    lines = read_source(path).text.splitlines()
    assert lines[:3] == ["财政项目支出绩效目标申报表", "", "(2025年度)"]  # lines, not table rows
    table = "\n".join(lines)
    assert '<td rowspan="2">项目资金（元）</td>' in table
    assert '<td colspan="3">测试项目</td>' in table
    assert "<td>1,500,000.00</td>" in table  # as the number format shows it
    assert "<td>=B9</td>" in table  # no saved value: the formula as written, never an empty cell
    assert (
        "<td>年度总体目标：完成测试。</td>" in table
    )  # a bordered one-cell row stays in the table


def test_unbordered_one_cell_row_ends_the_table(tmp_path: Path) -> None:
    path = tmp_path / "plain.xlsx"
    _workbook(path, borders=False)
    text = read_source(path).text
    assert "\n年度总体目标：完成测试。\n" in text + "\n" and text.count("<table>") == 1


def test_xls_without_xlrd_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xlrd", None)
    with pytest.raises(InputError, match=r"structurer\[xls\]"):
        read_source(FIXTURES / "gen-district-2026-xls/source.xls")


def test_a_broken_workbook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 200)
    result = runner.invoke(app, ["extract", str(path), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "not a readable .xlsx workbook" in result.output


# --- PDF: scanned, missing extra, light --help ---


def _blank_pdf(path: Path) -> None:
    import pypdfium2

    doc = pypdfium2.PdfDocument.new()
    doc.new_page(595, 842)
    doc.save(str(path))
    doc.close()


def test_scanned_pdf_gets_one_line_naming_an_ocr_and_exit_2(tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    _blank_pdf(scan)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", str(scan), "-o", str(out)])
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "no text layer" in message and "MinerU" in message and "PaddleOCR" in message
    assert not out.exists()


def test_pdf_without_the_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pdfplumber", None)  # as if not installed
    with pytest.raises(InputError, match=r"pip install 'structurer\[pdf\]'"):
        read_source(FIXTURES / "gen-district-2026-pdf/source.pdf")


def test_help_imports_no_pdf_or_spreadsheet_library() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom structurer.cli import app\n"
        "for args in (['--help'], ['extract', '--help'], ['review', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "heavy = ('pdfplumber', 'pdfminer', 'pypdfium2', 'openpyxl', 'xlrd', 'PIL')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- JSON ---


def test_unknown_json_is_refused_with_what_is_read(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text('{"pages": []}', encoding="utf-8")
    result = runner.invoke(app, ["extract", str(path), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert "content_list.json" in result.output and "Docling" in result.output


def test_docling_bottom_left_boxes_are_turned_top_left() -> None:
    from structurer.read.formats.layout_json import _docling_box

    size = (600.0, 800.0)
    bottom_left = {"l": 60, "t": 720, "r": 300, "b": 640, "coord_origin": "BOTTOMLEFT"}
    top_left = {"l": 60, "t": 80, "r": 300, "b": 160, "coord_origin": "TOPLEFT"}
    assert _docling_box(bottom_left, size) == _docling_box(top_left, size) == (0.1, 0.1, 0.5, 0.2)


def test_mineru_html_spans_keep_their_grid_columns() -> None:
    from structurer.read.formats.tables import SourceBuilder, Table, html_table_cells

    html = (
        "<table><tr><td rowspan=2 colspan=2>A</td><td>B</td></tr><tr><td>C</td></tr>"
        "<tr><td>D</td><td>E</td><td>F</td></tr></table>"
    )
    builder = SourceBuilder()
    builder.table(Table(html_table_cells(html)))
    from structurer.read.layouts import read_grid

    grid = read_grid(builder.build("mineru").text)
    assert [[c.text for c in row] for row in grid.rows] == [
        ["A", "", "B"],
        ["A", "", "C"],
        ["D", "E", "F"],
    ]


def test_robustness_leaves_out_the_generated_cases() -> None:
    names = [c.name for c in load_gold_cases(FIXTURES)]
    assert names and not any(n.startswith("gen-") for n in names)


@pytest.mark.parametrize("case", ["shanghai-2024", "synthetic-docling-2025"])
def test_a_plain_sheet_of_the_markdown_reads_as_the_markdown(case: str, tmp_path: Path) -> None:
    """The issue's spreadsheet: one sheet, every table row a row of cells (no borders, no
    merges), titles and year lines as one-cell rows, several forms one after another; the seed's
    goal rows hold one cell, in the goal's column."""
    from openpyxl import Workbook

    markdown = FIXTURES / case / "source.md"
    book = Workbook()
    ws = book.active
    for line in markdown.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if not s or set(s) <= set("|-: ") or s.startswith("<!--"):
            continue
        if s.startswith("|"):
            ws.append([c.strip() or None for c in s.strip("|").split("|")])
        else:
            ws.append([s.lstrip("#").strip()])
    path = tmp_path / "plain.xlsx"
    book.save(path)
    assert content(records_of(path)) == content(records_of(markdown))
