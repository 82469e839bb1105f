"""Header checks: required fields, valid and ordered dates, the unit against the title."""

from __future__ import annotations

import re
from datetime import date

from ..models import HEADER_FIELDS, Finding, FormRecord, Severity
from ..read.clean import squash
from .finding import finding

_TITLE_UNIT = re.compile(r"^(.+?)(?:\d{4}\s*年|项目|绩效|部门|预算)")


def check_header(record: FormRecord, *, title: str | None = None) -> list[Finding]:
    out = []
    for name in HEADER_FIELDS:
        if not getattr(record, name):
            severity: Severity = "error" if name == "project_name" else "warning"
            out.append(finding(severity, "header.missing_field", f"{name} is empty", [name]))
    start, end = _date(record, "start_date", out), _date(record, "end_date", out)
    if start and end and end < start:
        out.append(
            finding(
                "error",
                "header.end_before_start",
                f"end date {end} is before start date {start}",
                ["start_date", "end_date"],
                start=start,
                end=end,
            )
        )
    if start and end and record.year is not None and not start.year <= record.year <= end.year:
        out.append(
            finding(
                "warning",
                "header.year_outside_period",
                f"form year {record.year} is outside the planned period {start} – {end}",
                ["year", "start_date", "end_date"],
                year=record.year,
                start=start,
                end=end,
            )
        )
    out += _unit_vs_title(record, title)
    return out


def _date(record: FormRecord, name: str, out: list[Finding]) -> date | None:
    """The field as a date; an invalid one becomes a header.invalid_date error."""
    text = getattr(record, name)
    if not text:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    out.append(
        finding(
            "error",
            "header.invalid_date",
            f"{name} {text!r} is not a valid date",
            [name],
            value=text,
        )
    )
    return None


def _unit_vs_title(record: FormRecord, title: str | None) -> list[Finding]:
    unit = record.implementing_unit
    m = _TITLE_UNIT.match(squash(title)) if title else None
    if not unit or not m or squash(unit) in squash(title):
        return []
    named, mine = m.group(1), squash(unit)
    # A title naming a district or the department covers the units under it.
    if mine.startswith(named) or named == squash(record.department):
        return []
    return [
        finding(
            "info",
            "header.unit_differs_from_title",
            f"implementing unit {unit} differs from {named} named in the document title",
            ["implementing_unit"],
            implementing_unit=unit,
            title_unit=named,
        )
    ]
