"""The header block: project name, nature, category, department, implementing unit and the
planned dates (or one period cell holding both)."""

from __future__ import annotations

import re

from ..models import Cell, FormRecord, Grid
from ..read.values import parse_date, split_code, strip_code
from ..vocab import Vocabulary, resolve
from .labels import RowScan, Trace, inline_value, scan_rows, text_below, value_right_of

_PERIOD_SPLIT = re.compile(r"\s*(?:至|到|—|–|~|～|-(?=\s*\d{4}))\s*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def header_field(text: str, vocab: Vocabulary) -> str | None:
    """The header field a label names, "period" for a cell holding both dates, else None."""
    return vocab.info(text).header


def read_header(
    rows: list[list[Cell]], record: FormRecord, trace: Trace, vocab: Vocabulary
) -> None:
    _read_labelled(rows, record, trace, vocab)
    if record.implementing_unit is None and (unit := _coded_unit_above(rows, vocab)):
        set_unit(record, "implementing_unit", unit, trace)


def set_unit(record: FormRecord, fld: str, cell: Cell, trace: Trace) -> None:
    """A department or unit: its name, and the budget code printed with it in its own field."""
    name, code = split_code(cell.text)
    setattr(record, fld, name)
    trace.ref(fld, cell)
    if code and getattr(record, f"{fld}_code") is None:
        setattr(record, f"{fld}_code", code)
        trace.ref(f"{fld}_code", cell)


_UNIT_NAME = re.compile(r"^[\u4e00-\u9fff（）()]{4,40}$")


def _coded_unit_above(rows: list[list[Cell]], vocab: Vocabulary) -> Cell | None:
    """A unit printed with its budget code above the form's first label and under no label
    (`207101<unit>`): the budget unit the form is for, which carries the project out."""
    for row in rows:
        if any(vocab.fields_of(c.text) for c in row if c.text):
            return None
        for c in row:
            bare = strip_code(c.text) if c.text else None
            if (
                bare
                and bare != c.text
                and _UNIT_NAME.fullmatch(bare)
                and not vocab.is_label(c.text)
            ):
                return c
    return None


def _read_labelled(
    rows: list[list[Cell]], record: FormRecord, trace: Trace, vocab: Vocabulary
) -> None:
    scans = scan_rows(rows)
    for r, row in enumerate(rows):
        for i, cell in enumerate(row):
            info = vocab.info(cell.text)
            fld = info.header
            value: str | None = None
            if fld:
                found = value_right_of(scans[r], i, vocab) or text_below(scans, r, cell.col, vocab)
                value = found.text if found else None
                src = found or cell
            elif (inline := inline_value(cell.text)) and (fld := header_field(inline[0], vocab)):
                value, src = inline[1], cell
            if fld == "period" and value:
                _set_period(record, value, src, trace, cell.text)
            elif fld in _UNITS and value and getattr(record, fld) is None:
                set_unit(record, fld, Cell(value, src.raw, src.line, src.col), trace)
            elif fld and value and getattr(record, fld) is None:
                setattr(record, fld, _value(fld, value))
                trace.ref(fld, src)
            elif fld is None and info.ignored:
                _keep_extra(record, cell, scans[r], i, trace, vocab)


# Fields whose value may carry a budget code that is not part of the name: the units' codes go
# to fields of their own (set_unit); a category's is dropped.
_UNITS = ("department", "implementing_unit")
_CODED = ("project_category",)


def _value(fld: str, text: str) -> str | None:
    if fld.endswith("_date"):
        return parse_date(text)
    return strip_code(text) if fld in _CODED else text


def _set_period(record: FormRecord, value: str, src: Cell, trace: Trace, label: str) -> None:
    """`<period label> | 2023年1月1日-2023年12月31日`: one cell holding both planned dates. Only full
    dates are taken; a month range (2023年1月-12月) is left for the reviewer, not guessed, and
    kept as printed in extra_fields (nothing printed is lost)."""
    trace.use(src)  # read, even when it holds months only: the dates stay empty on purpose
    parts = _PERIOD_SPLIT.split(value)
    dates = [parse_date(p) for p in parts] if len(parts) == 2 else []
    if len(dates) == 2 and all(d and _ISO_DATE.fullmatch(d) for d in dates):
        for fld, d in zip(("start_date", "end_date"), dates, strict=True):
            if getattr(record, fld) is None:
                setattr(record, fld, d)
                trace.ref(fld, src)
    else:
        _extra(record, label, value, src, trace)


def _keep_extra(
    record: FormRecord, label: Cell, row: RowScan, i: int, trace: Trace, vocab: Vocabulary
) -> None:
    """A label of something the record has no field for (项目属性, 项目负责人, 联系电话): its value
    right of it, kept as printed under the label."""
    value = value_right_of(row, i, vocab)
    if value is not None:
        _extra(record, label.text, value.text, value, trace)


def _extra(record: FormRecord, label: str, value: str, cell: Cell, trace: Trace) -> None:
    key = "".join(label.split()).strip(":：")
    if key and value and key not in record.extra_fields:
        record.extra_fields[key] = value
        trace.ref(f"extra_fields.{key}", cell)


def project_name_of(grid: Grid, vocab: Vocabulary | None = None) -> str | None:
    record = FormRecord(form_index=0)
    read_header(grid.rows, record, Trace(), resolve(vocab))
    return record.project_name
