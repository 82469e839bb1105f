"""Spreadsheets (.xlsx through openpyxl, .xls through xlrd): governments publish performance-target forms so.

A sheet is read top to bottom. A row of one cell in the sheet's first column that is neither
bordered nor part of a block merged downwards (a title, a year line, a document heading) becomes
a text line, so the chunker sees titles as it does in markdown; the other rows become table rows,
with merged ranges as spans. A blank row or such a line ends a table. One sheet may hold many forms one after another,
or each sheet one form: sheets are read in order, hidden sheets skipped.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Origin, SourceText
from .tables import SourceBuilder, Table, TableCell

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the .xls (BIFF8) container


@dataclass
class Sheet:
    """A sheet as text: 0-based (row, col) -> shown text, merged ranges, bordered cells."""

    name: str
    texts: dict[tuple[int, int], str] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1 incl.
    bordered: set[tuple[int, int]] = field(default_factory=set)


class XlsxFormat:
    name = "xlsx"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(b"PK\x03\x04") and (
            path.suffix.lower() in (".xlsx", ".xlsm") or b"xl/" in head
        )

    def read(self, path: Path) -> SourceText:
        import openpyxl  # a base dependency, loaded only when a workbook is read
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = _load(openpyxl, path, formulas=True)
            cached = _cached_values(openpyxl, path, book)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError,
                TypeError) as exc:  # fmt: skip
            raise InputError(str(path), f"not a readable .xlsx workbook ({exc})") from None
        sheets = [
            _openpyxl_sheet(ws, cached.get(ws.title, {}))
            for ws in book.worksheets
            if ws.sheet_state == "visible"
        ]
        return read_sheets(sheets, self.name)


def _load(openpyxl: Any, path: Path, *, formulas: bool) -> Any:
    """Open from a file object: openpyxl judges a path by its extension, the content is what
    counts (a download may be named anything)."""
    with path.open("rb") as fh:
        return openpyxl.load_workbook(fh, data_only=not formulas)


def _cached_values(openpyxl: Any, path: Path, book: Any) -> dict[str, dict[str, Any]]:
    """sheet -> cell -> the value Excel last computed, for the formula cells only (a second read
    of the file, needed only when there are formulas)."""
    formulas = {
        ws.title: [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
        for ws in book.worksheets
    }
    if not any(formulas.values()):
        return {}
    values = _load(openpyxl, path, formulas=False)
    return {name: {k: values[name][k].value for k in keys} for name, keys in formulas.items()}


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
        try:
            book = xlrd.open_workbook(str(path), formatting_info=True)
        except (xlrd.XLRDError, OSError, ValueError, AssertionError, KeyError) as exc:
            raise InputError(str(path), f"not a readable .xls workbook ({exc})") from None
        sheets = [_xlrd_sheet(book, s) for s in book.sheets() if s.visibility == 0]
        return read_sheets(sheets, self.name)


# --- sheet -> lines and tables ---------------------------------------------------------------


def read_sheets(sheets: list[Sheet], format_name: str) -> SourceText:
    builder = SourceBuilder()
    for sheet in sheets:
        _read_sheet(sheet, builder)
    return builder.build(format_name)


def _read_sheet(sheet: Sheet, builder: SourceBuilder) -> None:
    covered = {p for m in sheet.merges for p in _cells_of(m) if p != (m[0], m[1])}
    down = {r for m in sheet.merges if m[2] > m[0] for r in range(m[0], m[2] + 1)}
    by_row: dict[int, list[int]] = {}
    for r, c in sorted(p for p, t in sheet.texts.items() if t and p not in covered):
        by_row.setdefault(r, []).append(c)
    left = min((c for cols in by_row.values() for c in cols), default=0)
    block: list[int] = []
    for r in range(max(by_row, default=-1) + 2):  # one past the end flushes the last table
        filled = by_row.get(r, [])
        if filled and not _is_line(sheet, r, filled, left=left, down=down):
            block.append(r)
            continue
        _flush(sheet, block, builder)
        block = []
        if filled:
            text = sheet.texts[(r, filled[0])]
            builder.text(text, Origin(sheet=sheet.name, row=r + 1))


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


def _flush(sheet: Sheet, rows: list[int], builder: SourceBuilder) -> None:
    if not rows:
        return
    first, end = rows[0], rows[-1]
    spans = {(m[0], m[1]): (m[2] - m[0] + 1, m[3] - m[1] + 1) for m in sheet.merges}
    merged_away = {p for m in sheet.merges for p in _cells_of(m) if p != (m[0], m[1])}
    anchors = [
        (r, c)
        for (r, c) in sheet.texts.keys() | spans.keys()
        if first <= r <= end and (r, c) not in merged_away
    ]
    if not anchors:
        return
    left = min(c for _, c in anchors)
    cells = []
    for r, c in sorted(anchors):
        rowspan, colspan = spans.get((r, c), (1, 1))
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


def _openpyxl_sheet(ws: Any, cached: dict[str, Any]) -> Sheet:
    sheet = Sheet(ws.title)
    for m in ws.merged_cells.ranges:
        sheet.merges.append((m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1))
    for row in ws.iter_rows():
        for cell in row:
            if not hasattr(cell, "column"):  # a MergedCell carries no value of its own
                continue
            pos = (cell.row - 1, cell.column - 1)
            value = cell.value
            if cell.data_type == "f":  # the computed value; the formula as written if none is saved
                value = value if cached.get(cell.coordinate) is None else cached[cell.coordinate]
            text = shown(value, cell.number_format)
            if text:
                sheet.texts[pos] = text
            b = cell.border
            if b is not None and any(s.style for s in (b.left, b.right, b.top, b.bottom)):
                sheet.bordered.add(pos)
    return sheet


def _xlrd_sheet(book: Any, ws: Any) -> Sheet:
    import xlrd

    sheet = Sheet(ws.name)
    for rlo, rhi, clo, chi in ws.merged_cells:
        sheet.merges.append((rlo, clo, rhi - 1, chi - 1))
    for r in range(ws.nrows):
        for c in range(ws.ncols):
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
