"""The hybrid backend: rules first, the LLM only for forms whose rule record has errors.

The source's facts win. Of the two records the one with fewer grounding errors (values not where
their labels point) is kept, then the one with fewer errors in all; the rule record on a tie: it
is deterministic and read cell by cell. The LLM record's errors include its recall findings
against the rules (`shadow.py`): an amount it changed from what the form prints is an error, so
an LLM record that makes a faulty sum hold by rewriting a printed number never beats the rule
record that keeps the form's own fault. Where the two disagree, the kept record gets
`hybrid.disagreement` findings (the LLM record its recall findings; the rule record one warning
per field); `meta["hybrid"]` says which record was kept and why, and `meta["llm"]` holds the
calls made for the form (0 when none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..models import (
    AMOUNT_FIELDS,
    GOAL_FIELDS,
    HEADER_FIELDS,
    Finding,
    FormRecord,
    Job,
    OnRecord,
)
from ..read.values import amount_value
from ..vocab import Vocabulary
from .backend import LLMBackend, run_coroutine
from .settings import LLMSettings
from .shadow import rules_record

INDICATOR_FIELDS = ("level1", "level2", "name", "target")


class HybridBackend:
    name = "hybrid"

    def __init__(self, settings: LLMSettings, vocab: Vocabulary | None = None) -> None:
        self.llm = LLMBackend(settings, vocab)
        self.vocab = self.llm.vocab

    def summary(self) -> Any:
        return self.llm.usage.table(self.name)

    @property
    def identity(self) -> dict[str, Any]:
        return self.llm.identity

    def run(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        pending: dict[str, tuple[FormRecord | None, Score]] = {}
        for job in jobs:
            record, score = self.read_with_rules(job)
            if record is not None and score.errors == 0:
                self.llm.usage.routed_rules += 1
                on_record(job, self._stamp(record, "rules", score, None))
            else:
                pending[job.key] = (record, score)
        if not pending:
            return
        llm_jobs = [j for j in jobs if j.key in pending]

        def choose(job: Job, llm_record: FormRecord) -> None:
            on_record(job, self._choose(job, *pending[job.key], llm_record))

        run_coroutine(self.llm.run_async(llm_jobs, choose))

    def read_with_rules(self, job: Job) -> tuple[FormRecord | None, Score]:
        """The rule record and its score; only forms with errors go to the LLM."""
        record = rules_record(job, self.vocab)
        return record, error_score(record, job, self.vocab) if record else NO_RECORD

    def _choose(
        self, job: Job, rules: FormRecord | None, rule_score: Score, llm: FormRecord
    ) -> FormRecord:
        failed = any(f.code == "llm.failed" for f in llm.findings)
        llm_score = NO_RECORD if failed else error_score(llm, job, self.vocab)
        if rules is None or (not failed and llm_score < rule_score):
            kept, chosen = llm, "llm"  # carries its recall findings against the rules already
        else:
            kept, chosen = rules, "rules"
            kept.findings.extend(_demoted(llm.findings) if failed else disagreements(rules, llm))
        kept.meta["llm"] = llm.meta["llm"]
        return self._stamp(kept, chosen, rule_score, llm_score)

    def _stamp(
        self, record: FormRecord, chosen: str, rule_score: Score, llm_score: Score | None
    ) -> FormRecord:
        record.backend = self.name
        record.meta.setdefault("llm", _no_call(self.llm))
        record.meta["hybrid"] = {
            "chosen": chosen,
            "sent_to_llm": llm_score is not None,
            "rule_errors": rule_score.shown,
            "llm_errors": llm_score.shown if llm_score is not None else None,
        }
        return record


class Score(NamedTuple):
    """How bad a record is, compared in this order: values not where their labels point, then
    error findings of any kind (a record's own and the checker's)."""

    grounding: int
    errors: int

    @property
    def shown(self) -> int | None:
        return None if self == NO_RECORD else self.errors


NO_RECORD = Score(1 << 30, 1 << 30)  # no record (rules crashed) or the LLM failed: always loses


def error_score(record: FormRecord, job: Job, vocab: Vocabulary) -> Score:
    """Score of a record: its own error findings (extract./llm./hybrid.) plus the checker's."""
    from ..checks import check_record

    own = [f for f in record.findings if f.severity == "error"]
    checked = check_record(
        record.model_copy(deep=True),
        source_text=job.chunk.text,
        title=job.document.title,
        vocab=vocab,
    )
    errors = own + [f for f in checked if f.severity == "error"]
    return Score(sum(f.code.startswith("grounding.") for f in errors), len(errors))


def _demoted(findings: list[Finding]) -> list[Finding]:
    """The LLM's failure is not the form's: the rule record stands, with a warning."""
    return [f.model_copy(update={"severity": "warning"}) for f in findings]


def _no_call(llm: LLMBackend) -> dict[str, Any]:
    return {
        "calls": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cache_hit": False,
        "seconds": 0.0,
        "model": llm.settings.model,
        "prompt_version": llm.prompt.version,
        "prompt_sha": llm.prompt.sha,
    }


def disagreements(rules: FormRecord, llm: FormRecord) -> list[Finding]:
    """One warning per field path where the kept rule record and the LLM record differ (amounts
    compared as numbers): the rule record stands, the reviewer may look."""
    return [
        Finding(
            severity="warning",
            code="hybrid.disagreement",
            message=f"{path}: kept rules {a!r}, llm read {b!r}",
            paths=[path],
            values={"rules": a, "llm": b},
        )
        for path, a, b in _field_pairs(rules, llm)
        if not _same(path, a, b)
    ]


def _field_pairs(a: FormRecord, b: FormRecord) -> list[tuple[str, Any, Any]]:
    pairs = [(f, getattr(a, f), getattr(b, f)) for f in (*HEADER_FIELDS, *GOAL_FIELDS)]
    pairs += [
        (f"funding.{f}", getattr(a.funding, f), getattr(b.funding, f))
        for f in ("unit", *AMOUNT_FIELDS)
    ]
    if len(a.indicators) != len(b.indicators):
        return [*pairs, ("indicators", len(a.indicators), len(b.indicators))]
    for i, (x, y) in enumerate(zip(a.indicators, b.indicators, strict=True)):
        pairs += [(f"indicators[{i}].{f}", getattr(x, f), getattr(y, f)) for f in INDICATOR_FIELDS]
    return pairs


def _same(path: str, a: Any, b: Any) -> bool:
    if path.startswith("funding.") and path != "funding.unit" and a is not None and b is not None:
        return amount_value(a) == amount_value(b)
    return a == b
