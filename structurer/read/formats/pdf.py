"""Born-digital PDF (a text layer and ruled tables): most 部门预算 disclosures are generated so.

pdfplumber's table finder reads the ruling lines: each table's cells are rectangles, and the
distinct edges give the grid, so a merged cell's span is the number of grid lines it crosses.
Text outside the tables (titles, year lines, page numbers) becomes lines in reading order. Inside
a cell, wrapped lines are joined; a line that stops well short of the cell's right edge, or a
wider gap below it, ends a paragraph. Every cell keeps its page and box.

pdfplumber is the optional extra `structurer[pdf]`; it is imported only when a PDF is read. A PDF
without any text (a scan) is refused with the advice to run an OCR first, a password-locked one
with the advice to remove the password.

Each page is read within the limits (pdf_budget.py): its content streams' decoded size is checked
before pdfminer interprets them, glyphs and rulings are counted as they are drawn. Characters are
placed in table cells through an index of the table's grid, so a page costs cells + characters,
not cells x characters.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Origin, SourceText
from .limits import DamagedError, LimitError
from .pdf_budget import budgeted_layout, dense_grid
from .tables import Box, SourceBuilder, Table, TableCell, fraction_box

INSTALL_HINT = "reading a PDF needs the pdf extra: pip install 'structurer[pdf]'"
SCANNED = (
    "has no text layer (a scanned PDF): run an OCR first (MinerU or PaddleOCR) and give "
    "structurer its markdown or content_list.json"
)
EDGE_TOLERANCE = 2.0  # points: ruling lines closer than this are one grid line


class PdfFormat:
    name = "pdf"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b"%PDF-" in head[:1024]

    def read(self, path: Path) -> SourceText:
        try:
            import pdfplumber
        except ImportError:
            raise InputError(str(path), INSTALL_HINT) from None
        try:
            pdf = pdfplumber.open(path)
        except Exception as exc:  # pdfminer raises many types for a broken or locked file
            raise _refusal(path, exc) from None
        with pdf:
            builder = SourceBuilder()
            chars = 0
            for number, page in enumerate(pdf.pages, 1):
                try:
                    budgeted_layout(page, number, path)
                    chars += len(page.chars)
                    read_page(page, number, builder)
                except LimitError as over:  # that page only: the others are read
                    if number == len(pdf.pages) and len(builder.unread) == number - 1:
                        raise  # no page within the limits: the document is refused
                    page.flush_cache()
                    builder.unread_page(number, over.reason.removeprefix(f"page {number}: "))
        if chars == 0:
            raise InputError(str(path), SCANNED)
        return builder.build(self.name)


LOCKED = "is password-protected: remove the password (e.g. qpdf --decrypt) and give that file"


def _refusal(path: Path, exc: Exception) -> InputError:
    """pdfplumber wraps pdfminer's error: a wrong (here: no) password says so, in one line."""
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    if isinstance(cause, PDFPasswordIncorrect):
        return DamagedError(str(path), LOCKED)
    return DamagedError(str(path), f"not a readable PDF ({type(cause).__name__})")


def read_page(page: Any, number: int, builder: SourceBuilder) -> None:
    """One page's text lines and tables, top to bottom, into `builder`."""
    _check_rulings(page, number)
    grids = [_Grid(t) for t in page.find_tables() if len(t.cells) >= 2]
    grids = [g for g in grids if _ruled(page, g)]
    # a character in no cell (inside a table's outline or not) stays text: nothing is dropped
    outside = page.filter(
        lambda o: o.get("object_type") != "char" or not any(g.holds(o) for g in grids)
    )
    items: list[tuple[float, int, Any]] = [(g.table.bbox[1], 1, g) for g in grids]
    items += [(ln["top"], 0, ln) for ln in outside.extract_text_lines()]
    size = (float(page.width), float(page.height))
    for _, kind, item in sorted(items, key=lambda x: (x[0], x[1])):
        if kind:
            builder.table(page_table(page, item, number, size))
        else:
            box = fraction_box((item["x0"], item["top"], item["x1"], item["bottom"]), *size)
            builder.line(item["text"], Origin(page=number, bbox=box))


def _check_rulings(page: Any, number: int) -> None:
    """Refuse a page whose rulings cross more often than the table finder can search in time."""
    rows = len({round(e["top"]) for e in page.horizontal_edges})
    cols = len({round(e["x0"]) for e in page.vertical_edges})
    if found := dense_grid(rows, cols):
        raise LimitError("", f"page {number}: {found}")


class _Grid:
    """A found table with its grid lines and an index of its cells by grid slot: the cells whose
    box holds a point are looked up among the few cells around that point's slot."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.bbox = table.bbox  # pdfplumber computes it over every cell on each use
        self.xs = _edges([v for c in table.cells for v in (c[0], c[2])])
        self.ys = _edges([v for c in table.cells for v in (c[1], c[3])])
        self.slots: dict[tuple[int, int], list[int]] = {}
        self.spans: list[tuple[int, int, int, int]] = []  # each cell's c0, c1, r0, r1
        for k, box in enumerate(table.cells):
            span = (_nearest(self.xs, box[0]), _nearest(self.xs, box[2]),
                    _nearest(self.ys, box[1]), _nearest(self.ys, box[3]))  # fmt: skip
            self.spans.append(span)
            for r in range(span[2] - 1, max(span[3], span[2]) + 1):
                for c in range(span[0] - 1, max(span[1], span[0]) + 1):
                    self.slots.setdefault((r, c), []).append(k)

    def _slot(self, x: float, y: float) -> tuple[int, int]:
        return bisect_right(self.ys, y) - 1, bisect_right(self.xs, x) - 1

    def cells_at(self, obj: dict[str, Any]) -> list[int]:
        """The cells (in the finder's order) whose box holds the object's centre."""
        x, y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        cells = self.table.cells
        return [k for k in self.slots.get(self._slot(x, y), ()) if _within(x, y, cells[k])]

    def holds(self, obj: dict[str, Any]) -> bool:
        return _inside(obj, [self.bbox]) and bool(self.cells_at(obj))


def _within(x: float, y: float, box: Box) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _ruled(page: Any, grid: _Grid) -> bool:
    """A ruled table's lines never cross its text; boxes drawn behind running text (highlights,
    underlines) that the finder took for a table do: a character centred in one cell runs over
    that cell's edge. A space is not ink: one printed at a cell's end may run past its right
    ruling."""
    table = grid.table
    if len(grid.ys) < 3 and not _padded(page, table):
        return False
    for ch in page.chars:
        if not _inside(ch, [grid.bbox]):
            continue
        found = grid.cells_at(ch)
        cell = table.cells[found[0]] if found else None
        right = ch["x1"] if ch["text"].strip() else ch["x0"]
        if cell is not None and (ch["x0"] < cell[0] - 1 or right > cell[2] + 1):
            return False
    return True


def _padded(page: Any, table: Any) -> bool:
    """A one-row table is real when its row is taller than its text (cells have padding);
    boxes behind a line of running text are as tall as the text."""
    x0, top, x1, bottom = table.bbox
    heights = [
        ch["bottom"] - ch["top"]
        for ch in page.chars
        if x0 <= ch["x0"] and ch["x1"] <= x1 and top <= ch["top"] and ch["bottom"] <= bottom
    ]
    return bool(heights) and bottom - top >= 1.5 * max(heights)


def _inside(obj: dict[str, Any], boxes: Sequence[Box]) -> bool:
    x = (obj["x0"] + obj["x1"]) / 2
    y = (obj["top"] + obj["bottom"]) / 2
    return any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)


def page_table(page: Any, table: Any, number: int, size: tuple[float, float]) -> Table:
    """A pdfplumber table -> cells at grid positions, spans from the edges each cell crosses."""
    grid = table if isinstance(table, _Grid) else _Grid(table)
    table = grid.table
    chars_of: dict[int, list[int]] = {}  # cell -> its characters, in the page's order
    chars = [c for c in page.chars if _inside(c, [grid.bbox])]
    for n, ch in enumerate(chars):
        for k in grid.cells_at(ch):
            chars_of.setdefault(k, []).append(n)
    cells = []
    for k, (box, (c0, c1, r0, r1)) in enumerate(zip(table.cells, grid.spans, strict=True)):
        origin = Origin(page=number, bbox=fraction_box(box, *size))
        text = cell_text([chars[n] for n in chars_of.get(k, ())], box)
        cells.append(TableCell(r0, c0, text, max(1, r1 - r0), max(1, c1 - c0), origin))
    return Table(cells, Origin(page=number, bbox=fraction_box(grid.bbox, *size)))


def _edges(values: list[float]) -> list[float]:
    """Distinct grid lines: coordinates within EDGE_TOLERANCE of each other are one line."""
    edges: list[float] = []
    for v in sorted(values):
        if not edges or v - edges[-1] > EDGE_TOLERANCE:
            edges.append(v)
    return edges


def _nearest(edges: list[float], value: float) -> int:
    """The index of the grid line nearest `value` (the lower one on a tie)."""
    i = bisect_left(edges, value)
    if i == len(edges) or (i > 0 and value - edges[i - 1] <= edges[i] - value):
        return i - 1
    return i


def cell_text(chars: Sequence[dict[str, Any]], box: Box) -> str:
    """The text of the characters centred in one cell: wrapped lines joined, paragraphs
    separated by newlines."""
    lines = text_lines([c for c in chars if _inside(c, [box])])
    out = ""
    for i, line in enumerate(lines):
        if i:
            out += _separator(lines[i - 1], line, right=box[2])
        out += line["text"]
    return out.strip()


def text_lines(chars: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Characters -> lines top to bottom: a character whose middle lies within the current
    line's height joins it; within a line, a gap wider than X_GAP points is a space."""
    lines: list[list[dict[str, Any]]] = []
    for ch in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        middle = (ch["top"] + ch["bottom"]) / 2
        if lines and lines[-1][0]["top"] <= middle <= lines[-1][0]["bottom"]:
            lines[-1].append(ch)
        else:
            lines.append([ch])
    return [_line(sorted(line, key=lambda c: c["x0"])) for line in lines]


X_GAP = 3.0  # pdfplumber's default x_tolerance: a wider gap between characters is a space


def _line(chars: list[dict[str, Any]]) -> dict[str, Any]:
    text = chars[0]["text"]
    for prev, ch in pairwise(chars):
        text += (" " if ch["x0"] - prev["x1"] > X_GAP else "") + ch["text"]
    return {
        "text": text,
        "x0": chars[0]["x0"],
        "x1": max(c["x1"] for c in chars),
        "top": min(c["top"] for c in chars),
        "bottom": max(c["bottom"] for c in chars),
    }


def _separator(prev: dict[str, Any], line: dict[str, Any], *, right: float) -> str:
    height = max(prev["bottom"] - prev["top"], 1.0)
    short = right - prev["x1"] > 2.5 * height  # stopped well before the edge: a paragraph end
    apart = line["top"] - prev["bottom"] > 0.6 * height  # a paragraph gap below it
    if short or apart:
        return "\n"
    latin = prev["text"][-1:].isascii() and prev["text"][-1:].isalpha()
    return " " if latin and line["text"][:1].isascii() and line["text"][:1].isalpha() else ""
