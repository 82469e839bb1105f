"""Indicator checks: levels known and nested, names and targets present, target syntax."""

from __future__ import annotations

from ..models import Finding, FormRecord, Indicator
from ..read.clean import squash
from ..read.values import Target, amount_value, parse_target
from ..vocab import Vocabulary
from .finding import finding

_OPS = "=≥≤><≧≦⩾⩽＝＞＜"


def check_indicators(record: FormRecord, vocab: Vocabulary) -> list[Finding]:
    if not record.indicators:
        return [finding("error", "indicator.none", "the form has no indicators", ["indicators"])]
    out = _family(vocab)
    seen: dict[tuple[str, str], int] = {}
    for i, ind in enumerate(record.indicators):
        out += _levels(i, ind, vocab)
        out += _name_and_target(i, ind)
        if ind.name:
            key = (squash(ind.name), squash(ind.target))
            if key in seen:
                first = seen[key]
                out.append(
                    finding(
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


def _family(vocab: Vocabulary) -> list[Finding]:
    """A note when the levels are read by a template family's own hierarchy: the reviewer sees
    why they are not the usual ones, and can doubt the choice. It names no path: it doubts no
    value (a finding on `indicators` would pass for one on an indicator the list misses)."""
    if vocab.family is None:
        return []
    levels = "; ".join(f"{l1} -> {', '.join(kids)}" for l1, kids in vocab.hierarchy.items())
    return [
        finding(
            "info",
            "indicator.family",
            f"the levels are read and checked by the hierarchy of the {vocab.family_name} "
            f"({levels}): the form prints level names only that template has",
            [],
            family=vocab.family_name or "",
        )
    ]


def _levels(i: int, ind: Indicator, vocab: Vocabulary) -> list[Finding]:
    p1, p2 = f"indicators[{i}].level1", f"indicators[{i}].level2"
    out = []
    checks = ((p1, ind.level1, vocab.is_level1), (p2, ind.level2, vocab.is_level2))
    for path, text, is_level in checks:
        if not text:
            out.append(finding("error", "indicator.missing_level", f"{path} is empty", [path]))
        elif not is_level(vocab.canonical_level(text)):
            out.append(
                finding(
                    "error",
                    "indicator.unknown_level",
                    f"{path} {text!r} is not a known level",
                    [path],
                    value=text,
                )
            )
    l1, l2 = vocab.canonical_level(ind.level1), vocab.canonical_level(ind.level2)
    if not out and not vocab.belongs(l1, l2):
        expected = vocab.parent_of(l2)
        out.append(
            finding(
                "error",
                "indicator.level_mismatch",
                f"{vocab.display('level2')} {ind.level2} does not belong to "
                f"{vocab.display('level1')} {ind.level1} (expected {expected})",
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
            finding(
                "error",
                "indicator.missing_name",
                f"indicator #{i + 1} has no level-3 name",
                [path],
            )
        )
    path = f"indicators[{i}].target"
    if not ind.target:
        label = ind.name or f"#{i + 1}"
        out.append(
            finding(
                "warning", "indicator.missing_target", f"indicator {label} has no target", [path]
            )
        )
        return out
    parsed = parse_target(ind.target)
    op, value, unit = ind.op or parsed.op, ind.value or parsed.value, ind.unit or parsed.unit
    syntax = _target_syntax(ind, parsed)
    if syntax:
        out.append(finding("warning", "indicator.target_syntax", syntax, [path], target=ind.target))
    if op == "=" and unit == "%" and (v := amount_value(value)) is not None and v > 100:
        out.append(
            finding(
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
