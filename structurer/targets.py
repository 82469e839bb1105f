"""Target values (年度指标值): clean the text, and split [op]number[unit] into op/value/unit."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from .clean import clean_text, to_halfwidth

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
