"""What the structured formats (PDF, spreadsheets, OCR JSON) have in common: text blocks and
tables with merged cells, each remembering where it sits in the file.

`SourceBuilder` turns them into the lines an existing layout reader reads: a text block becomes
its own lines (titles and year lines stay lines, so the chunker finds the forms), a table becomes
an HTML `<table>` with one `<tr>` per line and the real rowspans/colspans (the markdown layout
reads HTML merges as what they are). It records each line's and each cell's origin under the
line and the grid column the layout reader will give that cell.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ...models import Origin, SourceText
from ..layouts.markdown import SPAN_CELLS_FLOOR, SPAN_CELLS_PER_CELL, _clamp_spans
from .limits import LimitError

Box = tuple[float, float, float, float]

# A table's grid (rows x columns, covered or not) may hold this many positions per cell the file
# states, or this many in all, whichever is more: every position becomes an HTML cell, so offsets
# far beyond the cells (a Docling cell at row 100000) would allocate without end.
GRID_POSITIONS_PER_CELL = 1 + SPAN_CELLS_PER_CELL
GRID_POSITIONS_FLOOR = 10_000


@dataclass(slots=True)
class TableCell:
    """One cell of a table as the file states it: its top-left grid position and its spans."""

    row: int
    col: int
    text: str  # paragraphs inside the cell separated by "\n"
    rowspan: int = 1
    colspan: int = 1
    origin: Origin | None = None  # the cell's own place (page + box, or sheet + row)


@dataclass(slots=True)
class Table:
    cells: list[TableCell]
    origin: Origin = field(default_factory=Origin)  # the whole table's place


def fraction_box(box: Sequence[float], width: float, height: float) -> Box | None:
    """A box in page units -> fractions of the page (rounded: 4 digits is 0.1 mm on A4)."""
    if not (0 < width < math.inf and 0 < height < math.inf) or len(box) != 4:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError, OverflowError):
        return None
    if not all(map(math.isfinite, (x0, y0, x1, y1))):
        return None
    return (
        round(x0 / width, 4),
        round(y0 / height, 4),
        round(x1 / width, 4),
        round(y1 / height, 4),
    )


# The line standing for a page left out (over a reading limit), and how checks find it.
UNREAD_PAGE = "[page {page} not read: {reason}]"
UNREAD_LINE = re.compile(r"^\[page (\d+) not read: (.+)\]$", re.M)


class SourceBuilder:
    """Collects lines with their origins; `build` makes the SourceText."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line_origins: dict[int, Origin] = {}
        self.cell_origins: dict[tuple[int, int], Origin] = {}
        self.unread: list[str] = []

    def _add(self, line: str, origin: Origin | None) -> int:
        self.lines.append(line)
        number = len(self.lines)
        if origin is not None:
            self.line_origins[number] = origin
        return number

    def _gap(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def text(self, text: str, origin: Origin | None = None) -> None:
        """A paragraph (a title, a year line, a footer): each of its lines, then a blank line."""
        parts = [p.strip() for p in text.splitlines() if p.strip()]
        if not parts:
            return
        self._gap()
        for part in parts:
            self._add(part, origin)

    def line(self, text: str, origin: Origin | None = None) -> None:
        """One line of running text (a PDF's text layer), no blank line before it."""
        if text.strip():
            if self.lines and self.lines[-1].startswith("</table"):
                self.lines.append("")
            self._add(text.strip(), origin)

    def table(self, table: Table) -> None:
        rows = _grid_rows(table.cells)
        if not rows:
            return
        self._gap()
        self._add("<table>", table.origin)
        for row in rows:
            number = len(self.lines) + 1
            for cell in row:
                if cell.origin is not None:
                    self.cell_origins[(number, cell.col)] = cell.origin
            self._add("<tr>" + "".join(map(_td, row)) + "</tr>", table.origin)
        self._add("</table>", table.origin)

    def unread_page(self, page: int, reason: str) -> None:
        """A page over a reading limit, left out: a line in its place says so, so the form it
        falls in carries the doubt (checks.document.unread_pages), and the document lists it."""
        self.unread.append(f"page {page}: {reason}")
        self.text(UNREAD_PAGE.format(page=page, reason=reason), Origin(page=page))

    def build(self, format_name: str, encoding: str | None = None) -> SourceText:
        text = "\n".join(self.lines).strip("\n") + "\n"
        return SourceText(
            text=text,
            format=format_name,
            encoding=encoding,
            lines=self.line_origins,
            cells=self.cell_origins,
            unread=self.unread,
        )


def _td(cell: TableCell) -> str:
    spans = "".join(
        f' {name}="{n}"'
        for name, n in (("rowspan", cell.rowspan), ("colspan", cell.colspan))
        if n > 1
    )
    body = "<br>".join(html.escape(p, quote=False) for p in cell.text.split("\n"))
    return f"<td{spans}>{body}</td>"


def _grid_rows(cells: Sequence[TableCell]) -> list[list[TableCell]]:
    """The cells row by row in the order HTML needs them, with an empty cell in every position no
    cell covers, so the HTML reader's column of each cell is the file's own grid column. A span
    that runs into a position already taken is cut back (a broken table, read as far as sound);
    spans are clamped as the markdown reader clamps HTML spans (`_clamp_spans`), and a grid far
    larger than its cells is refused (LimitError) before it is built."""
    if not cells:
        return []
    limit = max(GRID_POSITIONS_FLOOR, GRID_POSITIONS_PER_CELL * len(cells))
    _check_grid(len(cells), max(c.row for c in cells) + 1, max(c.col for c in cells) + 1, limit)
    anchors = _anchored(cells)  # spans clamped: the starts' grid bounds them
    height = max(c.row + c.rowspan for c in anchors.values())
    width = max(c.col + c.colspan for c in anchors.values())
    _check_grid(len(cells), height, width, limit)
    taken = {p for c in anchors.values() for p in _area(c.row, c.col, c.rowspan, c.colspan)}
    rows: list[list[TableCell]] = []
    for r in range(height):
        row = []
        for c in range(width):
            if (r, c) in anchors:
                row.append(anchors[(r, c)])
            elif (r, c) not in taken:
                row.append(TableCell(r, c, ""))
        rows.append(row)
    return rows


def _check_grid(cells: int, height: int, width: int, limit: int) -> None:
    if height * width > limit:
        raise LimitError(
            "",
            f"a table of {cells} cells placed on a grid of {height} x {width} positions "
            f"(at most {limit:,} are read): its cell offsets or spans are damaged",
        )


def _anchored(cells: Sequence[TableCell]) -> dict[tuple[int, int], TableCell]:
    """Each cell at its position with its spans clamped and cut back to the positions still free;
    a cell at a position already covered is dropped."""
    taken: set[tuple[int, int]] = set()
    anchors: dict[tuple[int, int], TableCell] = {}
    last_row = max((c.row for c in cells), default=0)
    budget = max(SPAN_CELLS_FLOOR, SPAN_CELLS_PER_CELL * len(cells))
    for cell in sorted(cells, key=lambda c: (c.row, c.col)):
        if (cell.row, cell.col) in taken:
            continue
        spans = _clamp_spans(
            max(1, cell.rowspan), max(1, cell.colspan), last_row - cell.row, budget
        )
        cell.rowspan, cell.colspan = _fit(cell.row, cell.col, *spans, taken)
        budget -= cell.rowspan * cell.colspan - 1
        anchors[(cell.row, cell.col)] = cell
        taken.update(_area(cell.row, cell.col, cell.rowspan, cell.colspan))
    return anchors


def _area(row: int, col: int, rowspan: int, colspan: int) -> list[tuple[int, int]]:
    return [(r, c) for r in range(row, row + rowspan) for c in range(col, col + colspan)]


def _fit(
    row: int, col: int, rowspan: int, colspan: int, taken: set[tuple[int, int]]
) -> tuple[int, int]:
    """The spans cut back to the first position already taken: along the row, then down."""
    colspan = next((k for k in range(1, colspan) if (row, col + k) in taken), colspan)
    cols = range(col, col + colspan)
    rowspan = next(
        (k for k in range(1, rowspan) if any((row + k, c) in taken for c in cols)), rowspan
    )
    return rowspan, colspan


# --- an HTML table (MinerU's table_body) -> TableCells ---------------------------------------


class _CellsParser(HTMLParser):
    """Rows of (text, rowspan, colspan) from one HTML table; <br> and <p> end a paragraph."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[tuple[str, int, int]]] = []
        self._cell: list[str] | None = None
        self._spans = (1, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            a = dict(attrs)
            self._close_cell()
            self._cell, self._spans = [], (_span(a.get("rowspan")), _span(a.get("colspan")))
            if not self.rows:
                self.rows.append([])
        elif tag in ("br", "p") and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "tr", "table"):
            self._close_cell()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _close_cell(self) -> None:
        if self._cell is not None:
            text = "\n".join(p.strip() for p in "".join(self._cell).split("\n") if p.strip())
            self.rows[-1].append((text, *self._spans))
            self._cell = None


def _span(value: str | None) -> int:
    # int() refuses over 4,300 digits, and spans are clamped anyway
    digits = re.sub(r"\D", "", value or "")[:9]
    return max(1, int(digits)) if digits else 1


def html_table_cells(markup: str, origin: Origin | None = None) -> list[TableCell]:
    """The cells of an HTML table at their grid positions (the standard row/col span walk)."""
    parser = _CellsParser()
    parser.feed(markup)
    parser.close()
    parser._close_cell()
    taken: set[tuple[int, int]] = set()
    cells = []
    budget = max(SPAN_CELLS_FLOOR, SPAN_CELLS_PER_CELL * sum(map(len, parser.rows)))
    for r, row in enumerate(parser.rows):
        c = 0
        for text, *asked in row:
            while (r, c) in taken:
                c += 1
            rowspan, colspan = _clamp_spans(*asked, len(parser.rows) - r - 1, budget)
            budget -= rowspan * colspan - 1
            cells.append(TableCell(r, c, text, rowspan, colspan, origin))
            taken.update(_area(r, c, rowspan, colspan))
            c += colspan
    return cells
