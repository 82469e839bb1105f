"""The shapes real OCR tools write (issue 23, item 7): real output files kept as found under
fixtures/ocr-shapes/ (Docling `cref`, MinerU 0.10 and 2.7 content lists, Marker JSON) read with
their tables and cells; the shapes no real file was found for (MinerU content_list_v2, PaddleOCR
PP-StructureV3) as the tools' own code writes them; HTML comments never unread text; a folder
with no form lists each file's reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from structurer.cli import app
from structurer.models import Cell
from structurer.read import read_grid, read_source

ROOT = Path(__file__).resolve().parents[1]
SHAPES = ROOT / "fixtures" / "ocr-shapes"
runner = CliRunner()


def rows_of(text: str) -> list[list[str]]:
    """Every table row's cell texts, through the layout reader the records of HTML tables come
    from."""
    grid = read_grid(text, layout="markdown")
    return [[c.text for c in row] for row in grid.rows]


def has_row(rows: list[list[str]], *cells: str) -> bool:
    return any(all(c in row for c in cells) for row in rows)


# --- real files, kept as found ---

REAL = {  # file -> (format, tables, one row's cells that must be read side by side)
    "docling-2.23.0/2305.03393v1-pg9.json": ("docling", 1, ("enc-layers", "dec-layers", "simple")),
    "mineru-0.10.6/test_rearch_report_content_list.json": ("mineru", 3, ("绝对涨幅(%)", "7.18")),
    "mineru-2.7.6/SVOLT-196Ah-3.2V-LiFePO4-Blade-Battery-Cell-SpecificationDatasheet_content_list.json": (
        "mineru", 12, ("术语Terms", "定义Definitions")),
    "marker-1.3.0/multicolcnn.json": ("marker", 4, ("AMDCN", "290.82")),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REAL))
def test_a_real_ocr_output_reads_with_its_tables_and_cells(name: str) -> None:
    fmt, tables, row = REAL[name]
    source = read_source(SHAPES / name)
    assert source.format == fmt
    assert source.text.count("<table>") == tables
    assert has_row(rows_of(source.text), *row)
    assert all(o.page for o in source.cells.values())  # every cell knows its page


def test_every_real_shape_folder_says_where_its_file_came_from() -> None:
    folders = [p for p in SHAPES.iterdir() if p.is_dir()]
    assert {f"{p.name}/{f.name}" for p in folders for f in p.glob("*.json")} == set(REAL)
    for folder in folders:
        origin = (folder / "ORIGIN.md").read_text(encoding="utf-8")
        assert "repository:" in origin and "commit:" in origin and "licence:" in origin


def test_docling_cref_children_are_read_as_ref_ones() -> None:
    data = json.loads((SHAPES / "docling-2.23.0/2305.03393v1-pg9.json").read_text())
    assert all("cref" in c for c in data["body"]["children"])  # the shape under test
    text = read_source(SHAPES / "docling-2.23.0/2305.03393v1-pg9.json").text
    assert "Optimized Table Tokenization for Table Structure Recognition" in text


def test_mineru_2_7_discarded_headers_and_footers_are_text_lines() -> None:
    name = next(n for n in REAL if n.startswith("mineru-2.7.6"))
    lines = read_source(SHAPES / name).text.splitlines()
    assert "第 1 页 共 20 页" in lines


# --- shapes with no real file in the tools' repositories ---


def _spans(text: str) -> list[dict]:
    return [{"type": "text", "content": text}]


def test_mineru_v2_lists_footnotes_asides_and_code_are_read(tmp_path: Path) -> None:
    """content_list_v2 as MinerU 2.7's vlm_middle_json_mkcontent.make_blocks_to_content_list_v2
    writes it: before, these blocks were dropped silently."""
    page = [
        {"type": "title", "content": {"title_content": _spans("财政项目支出绩效目标申报表"), "level": 1}},
        {"type": "list", "content": {"list_type": "text_list", "list_items": [
            {"item_type": "text", "item_content": _spans("一、项目名称：测试项目")},
            {"item_type": "text", "item_content": _spans("二、主管部门：测试局")}]}},
        {"type": "page_footnote", "content": {"page_footnote_content": _spans("注：金额单位万元")}},
        {"type": "page_aside_text", "content": {"page_aside_text_content": _spans("附件3")}},
        {"type": "code", "content": {"code_caption": _spans("算法1"), "code_content": _spans("x = 1"),
                                     "code_language": "python"}},
        {"type": "table", "content": {"html": "<table><tr><td>项目名称</td><td>测试项目</td></tr></table>",
                                      "table_caption": [], "table_footnote": []}},
    ]  # fmt: skip
    path = tmp_path / "doc_content_list_v2.json"
    path.write_text(json.dumps([page], ensure_ascii=False), encoding="utf-8")
    lines = read_source(path).text.splitlines()
    for text in (
        "一、项目名称：测试项目",
        "二、主管部门：测试局",
        "注：金额单位万元",
        "附件3",
        "算法1",
        "x = 1",
    ):
        assert text in lines
    assert has_row(rows_of(read_source(path).text), "项目名称", "测试项目")


PADDLE_PAGE = {
    "input_path": "page.png", "page_index": None, "width": 1000, "height": 1400,
    "model_settings": {"use_table_recognition": True},
    "parsing_res_list": [
        {"block_label": "doc_title", "block_content": "财政项目支出绩效目标申报表",
         "block_bbox": [300, 40, 700, 80]},
        {"block_label": "table", "block_bbox": [50, 100, 950, 900],
         "block_content": '<html><body><table><tr><td>项目名称</td><td colspan="2">测试项目</td></tr>'
                          "<tr><td>主管部门</td><td>测试局</td><td>x</td></tr></table></body></html>"},
        {"block_label": "image", "block_content": "", "block_bbox": [0, 0, 10, 10]},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    "shape",
    [PADDLE_PAGE, {"res": PADDLE_PAGE}, [PADDLE_PAGE, PADDLE_PAGE],
     {"result": {"layoutParsingResults": [{"prunedResult": PADDLE_PAGE}]}}],
    ids=["res.json", "printed", "pages", "serving"],
)  # fmt: skip
def test_paddleocr_pp_structure_v3_results_are_read(shape: object, tmp_path: Path) -> None:
    """PP-StructureV3 `_res.json` as PaddleX's save_to_json writes it (parsing_res_list, HTML
    tables in block_content), also wrapped as printed, as pages, and as the serving API answers."""
    path = tmp_path / "page_res.json"
    path.write_text(json.dumps(shape, ensure_ascii=False), encoding="utf-8")
    source = read_source(path)
    assert source.format == "paddleocr"
    assert source.text.splitlines()[0] == "财政项目支出绩效目标申报表"
    assert has_row(rows_of(source.text), "主管部门", "测试局")
    line = next(n for n, o in source.lines.items() if o.bbox)
    assert source.lines[line].bbox == (0.3, round(40 / 1400, 4), 0.7, round(80 / 1400, 4))


# --- HTML comments, and a folder with no form ---


def test_a_trailing_html_comment_never_gives_the_last_form_unread_text(tmp_path: Path) -> None:
    seed = (ROOT / "fixtures/shanghai-2024/source.md").read_text(encoding="utf-8")
    for comment in ("<!-- image -->", "<!-- 1 -->"):
        doc = tmp_path / "doc.md"
        doc.write_text(seed + comment + "\n", encoding="utf-8")  # right under the last table
        out = tmp_path / "out.jsonl"
        result = runner.invoke(app, ["extract", str(doc), "-o", str(out)])
        assert result.exit_code in (0, 1), result.output
        last = json.loads(out.read_text(encoding="utf-8").splitlines()[-1])
        assert "extract.unread" not in [f["code"] for f in last["findings"]], comment


def test_an_html_comment_leaves_no_cell_text() -> None:
    grid = read_grid("| 项目名称 | 测试<!-- 1 -->项目 |\n<!-- image -->", layout="markdown")
    texts = [c.text for row in grid.rows for c in row if isinstance(c, Cell)]
    assert "测试项目" in texts and not any("<!--" in t or "image" in t for t in texts)


def test_a_folder_with_no_form_lists_each_files_reason(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("一份没有申报表的文件\n", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"hello": 1}', encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"")
    result = runner.invoke(app, ["extract", str(tmp_path), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("structurer: error: no document found among the inputs: ")
    for reason in ("a.md: no project", "b.json: a JSON file structurer does not know",
                   "c.txt: file is empty"):  # fmt: skip
        assert reason in error
