"""What a cell's text means as a value: an amount, a date, or an indicator's target split into
op/value/unit. Text cleaning itself is `read.clean`; nothing here corrects a fact."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

from .clean import clean_text, to_halfwidth

# clean_target has already turned >=, <= (and => =<) into ≥ and ≤: one character is left.
_OPS = {"=": "=", "≥": "≥", "≤": "≤", ">": ">", "<": "<", "≧": "≥", "≦": "≤", "⩾": "≥", "⩽": "≤"}
_QUANT = re.compile(
    r"^(?P<op>[=≥≤><≧≦⩾⩽])?"
    r"(?P<value>\d+(?:\.\d+)?)"
    # a unit in brackets `(%)`, or bare, with a bracketed alternative after it: `台(套)`; a bare
    # unit never starts with letter O (`1OO(%)` is 100 with O read for 0, not 1 of `OO(%)`)
    r"(?:\((?P<punit>[^()\d]{1,8})\)|(?P<unit>[^()\d.,，。;；、\sOo][^()\d,，。;；、\s]{0,6}(?:\([^()\d]{1,4}\))?))?$"
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
    if not m or (m["unit"] and _DEADLINE.search(m["unit"])):  # the unit says when, not how much
        return Target(target, None, None, None)
    if m["unit"] and m["unit"].startswith("年") and _YEAR.fullmatch(m["value"]):
        return Target(target, None, None, None)  # `2021年全年`: a year, not 2021 of a unit
    op = _OPS[m["op"]] if m["op"] else None
    return Target(target, op, m["value"], m["punit"] or m["unit"])


# Words after a number that make it a deadline or a statement, not a quantity: `11月底之前`,
# `12月前`, `30天内`, `12月底到位`, `95%以上` (a text target: no operator or unit is invented).
_DEADLINE = re.compile(r"[前后内底]|到位|完成|以上|以下")
_YEAR = re.compile(r"(?:19|20)\d\d")


_AMOUNT = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_AMOUNT_MAX_CHARS = 64  # 10^60 of any currency unit: more is not an amount but damage
_AMOUNT_NOISE = re.compile(r"[\s,，'’_]|万?元$|万$|¥|￥")
# A number, its unit, then a remark in brackets: `854万(高标准农田400万元,…)` is 854 (万元).
_REMARKED = re.compile(r"^([-+]?[\dOo][\dOo,，.\s]*)(万元|万|元)?\s*[(（].*[)）]$", re.S)
_UNIT_AFTER = re.compile(r"\d\s*(万元|万|元)\s*(?:[(（].*)?$", re.S)
# A cell that says "nothing here" rather than a number.
_NO_AMOUNT = frozenset({"-", "--", "—", "－", "/", "／"})
_AMOUNT_O = re.compile(r"[Oo](?=[\d.,Oo]*$)|(?<=[\d.,])[Oo]")


def parse_amount(raw: str | None) -> tuple[str | None, list[str]]:
    """A money cell -> (decimal string as written, repairs). (None, []) for an empty cell.

    Raises ValueError for a non-empty cell that is not a number, so the caller can flag it.
    """
    text = to_halfwidth(clean_text(raw), signs=True)
    if text.strip() in _NO_AMOUNT:
        return None, []
    if m := _REMARKED.match(text):
        text = m.group(1)
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


@lru_cache(maxsize=8192)  # the same cells (amounts, labels) recur in every form
def is_amount(text: str) -> bool:
    """The text of a cell reads as an amount (OCR damage repaired)."""
    try:
        return parse_amount(text)[0] is not None
    except ValueError:
        return False


def amount_unit(raw: str | None) -> str | None:
    """The money unit a cell writes after its number (`164万元`, `250万`): 万元 or 元."""
    m = _UNIT_AFTER.search(to_halfwidth(clean_text(raw), signs=True))
    if not m:
        return None
    return "万元" if m.group(1).startswith("万") else "元"


# A budget code printed with a unit's name: `[610001]X`, `【812033】X`, `820001-X`, `315_X`,
# `X 308001`; or with a project's name, letters among its digits: `11000021Y000000390843-X`.
_CODE_BEFORE = re.compile(
    r"^\s*(?:[\[【]\s*\d{2,9}\s*[\]】]|\d{2,9}\s*[-_—－、]|(?:\d{6}|\d{3})(?![年月日号])(?=[\u4e00-\u9fff])"
    r"|\d{4,}[A-Z][0-9A-Z]{3,25}\s*[-_—－])\s*"
)
_CODE_AFTER = re.compile(r"\s+\[?\d{3,9}\]?\s*$|(?<=[\u4e00-\u9fff])\d{6}$")


def strip_code(text: str | None) -> str | None:
    """A unit's or category's name without the budget code printed with it: the code is
    another datum, and the labelling convention keeps the name alone."""
    return split_code(text)[0]


def split_code(text: str | None) -> tuple[str | None, str | None]:
    """(name, budget code) of a unit printed with its code: `[607001]X`, `【812033】X`, `820-X`,
    `X 308001` -> (X, the code's digits); (text, None) when it holds no code."""
    if not text:
        return text, None
    m = _CODE_BEFORE.match(text) or _CODE_AFTER.search(text)
    if m is None:
        return text, None
    bare = (text[: m.start()] + text[m.end() :]).strip()
    if not bare:
        return text, None
    return bare, re.sub(r"\D", "", m.group(0)) or None


def amount_value(text: str | None) -> Decimal | None:
    """Decimal of a record's amount string, None when empty or unreadable. Only plain decimal
    notation of a sane length is an amount: Decimal would also take "NaN", "Infinity",
    "1e999999999" or a million digits, which the checks' arithmetic cannot hold (Overflow), and
    an amount read from a form never looks like that."""
    if text is None or len(text) > _AMOUNT_MAX_CHARS or not _AMOUNT.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def same_amount(a: str | None, b: str | None) -> bool:
    """Two record amounts as numbers (`5900000` == `5900000.00`); text that is no amount compares
    as text, so two different unreadable amounts are never the same."""
    if a is None or b is None:
        return a is b
    x, y = amount_value(a), amount_value(b)
    return x == y if x is not None and y is not None else a == b


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
