"""Score extracted records against hand-labelled gold: pure functions over records, no I/O.

One case (a source document and its gold) is scored in three layers:

- forms: gold and extracted forms are paired by project name, then by position; a gold form with
  no partner is *missing* (every one of its fields and indicators counts as wrong), an extracted
  form with no partner is *extra* (its indicators count against precision);
- fields: header and funding fields exact after cleaning (amounts as Decimals, null vs a value is
  wrong); goals by normalised edit similarity;
- indicators: paired by name inside a form pair (exact after squash, then the best fuzzy match
  >= 0.8, one-to-one); precision / recall / F1 of fully correct indicators, and accuracy of each
  part over the paired ones.

Every wrong field is kept as a Mismatch (case, form, field, gold, got) for the report.

A form is *wrong* when any of its fields, goals or indicators is (a missing form is wrong, and so
is an extra one); a wrong form is *silent* when its record carries no error finding, so neither
the hybrid backend nor a reviewer would ever look at it: the worst thing the tool can produce.

Finer than a silent form: a wrong value is *unflagged* when no finding names its path (or a path
containing it: `indicators[3]` names `indicators[3].target`). A record with an error elsewhere
still leaves that value unseen by a reviewer who goes by the findings. Any severity counts: an
info finding on a field (a label read by likeness, an empty field) is shown beside it.

The other way round, *errors on gold* are the checker's errors on the hand-labelled (correct)
record checked against its own source: each is a correct value accused, which sends a right
record to review and makes hybrid prefer a worse one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz.distance import Levenshtein

from ..models import AMOUNT_FIELDS, CODE_FIELDS, HEADER_FIELDS, Finding, FormRecord, Indicator
from ..read.clean import clean_text, squash
from ..read.values import clean_target, parse_date, parse_target

SCORED_HEADER = ("year", *HEADER_FIELDS, *CODE_FIELDS)
SCORED_FUNDING = ("unit", *AMOUNT_FIELDS)
GOALS = ("overall_goal", "annual_goal")
INDICATOR_PARTS = ("name", "level1", "level2", "target")
NAME_MATCH = 0.8  # tolerates one or two OCR-damaged characters in a ten-character name


# The additive counters of a CaseScore (summed into the overall line).
_COUNTS = (
    "forms_expected",
    "forms_found",
    "forms_extra",
    "fields_total",
    "fields_correct",
    "ind_gold",
    "ind_got",
    "ind_matched",
    "ind_correct",
    "findings_expected",
    "findings_raised",
    "unexpected_errors",
    "seconds",
    "forms_wrong",
    "forms_silent",
    "forms_false_alarm",
    "values_wrong",
    "values_unflagged",
    "gold_checked",
    "gold_errors",
)
# Mismatch fields that say the record is wrong (not a finding the checker raised or missed).
_NOT_READING = ("finding", "gold-check")
_INDEX = re.compile(r"\[\d+\]|\+\d+")


@dataclass(frozen=True)
class ExpectedFinding:
    """A finding a correct checker must raise on a gold form (paths: any one must be named)."""

    code: str
    paths: tuple[str, ...] = ()


@dataclass
class Mismatch:
    case: str
    form: str
    field: str
    gold: Any
    got: Any
    note: str = ""
    flagged: bool | None = None  # a reading error: does a finding name its path? (else None)
    at: str = ""  # the value's path in the extracted record, where it is not `field`

    @property
    def got_path(self) -> str:
        return self.at or self.field


@dataclass
class CaseScore:
    """Counts for one case; rates are derived so that cases can be summed."""

    name: str
    kind: str = ""  # real | synthetic (of a case; empty for a total)
    layout: str = ""
    origin: str = ""  # the document a case renders (one cluster for the bootstrap)
    forms_expected: int = 0
    forms_found: int = 0
    forms_extra: int = 0
    fields_total: int = 0
    fields_correct: int = 0
    goal_scores: list[float] = field(default_factory=list)
    ind_gold: int = 0
    ind_got: int = 0
    ind_matched: int = 0
    ind_correct: int = 0
    part_correct: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INDICATOR_PARTS, 0))
    findings_expected: int = 0
    findings_raised: int = 0
    unexpected_errors: int = 0
    forms_wrong: int = 0  # forms with any wrong field, goal or indicator (missing/extra included)
    forms_silent: int = 0  # ... whose record carries no error finding
    forms_false_alarm: int = 0  # right forms whose record carries an error finding
    values_wrong: int = 0  # wrong values (fields, goals, indicator parts, missing/extra ones)
    values_unflagged: int = 0  # ... that no error or warning finding names by path
    gold_checked: int = 0  # gold records checked against their own source
    gold_errors: int = 0  # errors the checker raised on them (beyond their expected findings)
    llm: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    mismatches: list[Mismatch] = field(default_factory=list)
    first_contact: CaseScore | None = None  # the case's first-contact records, scored alike

    def add(self, other: CaseScore) -> None:
        """Fold another case's counts into this one (for the overall line)."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.goal_scores += other.goal_scores
        for part, n in other.part_correct.items():
            self.part_correct[part] += n
        for key, n in other.llm.items():
            self.llm[key] = self.llm.get(key, 0) + n
        self.mismatches += other.mismatches

    def field_errors(self) -> dict[str, int]:
        """How often each field path is wrong (indicator positions folded: indicators[].target),
        most frequent first."""
        paths = Counter(
            _INDEX.sub("[]", m.field) for m in self.mismatches if m.field not in _NOT_READING
        )
        return dict(paths.most_common())

    def metrics(self) -> dict[str, float | int | None]:
        """The headline numbers; None where there is nothing to measure."""
        precision = _rate(self.ind_correct, self.ind_got)
        recall = _rate(self.ind_correct, self.ind_gold)
        out: dict[str, float | int | None] = {
            "forms_expected": self.forms_expected,
            "forms_found": self.forms_found,
            "forms_extra": self.forms_extra,
            "field_accuracy": _rate(self.fields_correct, self.fields_total),
            "goal_mean": _mean(self.goal_scores),
            "goal_worst": round(min(self.goal_scores), 4) if self.goal_scores else None,
            "indicators_expected": self.ind_gold,
            "indicators_got": self.ind_got,
            "indicators_matched": self.ind_matched,
            "indicator_precision": precision,
            "indicator_recall": recall,
            "indicator_f1": _f1(precision, recall),
        }
        for part in INDICATOR_PARTS:
            out[f"{part}_accuracy"] = _rate(self.part_correct[part], self.ind_matched)
        out["findings_expected"] = self.findings_expected
        out["findings_raised"] = self.findings_raised
        out["findings_missed"] = self.findings_expected - self.findings_raised
        out["unexpected_errors"] = self.unexpected_errors
        forms = self.forms_expected + self.forms_extra
        out["forms_wrong"] = self.forms_wrong
        out["silent_errors"] = self.forms_silent
        out["silent_error_rate"] = _rate(self.forms_silent, forms)
        out["false_alarms"] = self.forms_false_alarm
        out["values_wrong"] = self.values_wrong
        out["unflagged_wrong_values"] = self.values_unflagged
        out["gold_checked"] = self.gold_checked
        out["errors_on_gold"] = self.gold_errors
        out["seconds"] = round(self.seconds, 3)
        out.update(_llm_metrics(self.llm, self.forms_found + self.forms_extra))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "layout": self.layout,
            "metrics": self.metrics(),
            "field_errors": self.field_errors(),
            "mismatches": [asdict(m) for m in self.mismatches],
            **({"first_contact": self.first_contact.metrics()} if self.first_contact else {}),
        }


def _rate(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None and r is None:
        return None
    p, r = p or 0.0, r or 0.0
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def _llm_metrics(llm: dict[str, float], forms: int) -> dict[str, float | int]:
    if not llm:
        return {}
    out: dict[str, float | int] = {
        k: llm.get(k, 0) for k in ("calls", "prompt_tokens", "completion_tokens", "cache_hits")
    }
    if forms:
        out["llm_seconds_per_form"] = round(llm.get("seconds", 0.0) / forms, 3)
    return out


# --- comparing values ---


def same_text(gold: str | None, got: str | None) -> bool:
    return clean_text(gold) == clean_text(got)


def same_date(gold: str | None, got: str | None) -> bool:
    return parse_date(gold) == parse_date(got)


def as_decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "")) if text is not None else None
    except InvalidOperation:
        return None


def same_amount(gold: str | None, got: str | None) -> bool:
    """Amounts as numbers (`5900000` == `5900000.00`); text that is no number compares as text."""
    if gold is None or got is None:
        return gold is got
    g, o = as_decimal(gold), as_decimal(got)
    return g == o if g is not None and o is not None else squash(gold) == squash(got)


def similarity(gold: str | None, got: str | None) -> float:
    """1 − edit distance / length of the longer text, on cleaned text, line breaks aside (a line
    of a PDF cell may be a paragraph or a wrap: no reader can tell, and the text is the same);
    two empties are equal."""
    return Levenshtein.normalized_similarity(_one_line(gold), _one_line(got))


def _one_line(text: str | None) -> str:
    return clean_text(text).replace("\n", "")


def _target_key(ind: Indicator) -> tuple[Any, ...]:
    """Quantitative: (op, Decimal value, unit); qualitative: the cleaned text."""
    if ind.value is not None:
        op, value, unit = ind.op, ind.value, ind.unit
    else:
        parsed = parse_target(ind.target)
        op, value, unit = parsed.op, parsed.value, parsed.unit
    if value is not None:
        return ("q", op, as_decimal(value) or value, clean_target(unit))
    return ("t", clean_target(ind.target))


def same_target(gold: Indicator, got: Indicator) -> bool:
    return _target_key(gold) == _target_key(got)


def same_part(part: str, gold: Indicator, got: Indicator) -> bool:
    if part == "target":
        return same_target(gold, got)
    if part == "name":
        return squash(clean_text(gold.name)) == squash(clean_text(got.name))
    return squash(getattr(gold, part)) == squash(getattr(got, part))


# --- pairing ---


def pair_forms(
    gold: list[FormRecord], got: list[FormRecord]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs of (gold index, got index) by project name, then by form number, then by order;
    returns (pairs, missing gold indexes, extra got indexes)."""
    pairs: list[tuple[int, int]] = []
    free = list(range(len(got)))
    todo = []
    for gi, g in enumerate(gold):
        key = squash(clean_text(g.project_name))
        hit = next(
            (oi for oi in free if key and squash(clean_text(got[oi].project_name)) == key), None
        )
        if hit is None:
            todo.append(gi)
        else:
            pairs.append((gi, hit))
            free.remove(hit)
    for gi in list(todo):
        hit = next((oi for oi in free if got[oi].form_index == gold[gi].form_index), None)
        if hit is not None:
            pairs.append((gi, hit))
            free.remove(hit)
            todo.remove(gi)
    for gi, oi in zip(list(todo), list(free), strict=False):
        pairs.append((gi, oi))
        todo.remove(gi)
        free.remove(oi)
    return sorted(pairs), todo, free


def pair_indicators(
    gold: list[Indicator], got: list[Indicator]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """One-to-one pairs by name: exact after squash in table order, then best fuzzy >= 0.8."""
    pairs: list[tuple[int, int]] = []
    free = list(range(len(got)))
    names = [squash(clean_text(i.name)) for i in got]
    todo = []
    for gi, g in enumerate(gold):
        key = squash(clean_text(g.name))
        hit = next((oi for oi in free if names[oi] == key), None)
        if hit is None:
            todo.append(gi)
        else:
            pairs.append((gi, hit))
            free.remove(hit)
    candidates = sorted(
        (
            (
                Levenshtein.normalized_similarity(squash(clean_text(gold[gi].name)), names[oi]),
                gi,
                oi,
            )
            for gi in todo
            for oi in free
        ),
        reverse=True,
    )
    for score, gi, oi in candidates:
        if score < NAME_MATCH:
            break
        if gi in todo and oi in free:
            pairs.append((gi, oi))
            todo.remove(gi)
            free.remove(oi)
    return sorted(pairs), todo, free


# --- scoring ---


def score_case(
    name: str,
    gold: list[FormRecord],
    got: list[FormRecord],
    *,
    expected: list[list[ExpectedFinding]] | None = None,
    document_findings: list[Finding] | None = None,
    gold_findings: list[list[Finding]] | None = None,
) -> CaseScore:
    """Score one case. `expected[i]` are the findings gold form i must raise; document-level
    findings count for every form of the document. `gold_findings[i]`, when given, are the
    checker's findings on gold form i checked against its own source (errors on gold)."""
    expected = expected or [[] for _ in gold]
    doc_findings = document_findings or []
    score = CaseScore(name, forms_expected=len(gold))
    for gi, found in enumerate(gold_findings or []):
        _score_gold_check(score, gold[gi], found, expected[gi])
    pairs, missing, extra = pair_forms(gold, got)
    score.forms_found = len(pairs)
    score.forms_extra = len(extra)
    for gi, oi in pairs:
        before = len(score.mismatches)
        _score_form(score, gold[gi], got[oi], expected[gi], doc_findings)
        reading = [m for m in score.mismatches[before:] if m.field not in _NOT_READING]
        _count_unflagged(score, reading, got[oi].findings + doc_findings)
        _count_silence(
            score, wrong=bool(reading), flagged=_has_error(got[oi].findings + doc_findings)
        )
    for gi in missing:
        _score_missing_form(score, gold[gi], expected[gi])
        _count_silence(score, wrong=True, flagged=False)  # no record: nothing to route anywhere
    for oi in extra:
        score.ind_got += len(got[oi].indicators)
        score.unexpected_errors += _count_errors(got[oi].findings, [])
        score.mismatches.append(
            Mismatch(name, got[oi].key(), "form", None, got[oi].key(), "extra form")
        )
        _count_silence(score, wrong=True, flagged=_has_error(got[oi].findings))
    for record in got:
        _add_usage(score.llm, record.meta.get("llm"))
    return score


def _has_error(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def _count_unflagged(score: CaseScore, wrong: list[Mismatch], findings: list[Finding]) -> None:
    """Mark each wrong value of a paired form flagged or not by the record's findings."""
    named = [p for f in findings for p in f.paths]
    for m in wrong:
        m.flagged = any(names_path(p, m.got_path) for p in named)
        score.values_wrong += 1
        score.values_unflagged += not m.flagged


def names_path(finding_path: str, value_path: str) -> bool:
    """Whether a finding's path names a value's: the same path, one that contains it
    (`indicators[3]` contains `indicators[3].target`, `funding` every amount), or a part of an
    indicator the value is (`indicators[3].name` names the indicator `indicators[3]`)."""
    if finding_path == value_path:
        return True
    if value_path.startswith(finding_path) and value_path[len(finding_path)] in ".[":
        return True
    # a finding on a part of an indicator names that indicator (an extra one is flagged by a
    # finding on its name); the list itself is named only by a finding on the list
    return value_path.endswith("]") and finding_path.startswith(value_path + ".")


def _score_gold_check(
    score: CaseScore, gold: FormRecord, found: list[Finding], expected: list[ExpectedFinding]
) -> None:
    """The checker's errors on a correct record: each one accuses a right value."""
    score.gold_checked += 1
    for f in found:
        if f.severity == "error" and not _expected(f, expected):
            score.gold_errors += 1
            score.mismatches.append(
                Mismatch(
                    score.name,
                    gold.key(),
                    "gold-check",
                    None,
                    f.code,
                    f"error on the gold record {f.paths}: {f.message}",
                )
            )


def _count_silence(score: CaseScore, *, wrong: bool, flagged: bool) -> None:
    score.forms_wrong += wrong
    score.forms_silent += wrong and not flagged
    score.forms_false_alarm += flagged and not wrong


def _score_form(
    score: CaseScore,
    gold: FormRecord,
    got: FormRecord,
    expected: list[ExpectedFinding],
    doc_findings: list[Finding],
) -> None:
    form = gold.key()
    for path, g, o, ok in _field_checks(gold, got):
        score.fields_total += 1
        if ok:
            score.fields_correct += 1
        else:
            score.mismatches.append(Mismatch(score.name, form, path, g, o))
    for goal in GOALS:
        g, o = getattr(gold, goal), getattr(got, goal)
        if not clean_text(g) and not clean_text(o):
            continue  # nothing to read and nothing read: not a measurement
        sim = similarity(g, o)
        score.goal_scores.append(sim)
        if sim < 1.0:
            score.mismatches.append(Mismatch(score.name, form, goal, g, o, f"similarity {sim:.3f}"))
    _score_indicators(score, form, gold.indicators, got.indicators)
    _score_findings(score, form, expected, got.findings + doc_findings)


def _field_checks(gold: FormRecord, got: FormRecord) -> list[tuple[str, Any, Any, bool]]:
    checks = []
    for f in SCORED_HEADER:
        g, o = getattr(gold, f), getattr(got, f)
        if f == "year":
            ok = g == o
        elif f.endswith("_date"):
            ok = same_date(g, o)
        else:
            ok = same_text(g, o)
        checks.append((f, g, o, ok))
    for f in SCORED_FUNDING:
        g, o = getattr(gold.funding, f), getattr(got.funding, f)
        ok = same_text(g, o) if f == "unit" else same_amount(g, o)
        checks.append((f"funding.{f}", g, o, ok))
    return checks


def _score_missing_form(
    score: CaseScore, gold: FormRecord, expected: list[ExpectedFinding]
) -> None:
    """A form the extractor did not find: everything it holds was missed."""
    score.fields_total += len(SCORED_HEADER) + len(SCORED_FUNDING)
    score.goal_scores += [0.0 for g in GOALS if clean_text(getattr(gold, g))]
    score.ind_gold += len(gold.indicators)
    score.findings_expected += len(expected)
    score.mismatches.append(
        Mismatch(score.name, gold.key(), "form", gold.key(), None, "missing form")
    )


def _score_indicators(
    score: CaseScore, form: str, gold: list[Indicator], got: list[Indicator]
) -> None:
    pairs, missing, extra = pair_indicators(gold, got)
    score.ind_gold += len(gold)
    score.ind_got += len(got)
    score.ind_matched += len(pairs)
    for gi, oi in pairs:
        wrong = [p for p in INDICATOR_PARTS if not same_part(p, gold[gi], got[oi])]
        for part in INDICATOR_PARTS:
            score.part_correct[part] += part not in wrong
        if not wrong:
            score.ind_correct += 1
        for part in wrong:
            g, o = _part_value(gold[gi], part), _part_value(got[oi], part)
            score.mismatches.append(
                Mismatch(
                    score.name,
                    form,
                    f"indicators[{gi}].{part}",
                    g,
                    o,
                    gold[gi].name or "",
                    at=f"indicators[{oi}].{part}",
                )
            )
    for gi in missing:  # flagged only by a finding on the indicator list (text left unplaced)
        score.mismatches.append(
            Mismatch(
                score.name,
                form,
                f"indicators[{gi}]",
                gold[gi].name,
                None,
                "missing indicator",
                at="indicators",
            )
        )
    for oi in extra:
        score.mismatches.append(
            Mismatch(
                score.name,
                form,
                f"indicators+{oi}",
                None,
                got[oi].name,
                "extra indicator",
                at=f"indicators[{oi}]",
            )
        )


def _part_value(ind: Indicator, part: str) -> Any:
    if part == "target" and ind.value is not None:
        return f"{ind.target} ({ind.op}, {ind.value}, {ind.unit})"
    return getattr(ind, part)


def _score_findings(
    score: CaseScore, form: str, expected: list[ExpectedFinding], found: list[Finding]
) -> None:
    score.findings_expected += len(expected)
    used: list[Finding] = []
    for exp in expected:
        hit = next((f for f in found if finding_matches(exp, f)), None)
        if hit is None:
            score.mismatches.append(
                Mismatch(score.name, form, "finding", exp.code, None, f"missed {list(exp.paths)}")
            )
        else:
            score.findings_raised += 1
            used.append(hit)
    for f in found:
        if f.severity == "error" and not any(f is u for u in used) and not _expected(f, expected):
            score.unexpected_errors += 1
            score.mismatches.append(
                Mismatch(
                    score.name, form, "finding", None, f.code, f"unexpected error: {f.message}"
                )
            )


def finding_matches(expected: ExpectedFinding, found: Finding) -> bool:
    """Same code, and (when the gold names paths) at least one path in common."""
    if found.code != expected.code:
        return False
    return not expected.paths or bool(set(expected.paths) & set(found.paths))


def _expected(found: Finding, expected: list[ExpectedFinding]) -> bool:
    return any(finding_matches(e, found) for e in expected)


def _count_errors(findings: list[Finding], expected: list[ExpectedFinding]) -> int:
    return sum(f.severity == "error" and not _expected(f, expected) for f in findings)


def _add_usage(total: dict[str, float], usage: Any) -> None:
    """Sum the LLM usage a backend left in record.meta["llm"]; absent or odd values are skipped."""
    if not isinstance(usage, dict):
        return
    for key in ("calls", "prompt_tokens", "completion_tokens", "seconds"):
        value = usage.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
    total["cache_hits"] = total.get("cache_hits", 0) + int(bool(usage.get("cache_hit")))
    cached = usage.get("cached_usage")
    for key, value in (cached if isinstance(cached, dict) else {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            total[f"cached_{key}"] = total.get(f"cached_{key}", 0) + value
