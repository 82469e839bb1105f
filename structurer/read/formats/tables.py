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
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ...models import Origin, SourceText

Box = tuple[float, float, float, float]


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
    if width <= 0 or height <= 0 or len(box) != 4:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return (
        round(x0 / width, 4),
        round(y0 / height, 4),
        round(x1 / width, 4),
        round(y1 / height, 4),
    )


class SourceBuilder:
    """Collects lines with their origins; `build` makes the SourceText."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line_origins: dict[int, Origin] = {}
        self.cell_origins: dict[tuple[int, int], Origin] = {}

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

    def build(self, format_name: str, encoding: str | None = None) -> SourceText:
        text = "\n".join(self.lines).strip("\n") + "\n"
        return SourceText(
            text=text,
            format=format_name,
            encoding=encoding,
            lines=self.line_origins,
            cells=self.cell_origins,
        )


def _td(cell: TableCell) -> str:
    spans = "".join(
        f' {name}="{n}"'
        for name, n in (("rowspan", cell.rowspan), ("colspan", cell.colspan))
        if n > 1
    )
    body = "<br>".join(html.escape(p, quote=False) for p in cell.text.split("\n"))
    return f"<td{spans}>{body}</td>"


def _grid_rows(cells: Iterable[TableCell]) -> list[list[TableCell]]:
    """The cells row by row in the order HTML needs them, with an empty cell in every position no
    cell covers, so the HTML reader's column of each cell is the file's own grid column. A span
    that runs into a position already taken is cut back (a broken table, read as far as sound)."""
    taken: set[tuple[int, int]] = set()
    anchors: dict[tuple[int, int], TableCell] = {}
    for cell in sorted(cells, key=lambda c: (c.row, c.col)):
        if (cell.row, cell.col) in taken:
            continue
        cell.rowspan, cell.colspan = _fit(cell, taken)
        anchors[(cell.row, cell.col)] = cell
        taken.update(_area(cell.row, cell.col, cell.rowspan, cell.colspan))
    if not anchors:
        return []
    height = max(r + 1 for r, _ in taken)
    width = max(c + 1 for _, c in taken)
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


def _area(row: int, col: int, rowspan: int, colspan: int) -> list[tuple[int, int]]:
    return [(r, c) for r in range(row, row + rowspan) for c in range(col, col + colspan)]


def _fit(cell: TableCell, taken: set[tuple[int, int]]) -> tuple[int, int]:
    rowspan, colspan = max(1, cell.rowspan), max(1, cell.colspan)
    while colspan > 1 and any(p in taken for p in _area(cell.row, cell.col, 1, colspan)):
        colspan -= 1
    while rowspan > 1 and any(p in taken for p in _area(cell.row, cell.col, rowspan, colspan)):
        rowspan -= 1
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
    digits = re.sub(r"\D", "", value or "")
    return max(1, min(int(digits), 1000)) if digits else 1


def html_table_cells(markup: str, origin: Origin | None = None) -> list[TableCell]:
    """The cells of an HTML table at their grid positions (the standard row/col span walk)."""
    parser = _CellsParser()
    parser.feed(markup)
    parser.close()
    parser._close_cell()
    taken: set[tuple[int, int]] = set()
    cells = []
    for r, row in enumerate(parser.rows):
        c = 0
        for text, rowspan, colspan in row:
            while (r, c) in taken:
                c += 1
            cells.append(TableCell(r, c, text, rowspan, colspan, origin))
            taken.update(_area(r, c, rowspan, colspan))
            c += colspan
    return cells
