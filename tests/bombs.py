"""Small hostile inputs of every format (issue 21's reproductions), written on demand: deep JSON,
span and offset bombs, a merged range over the whole sheet, huge cells, a million rows, ruled
grids, millions of glyphs, huge content streams, a password-locked PDF.

    .venv/bin/python tests/bombs.py /tmp/bombs      # writes every one of them into /tmp/bombs

Each maker writes one file into `folder` and returns its path. The PDFs are written by hand (a
few objects and an xref), so no PDF writer is needed.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

DEEP = 100_000

# --- OCR JSON ---


def deep_mineru(folder: Path) -> Path:
    path = folder / "deep.json"
    path.write_text('[{"type":"text","text":' + "[" * DEEP + "]" * DEEP + "}]")
    return path


def deep_docling(folder: Path) -> Path:
    path = folder / "deep-docling.json"
    path.write_text('{"schema_name":"DoclingDocument","body":{"children":[]},"texts":'
                    + "[" * DEEP + "]" * DEEP + "}")  # fmt: skip
    return path


def _docling_table(cell: dict) -> dict:
    return {
        "schema_name": "DoclingDocument",
        "body": {"children": [{"$ref": "#/tables/0"}]},
        "texts": [],
        "tables": [{"data": {"table_cells": [{"text": "项目名称", **cell}]}}],
    }


DOCLING_SPANS = {
    "docling-colspan.json": {"col_span": 1_000_000_000},
    "docling-spans.json": {"row_span": 100_000, "col_span": 100_000},
    "docling-offsets.json": {"start_row_offset_idx": 100_000, "start_col_offset_idx": 100_000},
}


def docling_spans(folder: Path) -> list[Path]:
    out = []
    for name, cell in DOCLING_SPANS.items():
        out.append(folder / name)
        out[-1].write_text(json.dumps(_docling_table(cell)))
    return out


def mineru_colspan(folder: Path, cells: int = 40) -> Path:
    body = "<table><tr>" + '<td rowspan="1000" colspan="1000">x</td>' * cells + "</tr></table>"
    path = folder / f"mineru-colspan-{cells}.json"
    path.write_text(json.dumps([{"type": "table", "table_body": body, "page_idx": 0}]))
    return path


# --- spreadsheets ---


def _workbook(rows: list[list[str]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rezip(data: bytes, path: Path, edit: Callable[[str, bytes], bytes | None]) -> Path:
    """A copy of the workbook `data` with each member passed through `edit` (None: unchanged)."""
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, edit(info.filename, body) or body, zipfile.ZIP_DEFLATED)
    return path


def xlsx_merge_bomb(folder: Path) -> Path:
    def edit(name: str, body: bytes) -> bytes | None:
        if name != "xl/worksheets/sheet1.xml":
            return None
        merge = b'<mergeCells count="1"><mergeCell ref="B2:XFD1048576"/></mergeCells>'
        return body.replace(b"</sheetData>", b"</sheetData>" + merge)

    return _rezip(_workbook([["项目名称", "x"], ["a", "b"]]), folder / "merge-bomb.xlsx", edit)


def xlsx_huge_cell(folder: Path, megabytes: int = 50) -> Path:
    def edit(name: str, body: bytes) -> bytes | None:
        return body.replace(b"HUGE", b"a" * (megabytes << 20)) if b"HUGE" in body else None

    return _rezip(_workbook([["HUGE"]]), folder / f"cell-{megabytes}mb.xlsx", edit)


def xlsx_million_rows(folder: Path, rows: int = 1_000_000) -> Path:
    def edit(name: str, body: bytes) -> bytes | None:
        if name != "xl/worksheets/sheet1.xml":
            return None
        data = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (r, r, r)
                        for r in range(1, rows + 1))  # fmt: skip
        head, rest = body.split(b"<sheetData>")
        tail = rest.split(b"</sheetData>")[1]
        return head + b"<sheetData>" + data + b"</sheetData>" + tail

    return _rezip(_workbook([["1"]]), folder / f"rows-{rows}.xlsx", edit)


def xls_padded(folder: Path, source: Path) -> Path:
    """A valid .xls with 100 zero bytes after it: xlrd warns about the file size."""
    path = folder / "pad.xls"
    path.write_bytes(source.read_bytes() + b"\0" * 100)
    return path


# --- PDF ---


def _pdf(
    content: bytes,
    *,
    extra: bytes = b"",
    trailer: bytes = b"",
    compress: bool = True,
    resources: bytes = b"",
) -> bytes:
    """One A4 page drawing `content` with Helvetica as /F1; `extra` is object 6."""
    stream = zlib.compress(content, 9) if compress else content
    filters = b"/Filter /FlateDecode " if compress else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> " + resources + b">> >>",
        b"<< " + filters + b"/Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if extra:
        objects.append(extra)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer + b">>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def pdf_grid(folder: Path, n: int) -> Path:
    """A ruled n x n grid filling the page, a character in every cell."""
    left, top, size = 20.0, 820.0, 555.0 / n
    ops = [b"0.5 w"]
    for k in range(n + 1):
        ops.append(
            b"%.2f %.2f m %.2f %.2f l S" % (left + k * size, top, left + k * size, top - n * size)
        )
        ops.append(
            b"%.2f %.2f m %.2f %.2f l S" % (left, top - k * size, left + n * size, top - k * size)
        )
    ops.append(b"BT /F1 4 Tf")
    for r in range(n):
        for c in range(n):
            x, y = left + c * size + 1, top - (r + 1) * size + 1
            ops.append(b"1 0 0 1 %.2f %.2f Tm (%d) Tj" % (x, y, (r + c) % 10))
    ops.append(b"ET")
    path = folder / f"grid-{n}.pdf"
    path.write_bytes(_pdf(b"\n".join(ops)))
    return path


def pdf_glyphs(folder: Path, glyphs: int = 2_000_000) -> Path:
    path = folder / f"glyphs-{glyphs}.pdf"
    path.write_bytes(_pdf(b"BT /F1 1 Tf 10 400 Td (" + b"A" * glyphs + b") Tj ET"))
    return path


def pdf_qq(folder: Path, megabytes: int = 30) -> Path:
    path = folder / f"qq-{megabytes}mb.pdf"
    path.write_bytes(_pdf(b"q Q\n" * (megabytes << 18)))
    return path


def pdf_many_glyphs(folder: Path, glyphs: int = 70_000) -> Path:
    """Glyphs past the glyph limit in a content stream within the byte limit: pdf_glyphs' text,
    fewer of them."""
    return pdf_glyphs(folder, glyphs)


def pdf_many_paths(folder: Path, paths: int = 7_000) -> Path:
    """Short diagonal strokes past the path limit (they rule no grid)."""
    path = folder / f"paths-{paths}.pdf"
    path.write_bytes(_pdf(b"".join(b"%d 100 m %d 110 l S\n" % (k % 500, k % 500 + 5)
                                   for k in range(paths))))  # fmt: skip
    return path


def pdf_form_repeated(folder: Path, times: int = 200) -> Path:
    """A 4 KB form XObject drawn `times` times: `times` x 4 KB of content from a few hundred bytes."""
    form = b"q Q\n" * 1024
    extra = b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Length %d >>\nstream\n" % len(
        form
    )
    path = folder / f"form-x{times}.pdf"
    path.write_bytes(
        _pdf(
            b"/X1 Do\n" * times,
            extra=extra + form + b"\nendstream",
            resources=b"/XObject << /X1 6 0 R >> ",
        )
    )
    return path


def pdf_locked(folder: Path) -> Path:
    """A PDF whose standard security handler wants a password (its /U matches no empty one)."""
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <" + b"ab" * 32 + b"> /U <" + b"cd" * 32
    encrypt += b"> /P -4 >>"
    trailer = b"/Encrypt 6 0 R /ID [<" + b"01" * 16 + b"> <" + b"01" * 16 + b">] "
    path = folder / "locked.pdf"
    path.write_bytes(_pdf(b"BT /F1 12 Tf 10 400 Td (x) Tj ET", extra=encrypt, trailer=trailer))
    return path


def every_bomb(folder: Path) -> list[Path]:
    """Every reproduction of issue 21 (items 1-6 and 17's locked PDF) written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        deep_mineru(folder), deep_docling(folder), *docling_spans(folder),
        mineru_colspan(folder, 40), mineru_colspan(folder, 5), xlsx_merge_bomb(folder),
        xlsx_huge_cell(folder, 50), xlsx_huge_cell(folder, 200), xlsx_million_rows(folder),
        pdf_grid(folder, 60), pdf_grid(folder, 100), pdf_glyphs(folder), pdf_qq(folder, 30),
        pdf_qq(folder, 300), pdf_locked(folder), pdf_many_glyphs(folder), pdf_many_paths(folder),
        pdf_form_repeated(folder),
    ]  # fmt: skip


if __name__ == "__main__":
    for p in every_bomb(Path(sys.argv[1])):
        print(f"{p.stat().st_size:>12,}  {p}")
