"""Editable field paths of a record, and values as typed -> as stored.

A path is a header or goal field, `year`, `funding.<amount or unit>` or `indicators[i].<level1 |
level2 | name | target>`; anything else is refused. Amounts are stored as decimal strings, dates
in ISO, a target with its operator, number and unit parsed from it (never typed by hand).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from ..models import AMOUNT_FIELDS, GOAL_FIELDS, HEADER_FIELDS, FormRecord, Indicator
from ..read.values import amount_value, parse_amount, parse_date, parse_target
from .log import CorrectionsError

INDICATOR_FIELDS = ("level1", "level2", "name", "target")
_TOP = "|".join((*HEADER_FIELDS, *GOAL_FIELDS, "year"))
_FUND = "|".join(("unit", *AMOUNT_FIELDS))
_PATH = re.compile(
    rf"^(?:(?P<top>{_TOP})|funding\.(?P<fund>{_FUND})"
    rf"|indicators\[(?P<i>\d{{1,4}})\]\.(?P<ind>{'|'.join(INDICATOR_FIELDS)}))$"
)


# --- field paths and values ---


def check_path(path: str) -> re.Match[str]:
    m = _PATH.match(path)
    if not m:
        raise CorrectionsError(f"not an editable field: {path!r}")
    return m


def get_value(record: FormRecord, path: str) -> Any:
    m = check_path(path)
    if m["top"]:
        return getattr(record, m["top"])
    if m["fund"]:
        return getattr(record.funding, m["fund"])
    i = int(m["i"])
    if i >= len(record.indicators):
        raise CorrectionsError(f"{path}: the form has {len(record.indicators)} indicators")
    return getattr(record.indicators[i], m["ind"])


def set_value(record: FormRecord, path: str, value: Any) -> None:
    """Set a field; a target also sets its op/value/unit (parsed, never typed by hand)."""
    m = check_path(path)
    if m["top"]:
        setattr(record, m["top"], value)
    elif m["fund"]:
        setattr(record.funding, m["fund"], value)
    else:
        get_value(record, path)  # range check
        ind = record.indicators[int(m["i"])]
        if m["ind"] == "target":
            t = parse_target(value)
            ind.target, ind.op, ind.value, ind.unit = t.target, t.op, t.value, t.unit
        else:
            setattr(ind, m["ind"], value)


def normalize(path: str, raw: Any) -> Any:
    """A value as typed -> as stored: amounts as decimal strings, ISO dates, '' -> None."""
    m = check_path(path)
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if m["top"] == "year":
        if not text.isdigit() or len(text) != 4:
            raise CorrectionsError(f"{path}: not a year: {text!r}")
        return int(text)
    if m["fund"] and m["fund"] != "unit":
        try:
            return parse_amount(text)[0]
        except ValueError:
            raise CorrectionsError(f"{path}: not an amount: {text!r}") from None
    if m["top"] in ("start_date", "end_date"):
        return parse_date(text)
    if m["ind"] == "target":
        return parse_target(text).target
    return text


def same_value(path: str, a: Any, b: Any) -> bool:
    """Equal as the field means it: '' is None, amounts compare as numbers."""
    a = None if a == "" else a
    b = None if b == "" else b
    if a is None or b is None:
        return a is b
    if path.startswith("funding.") and path != "funding.unit":
        va, vb = amount_value(str(a)), amount_value(str(b))
        if va is not None and vb is not None:
            return va == vb
    return str(a) == str(b)


def as_indicator(data: Any) -> Indicator:
    try:
        ind = Indicator.model_validate(data or {})
    except ValidationError as exc:
        raise CorrectionsError(f"not an indicator: {exc.errors()[0]['msg']}") from None
    t = parse_target(ind.target)
    ind.target, ind.op, ind.value, ind.unit = t.target, t.op, t.value, t.unit
    return ind


def same_indicator(a: Indicator, data: Any) -> bool:
    b = as_indicator(data)
    return all(getattr(a, f) == getattr(b, f) for f in INDICATOR_FIELDS)
