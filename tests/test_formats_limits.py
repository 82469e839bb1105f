"""Every input format within its reading budget (issue 21, items 1-6, 11, 12, 16, 17): each of
the issue's reproductions (tests/bombs.py) is one clear line, never a traceback, never the
memory it asked for; one bad document never stops the others, and the run's exit status says
so; library noise stays off standard output; a file gone during a run is named."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import bombs
import pytest
from typer.testing import CliRunner

from structurer.cli import app
from structurer.errors import InputError
from structurer.read import read_source
from structurer.read.corpus import GONE, UnreadableError, find_inputs, iter_documents
from structurer.read.formats.limits import DamagedError, LimitError

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("structurer"))  # this environment's entry point
SEED = ROOT / "fixtures" / "shanghai-2024" / "source.md"
runner = CliRunner()

# maker -> what the one line says (a refusal), or None: read within the budget, nothing refused
CASES = {
    "deep_mineru": "JSON nested more than 64 levels deep",
    "deep_docling": "JSON nested more than 64 levels deep",
    "docling_offsets": "placed on a grid of 100001 x 100001 positions",
    "xlsx_huge_cell": "per part are read",
    "xlsx_million_rows": "per part are read",
    "pdf_glyphs": "page 1: over 1,048,576 bytes of content",
    "pdf_qq": "page 1: over 1,048,576 bytes of content",
    "pdf_grid": "page 1: a ruled grid of",
    "pdf_locked": "is password-protected",
    "pdf_many_glyphs": "page 1: draws over 60,000 characters",
    "pdf_many_paths": "page 1: draws over 6,000 lines and shapes",
    "pdf_form_repeated": "page 1: over 1,048,576 bytes of content",
}
MAKE = {
    "deep_mineru": bombs.deep_mineru,
    "deep_docling": bombs.deep_docling,
    "docling_offsets": lambda f: bombs.docling_spans(f)[2],
    "xlsx_huge_cell": lambda f: bombs.xlsx_huge_cell(f, 50),
    "xlsx_million_rows": bombs.xlsx_million_rows,
    "pdf_glyphs": bombs.pdf_glyphs,
    "pdf_qq": lambda f: bombs.pdf_qq(f, 30),
    "pdf_grid": lambda f: bombs.pdf_grid(f, 60),  # 100 x 100 is over the content budget first
    "pdf_locked": bombs.pdf_locked,
    "pdf_many_glyphs": bombs.pdf_many_glyphs,
    "pdf_many_paths": bombs.pdf_many_paths,
    "pdf_form_repeated": lambda f: bombs.pdf_form_repeated(f, 400),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_hostile_file_is_refused_in_one_line_naming_the_limit(kind: str, tmp_path: Path) -> None:
    path = MAKE[kind](tmp_path)
    with pytest.raises(InputError) as caught:
        read_source(path)
    assert isinstance(caught.value, LimitError | DamagedError)
    assert CASES[kind] in str(caught.value) and str(path) in str(caught.value)
    result = runner.invoke(app, ["extract", str(path), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.strip().count("\n") == 0 and "structurer: error:" in result.output


def test_a_pdf_page_over_a_limit_is_left_out_and_the_others_are_read(tmp_path: Path) -> None:
    """One page over a reading limit (a hostile one here; real budgets print pages of up to ~1 MB)
    never loses the document: the other pages are read, the document lists the page, and the
    form whose text runs into it carries a warning on its indicators."""
    pdfium = pytest.importorskip("pypdfium2")
    good = pdfium.PdfDocument(ROOT / "fixtures" / "real-fujian-2026-pdf" / "source.pdf")
    mixed = pdfium.PdfDocument.new()
    mixed.import_pages(good)  # one form over two pages
    mixed.import_pages(pdfium.PdfDocument(bombs.pdf_qq(tmp_path, 2)))
    mixed.import_pages(good)
    path = tmp_path / "mixed.pdf"
    mixed.save(path)
    out = tmp_path / "o.jsonl"
    result = runner.invoke(app, ["extract", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "page 3: over 1,048,576 bytes" in result.output  # the document's warning
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(records) == 2 and records[0]["project_name"] == records[1]["project_name"]
    warned = [[f for f in r["findings"] if f["code"] == "document.page_unread"] for r in records]
    assert [len(w) for w in warned] == [1, 0] and warned[0][0]["paths"] == ["indicators"]


@pytest.mark.parametrize("maker", ["docling_spans", "mineru_colspan", "xlsx_merge_bomb"])
def test_spans_and_merges_are_clamped_not_expanded(maker: str, tmp_path: Path) -> None:
    """A span of a billion columns, 1000 x 1000 spans in a MinerU table, a merged range to the
    sheet's last cell: read as far as the file's own cells reach (the .md path's clamp)."""
    made = getattr(bombs, maker)(tmp_path)
    for path in made if isinstance(made, list) else [made]:
        if "offsets" in path.name:
            continue  # the offsets are refused (above)
        text = read_source(path).text
        assert len(text) < 20_000, path.name


def test_mineru_and_markdown_clamp_a_span_bomb_alike(tmp_path: Path) -> None:
    """One clamp: the cells a MinerU table_body reaches are those the same HTML reaches in .md."""
    from structurer.read import read_grid

    body = "<table><tr>" + '<td rowspan="1000" colspan="1000">x</td>' * 5 + "</tr></table>"
    through_json = read_source(bombs.mineru_colspan(tmp_path, 5)).text
    md_width = len(read_grid(body, layout="markdown").rows[0])
    json_width = len(read_grid(through_json, layout="markdown").rows[0])
    assert json_width <= md_width


def test_merged_ranges_covering_too_many_cells_are_refused() -> None:
    from structurer.read.formats.spreadsheet import Sheet, read_sheets

    sheet = Sheet("表1", texts={(0, 0): "项目名称", (19_999, 25): "x"}, extent=(19_999, 25))
    sheet.merges = [(1, 0, 19_998, 25)]  # 520,000 cells, all within the sheet's cells
    with pytest.raises(LimitError, match="merged ranges cover 519,948 cells"):
        read_sheets([sheet], "xlsx")


def test_an_xls_over_its_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("structurer.read.formats.spreadsheet.XLS_BYTES", 1000)
    with pytest.raises(LimitError, match=r"at most 1,000 are read"):
        read_source(ROOT / "fixtures/gen-district-2026-xls/source.xls")


WRONG_TYPES = {  # the wrong-typed OCR JSON: each reads or is one line, never a traceback
    "mineru-page-size.json": {"pdf_info": [{"page_size": "ab", "para_blocks": [{"type": "text"}]}]},
    "mineru-para-blocks.json": {"pdf_info": [{"para_blocks": [5]}]},
    "mineru-type-list.json": [{"type": ["table"], "text": "x"}, {"type": "table", "table_body": 7}],
    "docling-pages.json": {"schema_name": "DoclingDocument", "body": {"children": []}, "pages": [1, 2]},
    "docling-ref.json": {"schema_name": "DoclingDocument", "body": {"children": [{"$ref": 5}]},
                         "texts": [{"text": "x"}]},
    "docling-cells.json": {"schema_name": "DoclingDocument", "texts": [],
                           "body": {"children": [{"$ref": "#/tables/0"}]},
                           "tables": [{"data": {"table_cells": [7, {"row_span": "x", "text": 3}]},
                                       "prov": [{"page_no": 1, "bbox": {"l": "a"}}]}]},
    "mineru-inf.json": [{"type": "text", "text": "x", "bbox": [1e400, 0, 1, 1], "page_idx": 1e400}],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(WRONG_TYPES))
def test_wrong_typed_ocr_json_is_read_or_one_line(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(WRONG_TYPES[name]).replace("Infinity", "1e400"), encoding="utf-8")
    try:
        source = read_source(path)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        assert "Infinity" not in json.dumps([o.bbox for o in source.lines.values()])


def test_one_bad_file_never_stops_a_folder_and_the_exit_status_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-good.md").write_bytes(SEED.read_bytes())
    bombs.deep_mineru(folder)
    bombs.pdf_qq(folder, 30)
    (folder / "truncated.xlsx").write_bytes(
        bombs.xlsx_merge_bomb(tmp_path).read_bytes()[:3000]  # a cut-off workbook
    )
    (folder / "z-good.md").write_bytes(SEED.read_bytes())
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", str(folder), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    documents = {json.loads(x)["source"]["document"] for x in out.read_text().splitlines()}
    assert documents == {"a-good.md", "z-good.md"}
    for name in ("deep.json", "qq-30mb.pdf", "truncated.xlsx"):
        assert any(name in ln and "skipped" in ln for ln in result.output.splitlines()), name


def test_xlrd_warnings_never_reach_standard_output(tmp_path: Path) -> None:
    padded = bombs.xls_padded(tmp_path, ROOT / "fixtures/gen-district-2026-xls/source.xls")
    done = subprocess.run(
        [CLI, "extract", str(padded), "-o", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    first = done.stdout.splitlines()[0]
    assert json.loads(first)["form_index"] == 1, first  # JSON Lines from the first line on


def test_a_file_gone_during_the_run_is_an_error_naming_it(tmp_path: Path) -> None:
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_bytes(SEED.read_bytes())
    corpus = find_inputs([tmp_path])
    (tmp_path / "b.md").unlink()  # after the walk, before it is read
    skipped: list[Exception] = []
    loaded = list(iter_documents(corpus, on_skip=lambda _item, exc: skipped.append(exc)))
    assert [d.name for d in loaded] == ["a.md"]
    assert isinstance(skipped[0], UnreadableError) and str(skipped[0]) == f"b.md: {GONE}"


def test_the_cli_exits_1_when_a_file_vanishes_mid_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import structurer.read.corpus as corpus_module

    for name in ("a.md", "b.md"):
        (tmp_path / name).write_bytes(SEED.read_bytes())
    walk = corpus_module.find_inputs

    def walk_then_delete(*args: object, **kwargs: object) -> object:
        found = walk(*args, **kwargs)
        (tmp_path / "b.md").unlink()
        return found

    monkeypatch.setattr(corpus_module, "find_inputs", walk_then_delete)
    result = runner.invoke(app, ["extract", str(tmp_path), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1 and f"b.md: {GONE}" in result.output


def _limited(limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


@pytest.mark.slow
def test_every_reproduction_stays_under_the_memory_budget(tmp_path: Path) -> None:
    """All of the issue's reproductions in one folder run, the process capped at 1.5 GB of
    address space (the interpreter and its libraries take ~0.6 GB of it): nothing runs out of
    memory, the good document is written (spans clamped, a few bombs read as forms), and the run
    ends with exit 1."""
    folder = tmp_path / "in"
    bombs.every_bomb(folder)
    (folder / "good.md").write_bytes(SEED.read_bytes())
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [CLI, "extract", str(folder), "-o", str(out), "-j", "1"],
        capture_output=True, text=True, check=False, timeout=120,
        preexec_fn=lambda: _limited(1536 << 20), env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "out of memory" not in done.stderr
    assert "good.md" in {json.loads(x)["source"]["document"] for x in out.read_text().splitlines()}
