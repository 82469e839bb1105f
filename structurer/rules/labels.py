"""Finding a label's value in the grid, and the trace of what the extractor learnt.

Everything is anchored on labels, never on positions: OCR shifts cells between columns, so a
label's value is the next non-empty, non-label cell to its right, wherever it landed; in layouts
with a row of labels over a row of values it is the cell below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import Cell, CellRef
from ..read.values import parse_amount
from ..vocab import Vocabulary


@dataclass
class Trace:
    """What the extractor learnt besides values: source cells, repairs, unreadable cells."""

    cells: dict[str, CellRef] = field(default_factory=dict)
    repairs: list[dict[str, str]] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    used: set[tuple[int, int]] = field(default_factory=set)  # (line, col) of every cell read

    def ref(self, path: str, cell: Cell) -> None:
        self.cells[path] = CellRef(line=cell.line, col=cell.col)
        self.use(cell)

    def use(self, cell: Cell) -> None:
        self.used.add((cell.line, cell.col))


@dataclass(frozen=True)
class RowScan:
    """One row with the look-ups a label needs, computed once per row: scanning right of every
    label (or along the next row for its column) made a row of n labels cost O(n²)."""

    cells: list[Cell]
    copies_end: list[int]  # [i]: the first index right of i whose text differs from cells[i]
    next_value: list[int]  # [j]: the first index >= j of a non-empty, non-merged cell, else len
    value_at: dict[int, Cell]  # column -> its first non-empty, non-merged cell

    @classmethod
    def of(cls, row: list[Cell]) -> RowScan:
        n = len(row)
        copies_end, next_value = [n] * n, [n] * (n + 1)
        for k in range(n - 1, -1, -1):
            same = k + 1 < n and row[k + 1].text == row[k].text
            copies_end[k] = copies_end[k + 1] if same else k + 1
            next_value[k] = k if row[k].text and not row[k].merged else next_value[k + 1]
        value_at: dict[int, Cell] = {}
        for cell in row:
            if cell.text and not cell.merged:
                value_at.setdefault(cell.col, cell)
        return cls(row, copies_end, next_value, value_at)


def scan_rows(rows: list[list[Cell]]) -> list[RowScan]:
    return [RowScan.of(row) for row in rows]


def value_right_of(
    row: RowScan, i: int, vocab: Vocabulary, *, skip_copies: bool = True
) -> Cell | None:
    """The value of the label at row[i]: the next non-empty cell to its right, unless a label.
    Copies of the label right beside it (one merged cell the OCR spread over columns) are
    stepped over."""
    k = row.next_value[row.copies_end[i] if skip_copies else i + 1]
    if k == len(row.cells):
        return None
    cell = row.cells[k]
    return None if vocab.is_label(cell.text) else cell


def is_copy(row: list[Cell], i: int) -> bool:
    """Whether row[i] repeats the cell just before it (one merged cell spread over two)."""
    return i > 0 and row[i - 1].text == row[i].text


_INLINE = re.compile(r"^\s*([^:：]{2,10})\s*[:：]\s*(.+)$", re.S)


def inline_value(text: str) -> tuple[str, str] | None:
    """`<label>：<value>` written in one cell -> (label, value)."""
    m = _INLINE.match(text)
    return (m.group(1), m.group(2).strip()) if m else None


def text_below(rows: list[RowScan], r: int, col: int, vocab: Vocabulary) -> Cell | None:
    """Layouts with a row of labels over a row of values: the cell right below, unless a label
    (in the usual layout a label without a value has another label below it)."""
    if r + 1 >= len(rows):
        return None
    below = rows[r + 1].value_at.get(col)
    return None if below is None or vocab.is_label(below.text) else below


def amount_below(rows: list[RowScan], r: int, col: int, vocab: Vocabulary) -> Cell | None:
    """Like `text_below`, for an amount: only a number counts."""
    below = text_below(rows, r, col, vocab)
    try:
        return below if below and parse_amount(below.text)[0] is not None else None
    except ValueError:
        return None
