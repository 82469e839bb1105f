"""Export records as two tables for analysts: forms (one row each) and indicators (one row each).

CSV is written as two UTF-8 files with a BOM (so Excel detects the encoding), or one table's file
(`table=`), or one table to a stream such as standard output (no BOM); JSONL is one table's rows
as JSON lines; XLSX one workbook with a sheet per table, amounts stored as numbers, each cell
addressed by its row number (time linear in the rows). Every file is written atomically.
`export_target` takes the format from the output's name or an explicit one.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import StructurerError
from ..io import atomic_write_bytes, atomic_write_files
from ..models import AMOUNT_FIELDS, CODE_FIELDS, HEADER_FIELDS, FormRecord
from ..read.values import amount_value

FORM_KEY = ("document", "form_index", "project_name")
FORM_COLUMNS = (
    *FORM_KEY,
    "year",
    *(f for f in HEADER_FIELDS if f not in FORM_KEY),
    *CODE_FIELDS,
    "funding_unit",
    *AMOUNT_FIELDS,
    "overall_goal",
    "annual_goal",
    "extra_fields",
    "indicators",
    "backend",
    "errors",
    "warnings",
    "info",
    "accepted",
)
INDICATOR_COLUMNS = (
    *FORM_KEY,
    "position",
    "level1",
    "level2",
    "name",
    "target",
    "op",
    "value",
    "unit",
)
_WIDE = {"project_name": 30, "overall_goal": 50, "annual_goal": 50, "name": 30, "target": 20}

Row = dict[str, Any]


def form_rows(records: Sequence[FormRecord]) -> list[Row]:
    rows = []
    for r in records:
        counts = Counter(f.severity if f.accepted is None else "accepted" for f in r.findings)
        row: Row = {
            "document": r.source.document if r.source else None,
            "form_index": r.form_index,
            "year": r.year,
            **{
                k: getattr(r, k)
                for k in FORM_COLUMNS
                if k in FormRecord.model_fields and k != "year"
            },
            "funding_unit": r.funding.unit,
            **{k: getattr(r.funding, k) for k in AMOUNT_FIELDS},
            "extra_fields": extra_text(r),
            "indicators": len(r.indicators),
            "errors": counts["error"],
            "warnings": counts["warning"],
            "info": counts["info"],
            "accepted": counts["accepted"],
        }
        rows.append({k: row.get(k) for k in FORM_COLUMNS})
    return rows


def extra_text(record: FormRecord) -> str | None:
    """The labelled values the record has no field for, as one JSON object (None when none)."""
    if not record.extra_fields:
        return None
    return json.dumps(record.extra_fields, ensure_ascii=False)


def indicator_rows(records: Sequence[FormRecord]) -> list[Row]:
    rows = []
    for r in records:
        key = {"document": r.source.document if r.source else None, "form_index": r.form_index}
        key["project_name"] = r.project_name
        for n, ind in enumerate(r.indicators, 1):
            rows.append({**key, "position": n, **ind.model_dump()})
    return [{k: row.get(k) for k in INDICATOR_COLUMNS} for row in rows]


def csv_paths(path: str | Path) -> tuple[Path, Path]:
    """Where the two CSV files go: into PATH when it is a directory (or ends with a slash),
    else beside it as STEM-forms.csv and STEM-indicators.csv."""
    p = Path(path)
    if p.is_dir() or str(path).endswith(("/", os.sep)):
        return p / "forms.csv", p / "indicators.csv"
    stem = p.name.removesuffix(".csv")
    return p.with_name(f"{stem}-forms.csv"), p.with_name(f"{stem}-indicators.csv")


def _csv_text(columns: Sequence[str], rows: list[Row], *, bom: bool = True) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in row.items()} for row in rows)
    return ("\ufeff" if bom else "") + buf.getvalue()


# Text a spreadsheet would run as a formula (OWASP, CSV injection): =100.00(%) is a target,
# =HYPERLINK(…) in a source would become a live link. Such a cell gets a leading ' so Excel and
# LibreOffice show it as text; a plain number (-5.00) is left as it is. The JSONL keeps the value.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return value if _PLAIN_NUMBER.fullmatch(value) else "'" + value
    return value


def export_csv(
    records: Sequence[FormRecord], path: str | Path, *, inputs: Iterable[str | Path] = ()
) -> list[Path]:
    """The two tables as a pair: both are written in full before either replaces its old file."""
    forms_path, indicators_path = csv_paths(path)
    files = {
        forms_path: _csv_text(FORM_COLUMNS, form_rows(records)).encode("utf-8"),
        indicators_path: _csv_text(INDICATOR_COLUMNS, indicator_rows(records)).encode("utf-8"),
    }
    atomic_write_files(files, inputs=inputs)
    return [forms_path, indicators_path]


def export_xlsx(
    records: Sequence[FormRecord], path: str | Path, *, inputs: Iterable[str | Path] = ()
) -> list[Path]:
    from openpyxl import Workbook  # imported here: only this export needs it

    wb = Workbook()  # in memory: write-only mode spools to temp files a failed write leaves open
    _fill_sheet(wb.active, "forms", FORM_COLUMNS, form_rows(records))
    _fill_sheet(wb.create_sheet(), "indicators", INDICATOR_COLUMNS, indicator_rows(records))
    target = Path(path)
    atomic_write_bytes(target, _saved(wb), inputs=inputs)
    return [target]


def _saved(wb: Any) -> bytes:
    """The workbook's bytes. openpyxl writes each sheet's XML through a temporary file: on a
    full disk its writer is left open inside the error's traceback and, when collected, prints
    a second error of its own at exit. It is collected here, quietly, once the traceback is
    gone, so the one-line error is the only one."""
    buf = io.BytesIO()
    error: OSError | None = None
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        try:
            wb.save(buf)
        except OSError as exc:
            error = OSError(exc.errno, exc.strerror, exc.filename)
        if error is not None:
            gc.collect()  # the writer, now unreferenced, closes here and not at exit
    finally:
        sys.unraisablehook = hook
    if error is not None:
        raise error
    return buf.getvalue()


def _fill_sheet(ws: Any, title: str, columns: Sequence[str], rows: list[Row]) -> None:
    """Header in bold, frozen; widths from the first rows; every cell addressed by its row and
    column number (`ws[ws.max_row]` scanned every cell so far: quadratic in rows)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws.title = title
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    for c, name in enumerate(columns, 1):
        ws.cell(row=1, column=c, value=name).font = bold
        ws.column_dimensions[get_column_letter(c)].width = _width(name, rows)
    for r, row in enumerate(rows, 2):
        for c, name in enumerate(columns, 1):
            cell = ws.cell(row=r, column=c, value=_excel_value(name, row[name]))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula: =100.00(%) is a target
            elif name in AMOUNT_FIELDS:
                cell.number_format = "#,##0.00"


def _excel_value(column: str, value: Any) -> Any:
    if column in AMOUNT_FIELDS and value is not None:
        number = amount_value(value)
        if number is not None:
            return number
    if isinstance(value, str):  # an unreadable amount stays text, like any other text
        return _XLSX_ILLEGAL.sub("\ufffd", value)
    return value


# XML 1.0, and so XLSX, cannot hold these; a record from an LLM or a hand edit may. Shown as �
# rather than dropped, so the reader sees something was there.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _width(column: str, rows: list[Row]) -> float:
    """Wide enough for the header and typical values (CJK counts double), capped."""
    longest = max((_display_len(r[column]) for r in rows[:200]), default=0)
    return min(max(_display_len(column), longest, 6) + 2, _WIDE.get(column, 24))


def _display_len(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, Decimal):
        value = f"{value:,.2f}"
    text = str(value).split("\n", 1)[0]
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


FORMATS = ("csv", "xlsx", "sqlite", "parquet", "jsonl")
SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".sqlite": "sqlite", ".sqlite3": "sqlite",
            ".db": "sqlite", ".parquet": "parquet", ".jsonl": "jsonl"}  # fmt: skip
ONE_TABLE = ("csv", "jsonl")  # the formats that can hold one table, and go to standard output
TABLES = {"forms": (FORM_COLUMNS, form_rows), "indicators": (INDICATOR_COLUMNS, indicator_rows)}


@dataclass(frozen=True)
class Target:
    """Where an export goes: `path` ("-" for standard output), its format, the one table."""

    path: str
    fmt: str
    table: str | None = None

    @property
    def to_stdout(self) -> bool:
        return self.path == "-"


def export_target(path: str | Path, fmt: str | None = None, table: str | None = None) -> Target:
    """The export `path` names: its format from `fmt` or the name's suffix (both given, they must
    agree); standard output ("-") for one table of CSV (the default) or JSONL. StructurerError
    for what cannot be written, before any record is read."""
    path = str(path)
    if fmt is not None and fmt not in FORMATS:
        raise StructurerError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if table is not None and table not in TABLES:
        raise StructurerError(f"unknown table {table!r}; choose from {', '.join(TABLES)}")
    if path == "-":
        return _stdout_target(fmt or "csv", table)
    if path.startswith("-"):
        raise StructurerError(f"{path}: an output name starting with '-' (write ./{path} if meant)")
    named = None if path.endswith(("/", os.sep)) else SUFFIXES.get(Path(path).suffix.lower())
    if fmt and named and fmt != named:
        raise StructurerError(f"{path}: the name says {named}, --format says {fmt}; drop one")
    chosen = fmt or named
    if chosen is None:
        raise StructurerError(
            f"{path}: cannot tell the format from the name; give --format "
            f"({', '.join(FORMATS)}) or a suffix ({', '.join(SUFFIXES)})"
        )
    if table and chosen not in ONE_TABLE:
        raise StructurerError(f"--table picks one table of csv or jsonl; {chosen} holds them all")
    return Target(path, chosen, table or ("forms" if chosen == "jsonl" else None))


def _stdout_target(fmt: str, table: str | None) -> Target:
    if fmt not in ONE_TABLE:
        raise StructurerError(
            f"{fmt} cannot be written to standard output; give a file name (-o FILE), or "
            "--format csv or jsonl for one table"
        )
    return Target("-", fmt, table or "forms")


def table_bytes(records: Sequence[FormRecord], fmt: str, table: str, *, bom: bool) -> bytes:
    """One table as CSV (with or without the BOM Excel needs) or JSON lines."""
    columns, rows_of = TABLES[table]
    rows = rows_of(records)
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
    else:
        text = _csv_text(columns, rows, bom=bom)
    return text.encode("utf-8")


def export_records(
    records: Sequence[FormRecord],
    path: str | Path,
    fmt: str,
    *,
    inputs: Iterable[str | Path] = (),
    table: str | None = None,
) -> list[Path]:
    """Write `records` as `fmt` (csv, xlsx, or one `table` as csv or jsonl) to the file `path`;
    returns the files written. An output that is one of `inputs` (the records file) is
    refused."""
    if table is not None or fmt == "jsonl":
        atomic_write_bytes(path, table_bytes(records, fmt, table or "forms", bom=True),
                           inputs=inputs)  # fmt: skip
        return [Path(path)]
    if fmt == "csv":
        return export_csv(records, path, inputs=inputs)
    if fmt == "xlsx":
        return export_xlsx(records, path, inputs=inputs)
    raise ValueError(f"unknown export format {fmt!r}")
