""".xlsx through openpyxl, in one streaming pass per sheet.

openpyxl's read-only mode streams a sheet's rows but pads every row to the sheet's stated width
and skips the merged ranges; its normal mode reads merges by creating an object for every cell
they cover (a range over the whole sheet took 3.5 GB). So each sheet is read by openpyxl's own
sheet parser (the one both modes use) straight from the zip: the cells the file holds, each with
its value, its formula's last computed value and its style, then the merged ranges at the end of
the same pass. Number formats and borders come from the workbook's style table through
openpyxl's ReadOnlyCell, once per style.

Before anything is parsed, the zip directory's sizes are checked against the limits; rows are
counted as they stream (limits.SHEET_ROWS).
"""

from __future__ import annotations

import functools
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...models import SourceText
from .limits import (
    CELL_CHARS,
    SHEET_ROWS,
    XLSX_PART_BYTES,
    XLSX_XML_BYTES,
    DamagedError,
    LimitError,
)
from .spreadsheet import Sheet, read_sheets, shown


class XlsxFormat:
    name = "xlsx"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(b"PK\x03\x04") and (
            path.suffix.lower() in (".xlsx", ".xlsm") or b"xl/" in head
        )

    def read(self, path: Path) -> SourceText:
        check_zip(path)
        # openpyxl warns of what it skips (styles, extensions): library noise, not the user's
        with path.open("rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = _open(fh, path)
            try:
                sheets = [
                    _sheet(book, ws, path) for ws in book.worksheets if ws.sheet_state == "visible"
                ]
            finally:
                book.close()
        return read_sheets(sheets, self.name)


def check_zip(path: Path) -> None:
    """The workbook's parts within the limits, as its zip directory states their sizes (zipfile
    never inflates a member past its stated size, so the statement binds)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise DamagedError(str(path), f"not a readable .xlsx workbook ({exc})") from None
    big = max(parts, key=lambda p: p.file_size, default=None)
    if big is not None and big.file_size > XLSX_PART_BYTES:
        raise LimitError(
            str(path), f"{big.filename} holds {big.file_size:,} bytes of XML "
            f"(at most {XLSX_PART_BYTES:,} per part are read): split the workbook"
        )  # fmt: skip
    total = sum(p.file_size for p in parts)
    if total > XLSX_XML_BYTES:
        raise LimitError(
            str(path), f"the workbook holds {total:,} bytes of XML "
            f"(at most {XLSX_XML_BYTES:,} are read): split the workbook"
        )  # fmt: skip


def _open(fh: Any, path: Path) -> Any:
    """openpyxl's read-only workbook (styles and shared strings), from a file object: openpyxl
    judges a path by its extension, the content is what counts (a download may be named
    anything)."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return openpyxl.load_workbook(fh, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise DamagedError(str(path), f"not a readable .xlsx workbook ({exc})") from None


def _sheet(book: Any, ws: Any, path: Path) -> Sheet:
    """One sheet: its cells' shown text, the bordered ones among them, its merged ranges."""
    sheet = Sheet(ws.title)
    styles = _Styles(ws)
    with ws._get_source() as source:
        parser = _parser_class()(
            source, ws._shared_strings, epoch=book.epoch, date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )  # fmt: skip
        last_row = last_col = 0
        for cell in _cells(parser, ws.title, path):
            last_row, last_col = max(last_row, cell["row"]), max(last_col, cell["column"])
            number_format, bordered = styles.of(cell["style_id"])
            value = cell["value"]
            if cell["data_type"] == "f" and cell.get("cached") is not None:
                value = cell["cached"]  # the value Excel last computed; else the formula
            text = shown(value, number_format)
            if not text:
                continue
            pos = (cell["row"] - 1, cell["column"] - 1)
            if len(text) > CELL_CHARS:
                raise LimitError(str(path), _too_long(ws.title, pos, len(text)))
            sheet.texts[pos] = text
            if bordered:
                sheet.bordered.add(pos)
        sheet.merges = _merges(parser)
    sheet.extent = (last_row - 1, last_col - 1)
    return sheet


def _cells(parser: Any, title: str, path: Path) -> Iterator[dict[str, Any]]:
    for count, (_, row) in enumerate(parser.parse(), 1):
        if count > SHEET_ROWS:
            raise LimitError(
                str(path), f"sheet {title!r} has more than the {SHEET_ROWS:,} rows read per sheet"
            )
        yield from row


def _too_long(title: str, pos: tuple[int, int], chars: int) -> str:
    from openpyxl.utils import get_column_letter

    where = f"{get_column_letter(pos[1] + 1)}{pos[0] + 1}"
    return f"cell {title}!{where} holds {chars:,} characters (Excel's own limit is {CELL_CHARS:,})"


def _merges(parser: Any) -> list[tuple[int, int, int, int]]:
    """The merged ranges the parser met after the rows, as 0-based (r0, c0, r1, c1)."""
    from openpyxl.utils.cell import range_boundaries

    out = []
    for merge in getattr(parser.merged_cells, "mergeCell", None) or []:
        try:
            c0, r0, c1, r1 = range_boundaries(merge.ref)
        except (TypeError, ValueError):
            continue  # a range openpyxl cannot read is no merge
        if None not in (c0, r0, c1, r1):
            out.append((r0 - 1, c0 - 1, r1 - 1, c1 - 1))
    return out


class _Styles:
    """style id -> (number format, bordered), asked of openpyxl's ReadOnlyCell once per style."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.known: dict[int, tuple[str, bool]] = {}

    def of(self, style_id: int) -> tuple[str, bool]:
        if style_id not in self.known:
            from openpyxl.cell.read_only import ReadOnlyCell

            cell = ReadOnlyCell(self.ws, 1, 1, None, "n", style_id)
            try:
                border = cell.border
                sides = (border.left, border.right, border.top, border.bottom)
                self.known[style_id] = (cell.number_format, any(s.style for s in sides))
            except (IndexError, AttributeError):  # a style the workbook does not define
                self.known[style_id] = ("General", False)
        return self.known[style_id]


@functools.cache
def _parser_class() -> type:
    from openpyxl.worksheet._reader import WorkSheetParser

    class Parser(WorkSheetParser):  # type: ignore[misc]
        """openpyxl's sheet parser, keeping a formula cell's saved value beside its formula (what
        a second, data_only pass over the file would read)."""

        def parse_cell(self, element: Any) -> dict[str, Any]:
            counter = self.col_counter
            cell = super().parse_cell(element)
            if cell["data_type"] == "f":
                after, self.col_counter, self.data_only = self.col_counter, counter, True
                try:
                    cell["cached"] = super().parse_cell(element)["value"]
                finally:
                    self.col_counter, self.data_only = after, False
            return cell

    return Parser
