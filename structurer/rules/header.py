"""The header block: project name, nature, category, department, implementing unit and the
planned dates (or one period cell holding both)."""

from __future__ import annotations

import re

from ..models import HEADER_FIELDS, Cell, FormRecord, Grid
from ..values import parse_date
from ..vocab import Vocabulary, resolve
from .labels import Trace, inline_value, text_below, value_right_of

_PERIOD_SPLIT = re.compile(r"\s*(?:至|到|—|–|~|～|-(?=\s*\d{4}))\s*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def header_field(text: str, vocab: Vocabulary) -> str | None:
    """The header field a label names, "period" for a cell holding both dates, else None."""
    if vocab.is_period(text):
        return "period"
    return next((f for f in vocab.fields_of(text) if f in HEADER_FIELDS), None)


def read_header(
    rows: list[list[Cell]], record: FormRecord, trace: Trace, vocab: Vocabulary
) -> None:
    for r, row in enumerate(rows):
        for i, cell in enumerate(row):
            fld = header_field(cell.text, vocab)
            value: str | None = None
            if fld:
                found = value_right_of(row, i, vocab) or text_below(rows, r, cell.col, vocab)
                value = found.text if found else None
                src = found or cell
            elif (inline := inline_value(cell.text)) and (fld := header_field(inline[0], vocab)):
                value, src = inline[1], cell
            if fld == "period" and value:
                _set_period(record, value, src, trace)
            elif fld and value and getattr(record, fld) is None:
                setattr(record, fld, parse_date(value) if fld.endswith("_date") else value)
                trace.ref(fld, src)


def _set_period(record: FormRecord, value: str, src: Cell, trace: Trace) -> None:
    """`<period label> | 2023年1月1日-2023年12月31日`: one cell holding both planned dates. Only full
    dates are taken; a month range (2023年1月-12月) is left for the reviewer, not guessed."""
    parts = _PERIOD_SPLIT.split(value)
    dates = [parse_date(p) for p in parts] if len(parts) == 2 else []
    if len(dates) == 2 and all(d and _ISO_DATE.fullmatch(d) for d in dates):
        for fld, d in zip(("start_date", "end_date"), dates, strict=True):
            if getattr(record, fld) is None:
                setattr(record, fld, d)
                trace.ref(fld, src)


def project_name_of(grid: Grid, vocab: Vocabulary | None = None) -> str | None:
    record = FormRecord(form_index=0)
    read_header(grid.rows, record, Trace(), resolve(vocab))
    return record.project_name
