"""Intervals and paired tests for eval numbers: a bootstrap that resamples whole documents.

The forms of one document share its template, its layout and its OCR: they are not independent,
and resampling forms one by one would make every interval too narrow. Each case is one document,
so the bootstrap resamples documents with replacement (renderings of one document, a PDF and
its text layer, are one document: case.toml `generated_from` / `same_document_as`), sums their
counts and recomputes the metric (a ratio of sums, so a big document weighs as much as its
forms), `ROUNDS` times. The spread of those values is the standard error; the interval is the
value ± t(G−1) × se × √(G/(G−1)) for G documents. With ~20 documents of very unequal size the
plain percentile interval is too narrow (simulated on the fixtures: 90% coverage); the
small-sample t and the G/(G−1) correction bring it to 93% (eval/matrix_calibration.py).

Two rows scored on the same cases are compared *paired*, on the same documents, forms and fields.
The interval of the difference is the bootstrap's as above (each round resamples the same
documents for both rows). The verdict is a paired permutation test (approximate randomisation):
if the rows were equally good, swapping the two rows' results on any document would not matter,
so the share of `ROUNDS` random swaps giving a difference at least as large as the one seen is
the p-value; under 5% says better or worse, else "no difference at this n". Simulated on the
fixtures' 20 documents with stand-ins of equal quality it said "different" 3% of the time (the
interval alone: 7%), and it told p = 2% from p = 8% per-field error 99% of the time. The n needed to see a difference d
scales the paired standard error: with n forms now, n × ((z₀.₉₇₅ + z₀.₈) × se / d)² forms give
80% power at the 5% level.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .scoring import INDICATOR_PARTS, CaseScore

ROUNDS = 2000
SEED = 20261207  # the same cases give the same intervals
Z_95, Z_POWER_80 = 1.959964, 0.841621
# The additive counts every metric below is a ratio of, in this order in a Counts vector.
KEYS = ("fields_correct", "fields_total", "ind_correct", "ind_got", "ind_gold", "parts_correct",
        "goal_sum", "goal_n", "forms", "forms_silent")  # fmt: skip
Counts = tuple[float, ...]
_K = {k: i for i, k in enumerate(KEYS)}


def case_counts(score: CaseScore) -> Counts:
    return (
        score.fields_correct, score.fields_total, score.ind_correct, score.ind_got,
        score.ind_gold, sum(score.part_correct[p] for p in INDICATOR_PARTS),
        sum(score.goal_scores), len(score.goal_scores),
        score.forms_expected + score.forms_extra, score.forms_silent,
    )  # fmt: skip


def clusters(scores: Sequence[CaseScore]) -> list[Counts]:
    """The cases' counts summed per document (`origin`: renderings of one document, a PDF and
    its text layer, are one cluster), in the order documents first appear."""
    by_origin: dict[str, list[Counts]] = {}
    for score in scores:
        by_origin.setdefault(score.origin or score.name, []).append(case_counts(score))
    return [total(group) for group in by_origin.values()]


def total(counts: Sequence[Counts]) -> Counts:
    return tuple(map(sum, zip(*counts, strict=True))) if counts else (0.0,) * len(KEYS)


def _ratio(n: float, d: float) -> float | None:
    return n / d if d else None


def _f1(c: Counts) -> float | None:
    correct = c[_K["ind_correct"]]
    p, r = _ratio(correct, c[_K["ind_got"]]), _ratio(correct, c[_K["ind_gold"]])
    if p is None and r is None:
        return None
    p, r = p or 0.0, r or 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def _share(n: str, d: str) -> Callable[[Counts], float | None]:
    return lambda c: _ratio(c[_K[n]], c[_K[d]])


# metric -> (its value from summed counts, higher is better)
METRICS: dict[str, tuple[Callable[[Counts], float | None], bool]] = {
    "field_accuracy": (_share("fields_correct", "fields_total"), True),
    "indicator_f1": (_f1, True),
    "goal_mean": (_share("goal_sum", "goal_n"), True),
    "silent_error_rate": (_share("forms_silent", "forms"), False),
}


def resamples(n: int, rounds: int = ROUNDS, seed: int = SEED) -> list[list[int]]:
    """`rounds` lists of n cluster indexes drawn with replacement (shared by the rows compared)."""
    rng = random.Random(seed)
    return [[rng.randrange(n) for _ in range(n)] for _ in range(rounds)]


def draw_totals(groups: Sequence[Counts], draws: Sequence[Sequence[int]]) -> list[Counts]:
    """The summed counts of each resample."""
    return [total([groups[i] for i in draw]) for draw in draws]


_T_SMALL = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776}  # where the expansion below is poor


def t_quantile(df: int) -> float:
    """Student's t 97.5% quantile: a table to 4 degrees of freedom, then the Cornish-Fisher
    expansion (within 1% from 5 on, 0.1% from 10)."""
    if df in _T_SMALL:
        return _T_SMALL[df]
    z = Z_95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def standard_error(values: Sequence[float], groups: int) -> float:
    """The bootstrap spread, corrected for few documents (√(G/(G−1)))."""
    return _stdev(values) * math.sqrt(groups / (groups - 1)) if groups > 1 else 0.0


def half_width(se: float, groups: int) -> float:
    return t_quantile(max(groups - 1, 1)) * se


def interval(
    groups: Sequence[Counts], totals: Sequence[Counts], metric: str
) -> tuple[float, float] | None:
    """The 95% interval of `metric` over the documents `groups`, from the resamples' totals."""
    value = METRICS[metric][0]
    point = value(total(groups))
    got = [v for t in totals if (v := value(t)) is not None]
    if point is None or not got or len(groups) < 2:  # one document: no spread to measure
        return None
    margin = half_width(standard_error(got, len(groups)), len(groups))
    return max(0.0, point - margin), min(1.0, point + margin)


def intervals(groups: Sequence[Counts], draws: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Every metric's 95% interval for one row."""
    totals = draw_totals(groups, draws)
    return {m: interval(groups, totals, m) for m in METRICS}


@dataclass
class Comparison:
    """Row a against row b on one metric, paired on the same documents."""

    a: str
    b: str
    metric: str
    difference: float  # a - b
    low: float
    high: float
    se: float  # of the difference, from the bootstrap
    forms: int
    p_value: float  # paired permutation test
    verdict: str  # "better" | "worse" | "no difference at this n" (a compared with b)

    def forms_needed(self, difference: float) -> int | None:
        """Forms needed to see `difference` (80% power, 5% level) at this paired spread."""
        if not difference or not self.se:
            return None
        return math.ceil(self.forms * ((Z_95 + Z_POWER_80) * self.se / abs(difference)) ** 2)

    def to_dict(self, wanted: Sequence[float] = ()) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("a", "b", "metric", "verdict", "forms")}
        out.update(
            {k: round(getattr(self, k), 6) for k in ("difference", "low", "high", "se", "p_value")},
            forms_needed={f"{d:g}": self.forms_needed(d) for d in wanted},
        )
        return out


Row = tuple[str, Sequence[Counts], Sequence[Counts]]  # name, documents' counts, draws' totals


def compare(a: Row, b: Row, metric: str) -> Comparison | None:
    """Row a against row b on `metric`, paired on the same documents: the bootstrap interval of
    a − b and the permutation test's verdict."""
    (name_a, docs_a, totals_a), (name_b, docs_b, totals_b) = a, b
    all_a, all_b, groups = total(docs_a), total(docs_b), len(docs_a)
    value, higher_better = METRICS[metric]
    point_a, point_b = value(all_a), value(all_b)
    if point_a is None or point_b is None:
        return None
    diffs = [
        va - vb
        for ta, tb in zip(totals_a, totals_b, strict=True)
        if (va := value(ta)) is not None and (vb := value(tb)) is not None
    ]
    se = standard_error(diffs, groups)
    margin, difference = half_width(se, groups), point_a - point_b
    p = permutation_p(docs_a, docs_b, value, difference)
    forms = int(all_a[_K["forms"]])
    return Comparison(name_a, name_b, metric, difference, difference - margin,
                      difference + margin, se, forms, p,
                      _verdict(difference, p, higher_better))  # fmt: skip


def permutation_p(
    docs_a: Sequence[Counts],
    docs_b: Sequence[Counts],
    value: Callable[[Counts], float | None],
    seen: float,
    rounds: int = ROUNDS,
) -> float:
    """The share of random swaps of the two rows' results per document whose difference is at
    least as large as `seen` (both sides), counting the one seen."""
    rng = random.Random(SEED)
    hits = 0
    for _ in range(rounds):
        picks = [
            (x, y) if rng.random() < 0.5 else (y, x) for x, y in zip(docs_a, docs_b, strict=True)
        ]
        va, vb = value(total([x for x, _ in picks])), value(total([y for _, y in picks]))
        if va is not None and vb is not None and abs(va - vb) >= abs(seen) - 1e-12:
            hits += 1
    return (hits + 1) / (rounds + 1)


def _verdict(difference: float, p: float, higher_better: bool) -> str:
    if p < 0.05 and difference:
        return "better" if (difference > 0) == higher_better else "worse"
    return "no difference at this n"


def _stdev(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def compare_all(
    rows: Mapping[str, Sequence[Counts]], draws: Sequence[Sequence[int]]
) -> list[Comparison]:
    """Each pair of rows (in matrix order) on each metric, the same draws for all."""
    prepared = {name: (name, g, draw_totals(g, draws)) for name, g in rows.items()}
    names = list(prepared)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for metric in METRICS:
                found = compare(prepared[a], prepared[b], metric)
                if found is not None:
                    out.append(found)
    return out
