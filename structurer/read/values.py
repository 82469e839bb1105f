"""What a cell's text means as a value: an amount, a date, or an indicator's target split into
op/value/unit. Text cleaning itself is `read.clean`; nothing here corrects a fact."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

from .read.clean import clean_text, to_halfwidth

# clean_target has already turned >=, <= (and => =<) into ≥ and ≤: one character is left.
_OPS = {"=": "=", "≥": "≥", "≤": "≤", ">": ">", "<": "<", "≧": "≥", "≦": "≤", "⩾": "≥", "⩽": "≤"}
_QUANT = re.compile(
    r"^(?P<op>[=≥≤><≧≦⩾⩽])?"
    r"(?P<value>\d+(?:\.\d+)?)"
    r"(?:\((?P<punit>[^()\d]{1,8})\)|(?P<unit>[^()\d.,，。;；、\s]{1,6}))?$"
)
_LETTER_O = re.compile(r"(?<=[\d.])[Oo]+|[Oo]+(?=[\d.])")


class Target(NamedTuple):
    target: str | None
    op: str | None
    value: str | None
    unit: str | None


def clean_target(text: str | None) -> str | None:
    """Cleaned target text: whitespace removed, LaTeX and full-width signs made plain."""
    if text is None:
        return None
    cleaned = to_halfwidth(clean_text(text), signs=True)
    cleaned = re.sub(r"\s+", "", cleaned)
    cleaned = re.sub(r">=|=>", "≥", re.sub(r"<=|=<", "≤", cleaned))
    return cleaned or None


@lru_cache(maxsize=65536)
def parse_target(text: str | None) -> Target:
    """Parse a raw or cleaned target cell. Qualitative targets keep op/value/unit None."""
    target = clean_target(text)
    if target is None:
        return Target(None, None, None, None)
    m = _QUANT.match(target)
    if not m and _LETTER_O.search(target):
        repaired = _LETTER_O.sub(lambda o: "0" * len(o.group(0)), target)
        if m := _QUANT.match(repaired):
            target = repaired  # a target that only parses with O read as 0 was an OCR slip
    if not m:
        return Target(target, None, None, None)
    op = _OPS[m["op"]] if m["op"] else None
    return Target(target, op, m["value"], m["punit"] or m["unit"])


_AMOUNT = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_AMOUNT_NOISE = re.compile(r"[\s,，'’_]|万?元$|¥|￥")
_AMOUNT_O = re.compile(r"[Oo](?=[\d.,Oo]*$)|(?<=[\d.,])[Oo]")


def parse_amount(raw: str | None) -> tuple[str | None, list[str]]:
    """A money cell -> (decimal string as written, repairs). (None, []) for an empty cell.

    Raises ValueError for a non-empty cell that is not a number, so the caller can flag it.
    """
    text = to_halfwidth(clean_text(raw), signs=True)
    text = _AMOUNT_NOISE.sub("", text)
    if not text:
        return None, []
    repairs: list[str] = []
    if _AMOUNT_O.search(text) and not _AMOUNT.match(text):
        fixed = _AMOUNT_O.sub("0", text)
        if _AMOUNT.match(fixed):
            repairs.append("letter O read as 0")
            text = fixed
    if not _AMOUNT.match(text):
        raise ValueError(f"not an amount: {raw!r}")
    return text.lstrip("+"), repairs


def amount_value(text: str | None) -> Decimal | None:
    """Decimal of a record's amount string, None when empty or unreadable."""
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def parse_date(raw: str | None) -> str | None:
    """`2026/1/1`, `2024-01-01`, `2024年1月1日` -> ISO `2026-01-01`; other text kept cleaned."""
    text = to_halfwidth(clean_text(raw), signs=True)
    if not text:
        return None
    m = _DATE.search(_AMOUNT_O.sub("0", text) if re.search(r"\d", text) else text)
    if not m:
        return text
    y, mo, d = (int(g) for g in m.groups())
    return f"{y:04d}-{mo:02d}-{d:02d}"
