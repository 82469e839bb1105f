"""Spreadsheets (.xls through xlrd here, .xlsx in xlsx.py): governments publish performance-target
forms so.

A sheet is read top to bottom. A row of one cell in the sheet's first column that is neither
bordered nor part of a block merged downwards (a title, a year line, a document heading) becomes
a text line, so the chunker sees titles as it does in markdown; the other rows become table rows,
with merged ranges as spans. A blank row or such a line ends a table. One sheet may hold many forms one after another,
or each sheet one form: sheets are read in order, hidden sheets skipped.

The merged ranges are indexed once per sheet, cut to the cells the sheet holds (a range over the
whole sheet covers nothing more), and the cells they cover are bounded (limits.MERGED_CELLS), so
reading is linear in the sheet.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Origin, SourceText
from .limits import MERGED_CELLS, SHEET_ROWS, XLS_BYTES, DamagedError, LimitError
from .tables import SourceBuilder, Table, TableCell

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the .xls (BIFF8) container


@dataclass
class Sheet:
    """A sheet as text: 0-based (row, col) -> shown text, merged ranges, bordered cells."""

    name: str
    texts: dict[tuple[int, int], str] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1 incl.
    bordered: set[tuple[int, int]] = field(default_factory=set)
    extent: tuple[int, int] | None = None  # last row and column holding a cell, text or not


class XlsFormat:
    name = "xls"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(_OLE2) and path.suffix.lower() != ".doc"

    def read(self, path: Path) -> SourceText:
        try:
            import xlrd
        except ImportError:
            raise InputError(
                str(path),
                "reading an .xls workbook needs xlrd: pip install 'structurer[xls]' "
                "(or save the workbook as .xlsx)",
            ) from None
        size = path.stat().st_size
        if size > XLS_BYTES:
            raise LimitError(
                str(path), f"an .xls of {size:,} bytes (at most {XLS_BYTES:,} are read)"
            )
        noise = io.StringIO()  # xlrd writes its warnings to a log file, by default stdout
        try:
            book = xlrd.open_workbook(
                str(path), formatting_info=True, ragged_rows=True, logfile=noise
            )
        except (xlrd.XLRDError, OSError, ValueError, AssertionError, KeyError) as exc:
            raise DamagedError(str(path), f"not a readable .xls workbook ({exc})") from None
        with book:
            sheets = [_xlrd_sheet(book, s, path) for s in book.sheets() if s.visibility == 0]
        return read_sheets(sheets, self.name)


# --- sheet -> lines and tables ---------------------------------------------------------------


def read_sheets(sheets: list[Sheet], format_name: str) -> SourceText:
    builder = SourceBuilder()
    for sheet in sheets:
        _read_sheet(_Merges(sheet), builder)
    return builder.build(format_name)


class _Merges:
    """A sheet's merged ranges indexed once: each anchor's spans, the cells covered, the rows
    inside a block merged downwards, and the cells (text or merge anchor) of each row."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        merges = _clamped(sheet)
        self.spans = {(m[0], m[1]): (m[2] - m[0] + 1, m[3] - m[1] + 1) for m in merges}
        self.covered = {p for m in merges for p in _cells_of(m) if p != (m[0], m[1])}
        self.down = {r for m in merges if m[2] > m[0] for r in range(m[0], m[2] + 1)}
        self.row_cells: dict[int, list[int]] = {}
        for r, c in sorted(sheet.texts.keys() | self.spans.keys()):
            if (r, c) not in self.covered:
                self.row_cells.setdefault(r, []).append(c)


def _clamped(sheet: Sheet) -> list[tuple[int, int, int, int]]:
    """The merged ranges cut to the sheet's extent (a range past the last cell covers nothing);
    LimitError when they still cover more than limits.MERGED_CELLS cells."""
    if not sheet.merges:
        return []
    last_row, last_col = sheet.extent or (
        max((r for r, _ in sheet.texts), default=0),
        max((c for _, c in sheet.texts), default=0),
    )
    out = [
        (r0, c0, min(r1, last_row), min(c1, last_col))
        for r0, c0, r1, c1 in sheet.merges
        if r0 <= last_row and c0 <= last_col and r0 <= r1 and c0 <= c1
    ]
    area = sum((r1 - r0 + 1) * (c1 - c0 + 1) for r0, c0, r1, c1 in out)
    if area > MERGED_CELLS:
        raise LimitError(
            "", f"sheet {sheet.name!r}: merged ranges cover {area:,} cells "
            f"(at most {MERGED_CELLS:,} are read)"
        )  # fmt: skip
    return out


def _read_sheet(merges: _Merges, builder: SourceBuilder) -> None:
    sheet = merges.sheet
    by_row: dict[int, list[int]] = {}
    for r, c in sorted(p for p, t in sheet.texts.items() if t and p not in merges.covered):
        by_row.setdefault(r, []).append(c)
    left = min((c for cols in by_row.values() for c in cols), default=0)
    block: list[int] = []
    for r, filled in sorted(by_row.items()):
        if block and r != block[-1] + 1:  # a blank row between: the table ends
            _flush(merges, block, builder)
            block = []
        if not _is_line(sheet, r, filled, left=left, down=merges.down):
            block.append(r)
            continue
        _flush(merges, block, builder)
        block = []
        builder.text(sheet.texts[(r, filled[0])], Origin(sheet=sheet.name, row=r + 1))
    _flush(merges, block, builder)


def _is_line(sheet: Sheet, r: int, filled: list[int], *, left: int, down: set[int]) -> bool:
    """A title, year line or heading: one cell, in the sheet's first column, neither bordered nor
    part of a block merged downwards. A lone cell further right (a goal under its column in a
    sheet without borders) is a table row."""
    return (
        len(filled) == 1
        and filled[0] == left
        and r not in down
        and (r, filled[0]) not in sheet.bordered
    )


def _flush(merges: _Merges, rows: list[int], builder: SourceBuilder) -> None:
    if not rows:
        return
    sheet, first, end = merges.sheet, rows[0], rows[-1]
    anchors = [(r, c) for r in range(first, end + 1) for c in merges.row_cells.get(r, ())]
    if not anchors:
        return
    left = min(c for _, c in anchors)
    cells = []
    for r, c in anchors:
        rowspan, colspan = merges.spans.get((r, c), (1, 1))
        text = sheet.texts.get((r, c), "")
        origin = Origin(sheet=sheet.name, row=r + 1)
        cells.append(
            TableCell(r - first, c - left, text, min(rowspan, end - r + 1), colspan, origin)
        )
    builder.table(Table(cells, Origin(sheet=sheet.name, row=first + 1)))


def _cells_of(m: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    return [(r, c) for r in range(m[0], m[2] + 1) for c in range(m[1], m[3] + 1)]


# --- cell values as the sheet shows them -----------------------------------------------------


def shown(value: Any, number_format: str | None) -> str:
    """A cell's value as the sheet displays it: `5900000` under `#,##0.00` -> `5,900,000.00`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return _number(float(value), number_format or "General")
    return "\n".join(line.strip() for line in str(value).splitlines()).strip()


def _number(value: float, fmt: str) -> str:
    fmt = fmt.split(";")[0]
    if fmt.lower() == "general" or "0" not in fmt:
        return format(value, ".15g")
    decimals = re.search(r"\.(0+)", fmt)
    places = len(decimals.group(1)) if decimals else 0
    if "%" in fmt:
        return f"{value * 100:.{places}f}%"
    return f"{value:{',' if ',' in fmt else ''}.{places}f}"


def _xlrd_sheet(book: Any, ws: Any, path: Path) -> Sheet:
    import xlrd

    sheet = Sheet(ws.name, extent=(ws.nrows - 1, ws.ncols - 1))
    if ws.nrows > SHEET_ROWS:
        raise LimitError(str(path), f"sheet {ws.name!r} has over {SHEET_ROWS:,} rows")
    for rlo, rhi, clo, chi in ws.merged_cells:
        sheet.merges.append((rlo, clo, rhi - 1, chi - 1))
    for r in range(ws.nrows):
        for c in range(ws.row_len(r)):
            cell = ws.cell(r, c)
            xf = book.xf_list[cell.xf_index]
            value: Any = cell.value
            if cell.ctype == xlrd.XL_CELL_DATE:
                value = xlrd.xldate_as_datetime(cell.value, book.datemode)
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                value = None
            fmt = book.format_map.get(xf.format_key)
            text = shown(value, fmt.format_str if fmt else None)
            if text:
                sheet.texts[(r, c)] = text
            line = xf.border
            if any((line.left_line_style, line.right_line_style, line.top_line_style)):
                sheet.bordered.add((r, c))
    return sheet
