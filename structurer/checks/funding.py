"""Funding checks: the annual and whole-project identities, repaired and unreadable amounts."""

from __future__ import annotations

from decimal import Decimal, localcontext

from ..models import AMOUNT_FIELDS, Finding, FormRecord
from ..read.values import amount_value
from ..vocab import Vocabulary
from .finding import finding

ANNUAL_PARTS = ("current_appropriation", "prior_carryover", "annual_other")
PROJECT_PARTS = ("project_fiscal", "project_other")
# Exact to the cent whatever the size: Decimal's default context keeps 28 digits and would round
# the sum of amounts the reader accepts (up to 64 characters), hiding or inventing a difference.
EXACT_DIGITS = 160


def check_funding(record: FormRecord, vocab: Vocabulary) -> list[Finding]:
    amounts = {name: amount_value(getattr(record.funding, name)) for name in AMOUNT_FIELDS}
    annual, project = (vocab.printed(f"funding.{f}") for f in ("annual_total", "project_total"))
    out = _repairs(record) + _unreadable(record)
    with localcontext() as exact:
        exact.prec = EXACT_DIGITS
        out += _identities(amounts, annual, project)
    out += _project_below_annual(amounts["project_total"], amounts["annual_total"], project, annual)
    if record.funding.unit is None and any(v is not None for v in amounts.values()):
        msg = "amounts without a unit (元 or 万元)"
        out.append(finding("warning", "funding.unit_missing", msg, ["funding.unit"]))
    return out


def _identities(amounts: dict[str, Decimal | None], annual: str, project: str) -> list[Finding]:
    out = _identity(amounts, "annual_total", ANNUAL_PARTS, "funding.annual_identity", annual)
    out += _identity(amounts, "project_total", PROJECT_PARTS, "funding.project_identity", project)
    return out


def _unreadable(record: FormRecord) -> list[Finding]:
    """Amounts the backend could not read (meta["unreadable"]) or that are not numbers."""
    reported = record.meta.get("unreadable")
    raws = dict(reported) if isinstance(reported, dict) else {}
    for name in AMOUNT_FIELDS:
        text = getattr(record.funding, name)
        if text is not None and amount_value(text) is None:
            raws.setdefault(f"funding.{name}", text)
    return [
        finding(
            "error",
            "funding.amount_unreadable",
            f"{p} is not a readable amount: {raw!r}",
            [p],
            raw=raw,
        )
        for p, raw in raws.items()
    ]


def _project_below_annual(
    total: Decimal | None, annual: Decimal | None, total_label: str, annual_label: str
) -> list[Finding]:
    """The whole project's money should cover this year's; a warning, as forms do slip."""
    if total is None or annual is None or total >= annual:
        return []
    return [
        finding(
            "warning",
            "funding.project_below_annual",
            f"{total_label} {total} is below {annual_label} {annual}",
            ["funding.project_total", "funding.annual_total"],
            left=total,
            right=annual,
            difference=total - annual,
        )
    ]


def _repairs(record: FormRecord) -> list[Finding]:
    out = []
    repairs = record.meta.get("repairs")
    for rep in repairs if isinstance(repairs, list) else []:
        if not isinstance(rep, dict):
            continue
        path = str(rep.get("path", ""))
        if not path.startswith("funding."):
            continue
        raw, how = rep.get("raw", ""), rep.get("repair", "repaired")
        out.append(
            finding(
                "warning",
                "funding.amount_repaired",
                f"{path} was repaired from OCR text {raw!r} ({how}): confirm it",
                [path],
                raw=raw,
                repair=how,
                value=_get(record, path),
            )
        )
    return out


def _get(record: FormRecord, path: str) -> str | None:
    return getattr(record.funding, path.removeprefix("funding."), None)


def _identity(
    amounts: dict[str, Decimal | None], total: str, parts: tuple[str, ...], code: str, label: str
) -> list[Finding]:
    """total = sum(parts): an error when it fails, the implied value when one amount is missing."""
    names = (total, *parts)
    paths = [f"funding.{n}" for n in names]
    missing = [n for n in names if amounts[n] is None]
    if len(missing) == len(names) or len(missing) > 1:
        return []
    if missing:
        return [_implied(amounts, total, parts, missing[0], label)]
    left = amounts[total]
    right = sum((amounts[p] for p in parts), Decimal(0))  # type: ignore[misc]
    assert left is not None
    if left == right:
        return []
    return [
        finding(
            "error",
            code,
            f"{label} {left} ≠ sum of its parts {right} (difference {left - right})",
            paths,
            left=left,
            right=right,
            difference=left - right,
        )
    ]


def _implied(
    amounts: dict[str, Decimal | None], total: str, parts: tuple[str, ...], gap: str, label: str
) -> Finding:
    known = [amounts[p] for p in parts if p != gap]
    subtotal = sum(known, Decimal(0))  # type: ignore[arg-type]
    implied = subtotal if gap == total else amounts[total] - subtotal  # type: ignore[operator]
    return finding(
        "info",
        "funding.implied_value",
        f"funding.{gap} is empty; the {label} identity implies {implied} (not filled in)",
        [f"funding.{gap}"],
        implied=implied,
    )
