"""Deterministic checks on records: funding identities, indicators, header, grounding, document.

Every finding has a stable code (the area is its prefix), a severity, a plain message, the field
paths involved and, in `values`, the numbers or texts involved as strings. Checks never change a
record's values: a value an identity implies is suggested (funding.implied_value), never filled.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

from .clean import amount_value, squash
from .grounding import ground_record
from .hierarchy import belongs, canonical_level, is_level1, is_level2, parent_of
from .models import AMOUNT_FIELDS, HEADER_FIELDS, Document, Finding, FormRecord, Indicator, Severity
from .targets import Target, parse_target

# Findings with these code prefixes come from the backends, not from the checker: re-checking a
# record keeps them and recomputes the rest.
BACKEND_PREFIXES = ("extract.", "llm.", "hybrid.")

ANNUAL_PARTS = ("current_appropriation", "prior_carryover", "annual_other")
PROJECT_PARTS = ("project_fiscal", "project_other")
_OPS = "=≥≤><≧≦⩾⩽＝＞＜"
_TITLE_UNIT = re.compile(r"^(.+?)(?:\d{4}\s*年|项目|绩效|部门|预算)")


def _f(severity: Severity, code: str, message: str, paths: list[str], **values: object) -> Finding:
    return Finding(
        severity=severity,
        code=code,
        message=message,
        paths=paths,
        values={k: v if isinstance(v, list | dict) else str(v) for k, v in values.items()},
    )


def check_record(
    record: FormRecord, *, source_text: str | None = None, title: str | None = None
) -> list[Finding]:
    """All checker findings for one record; grounding only when the source text is given."""
    findings = check_header(record, title=title)
    findings += check_funding(record)
    findings += check_indicators(record)
    if source_text is not None:
        findings += ground_record(record, source_text)
    return findings


def refresh_findings(
    record: FormRecord, *, source_text: str | None = None, title: str | None = None
) -> FormRecord:
    kept = [f for f in record.findings if f.code.startswith(BACKEND_PREFIXES)]
    record.findings = kept + check_record(record, source_text=source_text, title=title)
    return record


# --- funding ---


def check_funding(record: FormRecord) -> list[Finding]:
    amounts = {name: amount_value(getattr(record.funding, name)) for name in AMOUNT_FIELDS}
    out = _repairs(record) + _unreadable(record)
    out += _identity(
        amounts, "annual_total", ANNUAL_PARTS, "funding.annual_identity", "年度资金申请总额"
    )
    out += _identity(
        amounts, "project_total", PROJECT_PARTS, "funding.project_identity", "项目资金总额"
    )
    out += _project_below_annual(amounts["project_total"], amounts["annual_total"])
    if record.funding.unit is None and any(v is not None for v in amounts.values()):
        msg = "amounts without a unit (元 or 万元)"
        out.append(_f("warning", "funding.unit_missing", msg, ["funding.unit"]))
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
        _f(
            "error",
            "funding.amount_unreadable",
            f"{p} is not a readable amount: {raw!r}",
            [p],
            raw=raw,
        )
        for p, raw in raws.items()
    ]


def _project_below_annual(total: Decimal | None, annual: Decimal | None) -> list[Finding]:
    """The whole project's money should cover this year's; a warning, as forms do slip."""
    if total is None or annual is None or total >= annual:
        return []
    return [
        _f(
            "warning",
            "funding.project_below_annual",
            f"项目资金总额 {total} is below 年度资金申请总额 {annual}",
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
            _f(
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
        _f(
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
    return _f(
        "info",
        "funding.implied_value",
        f"funding.{gap} is empty; the {label} identity implies {implied} (not filled in)",
        [f"funding.{gap}"],
        implied=implied,
    )


# --- indicators ---


def check_indicators(record: FormRecord) -> list[Finding]:
    if not record.indicators:
        return [_f("error", "indicator.none", "the form has no indicators", ["indicators"])]
    out: list[Finding] = []
    seen: dict[tuple[str, str], int] = {}
    for i, ind in enumerate(record.indicators):
        out += _levels(i, ind)
        out += _name_and_target(i, ind)
        if ind.name:
            key = (squash(ind.name), squash(ind.target))
            if key in seen:
                first = seen[key]
                out.append(
                    _f(
                        "warning",
                        "indicator.duplicate",
                        f"indicator {ind.name!r} appears twice (#{first + 1} and #{i + 1})",
                        [f"indicators[{first}]", f"indicators[{i}]"],
                        name=ind.name,
                        target=ind.target or "",
                    )
                )
            seen.setdefault(key, i)
    return out


def _levels(i: int, ind: Indicator) -> list[Finding]:
    p1, p2 = f"indicators[{i}].level1", f"indicators[{i}].level2"
    out = []
    for path, text, is_level in ((p1, ind.level1, is_level1), (p2, ind.level2, is_level2)):
        if not text:
            out.append(_f("error", "indicator.missing_level", f"{path} is empty", [path]))
        elif not is_level(canonical_level(text)):
            out.append(
                _f(
                    "error",
                    "indicator.unknown_level",
                    f"{path} {text!r} is not a known level",
                    [path],
                    value=text,
                )
            )
    l1, l2 = canonical_level(ind.level1), canonical_level(ind.level2)
    if not out and not belongs(l1, l2):
        expected = parent_of(l2)
        out.append(
            _f(
                "error",
                "indicator.level_mismatch",
                f"二级指标 {ind.level2} does not belong to 一级指标 {ind.level1} (expected {expected})",
                [p1, p2],
                level1=ind.level1,
                level2=ind.level2,
                expected_level1=expected or "",
            )
        )
    return out


def _name_and_target(i: int, ind: Indicator) -> list[Finding]:
    out = []
    if not ind.name:
        path = f"indicators[{i}].name"
        out.append(
            _f(
                "error",
                "indicator.missing_name",
                f"indicator #{i + 1} has no 三级指标 name",
                [path],
            )
        )
    path = f"indicators[{i}].target"
    if not ind.target:
        label = ind.name or f"#{i + 1}"
        out.append(
            _f("warning", "indicator.missing_target", f"indicator {label} has no target", [path])
        )
        return out
    parsed = parse_target(ind.target)
    op, value, unit = ind.op or parsed.op, ind.value or parsed.value, ind.unit or parsed.unit
    syntax = _target_syntax(ind, parsed)
    if syntax:
        out.append(_f("warning", "indicator.target_syntax", syntax, [path], target=ind.target))
    if op == "=" and unit == "%" and (v := amount_value(value)) is not None and v > 100:
        out.append(
            _f(
                "warning",
                "indicator.percent_over_100",
                f"target {ind.target} sets a percentage above 100",
                [path],
                value=v,
            )
        )
    return out


def _target_syntax(ind: Indicator, parsed: Target) -> str | None:
    """A target with an operator but no number, or op/value/unit that contradict its text."""
    target = ind.target or ""
    if target.lstrip()[:1] in _OPS and not any(ch.isdigit() for ch in target):
        return f"target {target!r} has an operator but no number"
    op, value, unit = parsed.op, parsed.value, parsed.unit
    if value is None:
        if ind.op or ind.value:
            return f"op/value {ind.op or ''}{ind.value or ''} given but target {target!r} is not [op]number[unit]"
        return None
    wrong = [
        n
        for n, mine, theirs in (
            ("op", ind.op, op),
            ("value", ind.value, value),
            ("unit", ind.unit, unit),
        )
        if mine != theirs and not (n == "value" and amount_value(mine) == amount_value(theirs))
    ]
    if wrong:
        return f"{'/'.join(wrong)} disagree with target {target!r} (expected op={op} value={value} unit={unit})"
    return None


# --- header ---


def check_header(record: FormRecord, *, title: str | None = None) -> list[Finding]:
    out = []
    for name in HEADER_FIELDS:
        if not getattr(record, name):
            severity: Severity = "error" if name == "project_name" else "warning"
            out.append(_f(severity, "header.missing_field", f"{name} is empty", [name]))
    start, end = _date(record, "start_date", out), _date(record, "end_date", out)
    if start and end and end < start:
        out.append(
            _f(
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
            _f(
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
        _f(
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
        _f(
            "info",
            "header.unit_differs_from_title",
            f"implementing unit {unit} differs from {named} named in the document title",
            ["implementing_unit"],
            implementing_unit=unit,
            title_unit=named,
        )
    ]


# --- document ---


def check_document(records: list[FormRecord], document: Document | None = None) -> list[Finding]:
    out = []
    by_name: dict[str, list[int]] = defaultdict(list)
    for r in records:
        if r.project_name:
            by_name[squash(r.project_name)].append(r.form_index)
    for name, forms in by_name.items():
        if len(forms) > 1:
            out.append(
                _f(
                    "warning",
                    "document.duplicate_project",
                    f"forms {', '.join(map(str, forms))} have the same project name {name}",
                    ["project_name"],
                    project_name=name,
                    forms=[str(f) for f in forms],
                )
            )
    if document is not None and len(records) < len(document.chunks):
        out.append(
            _f(
                "error",
                "document.missing_forms",
                f"{len(records)} records for {len(document.chunks)} form titles in {document.path}",
                [],
                records=len(records),
                forms=len(document.chunks),
            )
        )
    return out
