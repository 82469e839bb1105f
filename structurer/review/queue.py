"""One review queue for a corpus: every document's forms ranked by risk, and a random sample of
the forms the checks call clean, so a team can estimate the error rate of what nobody reviews.

Risk tiers, most urgent first: errors; OCR repairs (a letter O read as 0, ...); rules-vs-LLM
disagreements; other warnings; sampled clean forms not yet reviewed; clean; reviewed. The sample
is drawn once per session from the forms that were clean when loaded, seeded, so the same command
shows the same sample. A sampled form counts as wrong when the reviewer changed anything in it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..checks.reviewed import corrected

TIERS = ("errors", "repairs", "disagreements", "warnings", "sample", "clean", "reviewed")
TIER_LABELS = {
    "errors": "errors",
    "repairs": "OCR repair",
    "disagreements": "rules ≠ LLM",
    "warnings": "warnings",
    "sample": "sample",
    "clean": "clean",
    "reviewed": "reviewed",
}
_REPAIR_CODES = ("funding.amount_repaired",)
_DISAGREEMENT_CODES = ("hybrid.disagreement",)


def tier(state: Any, sampled: bool) -> str:
    """Where a form stands in the queue (`state` is a session FormState)."""
    if state.status == "reviewed":
        return "reviewed"
    codes = {f.code for f in state.open}  # an accepted finding queues nothing
    if state.status == "errors":
        return "errors"
    if codes & set(_REPAIR_CODES) or _unchecked_repairs(state.record):
        return "repairs"
    if codes & set(_DISAGREEMENT_CODES):
        return "disagreements"
    if state.status == "warnings":
        return "warnings"
    return "sample" if sampled else "clean"


def _unchecked_repairs(record: Any) -> bool:
    """OCR repairs of fields the reviewer has not corrected (a correction attests the value)."""
    repairs = record.meta.get("repairs")
    fixed = corrected(record)
    return any(
        not (isinstance(r, dict) and r.get("path") in fixed)
        for r in (repairs if isinstance(repairs, list) else [])
    )


def ranked(states: Sequence[Any], sample: set[int]) -> list[Any]:
    """The queue: by tier, then most errors and warnings first, then document order."""

    def key(s: Any) -> tuple[int, int, int, int]:
        counts = s.counts
        return (TIERS.index(tier(s, s.number in sample)), -counts["error"], -counts["warning"],
                s.number)  # fmt: skip

    return sorted(states, key=key)


def to_review(states: Sequence[Any], sample: set[int]) -> list[int]:
    """The numbers of the forms still to look at, in queue order: flagged, or sampled."""
    return [s.number for s in ranked(states, sample) if tier(s, s.number in sample) not in _DONE]


_DONE = ("clean", "reviewed")


def draw_sample(states: Sequence[Any], size: int, seed: int) -> set[int]:
    """`size` forms drawn at random (seeded) from the clean ones."""
    clean = sorted(s.number for s in states if s.status == "clean")
    return set(random.Random(seed).sample(clean, min(size, len(clean))))


@dataclass
class Estimate:
    """The error rate of the clean forms, estimated from the reviewed part of the sample."""

    clean: int  # forms the checks call clean (the population sampled)
    sampled: int
    reviewed: int  # sampled forms marked reviewed
    wrong: int  # of those, forms the reviewer had to fix

    @property
    def rate(self) -> float | None:
        return self.wrong / self.reviewed if self.reviewed else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.wrong, self.reviewed) if self.reviewed else None

    def __str__(self) -> str:
        head = f"sample: {self.reviewed} of {self.sampled} clean forms reviewed"
        if not self.reviewed or self.rate is None or self.interval is None:
            return head + " — review them to estimate the error rate of the clean forms"
        low, high = self.interval
        return (
            f"{head}, {self.wrong} needed a fix → estimated error rate of the {self.clean} clean "
            f"forms: {self.rate:.0%} (95% interval {low:.0%}–{high:.0%}, "
            f"about {round(self.rate * self.clean)} forms)"
        )


def estimate(states: Sequence[Any], sample: set[int], clean: int) -> Estimate | None:
    if not sample:
        return None
    picked = [s for s in states if s.number in sample]
    reviewed = [s for s in picked if s.status == "reviewed"]
    wrong = sum(1 for s in reviewed if s.fixes)
    return Estimate(clean, len(picked), len(reviewed), wrong)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials: sound for small n and k = 0."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
