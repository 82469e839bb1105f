"""The hybrid backend: rules first, the LLM only for forms whose rule record has errors.

The two records are merged value by value (`merge.py`): each value from the reading the checks
doubt least, the rules' on a tie, an empty field filled by the LLM's grounded value, the indicator
list from the record with fewer doubts on it, then the longer one. The source's facts win: the LLM
record's findings include its recall findings against the rules (`shadow.py`), so an amount it
changed from what the form prints is doubted more than the rules' reading of it, and a faulty sum
the LLM made hold by rewriting a number never replaces the form's own fault. Each value that
differs gets a `hybrid.disagreement` warning naming the other reading; `meta["hybrid"]` says what
was taken from where, and `meta["llm"]` holds the calls made for the form (0 when none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..models import Finding, FormRecord, Job, OnRecord
from ..vocab import Vocabulary
from .backend import LLMBackend, run_coroutine
from .merge import merge
from .settings import LLMSettings
from .shadow import rules_record

__all__ = ["HybridBackend"]


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
        pending: dict[str, RulesRead] = {}
        for job in jobs:
            read = self.read_with_rules(job)
            if read.record is not None and read.score.errors == 0:
                self.llm.usage.routed_rules += 1
                on_record(job, self._stamp(read.record, "rules", read.score, None))
            else:
                pending[job.key] = read
        if not pending:
            return
        llm_jobs = [j for j in jobs if j.key in pending]

        def choose(job: Job, llm_record: FormRecord) -> None:
            on_record(job, self._choose(job, pending[job.key], llm_record))

        run_coroutine(self.llm.run_async(llm_jobs, choose))

    def read_with_rules(self, job: Job) -> RulesRead:
        """The rule record, its findings and its score; only forms with errors go to the LLM.
        The findings are kept for the merge: the checker runs once on the rule record."""
        record = rules_record(job, self.vocab)
        if record is None:
            return RulesRead(None, [], NO_RECORD)
        found = found_on(record, job, self.vocab)
        return RulesRead(record, found, score_of(found))

    def _choose(self, job: Job, read: RulesRead, llm: FormRecord) -> FormRecord:
        rules, rule_score = read.record, read.score
        failed = any(f.code == "llm.failed" for f in llm.findings)
        if failed and rules is not None:  # the LLM's failure is not the form's
            rules.findings.extend(_demoted(llm.findings))
            rules.meta["llm"] = llm.meta["llm"]
            return self._stamp(rules, "rules", rule_score, NO_RECORD)
        llm_found = found_on(llm, job, self.vocab)
        llm_score = score_of(llm_found)
        if rules is None:
            return self._stamp(llm, "llm", rule_score, llm_score)
        merged = merge(rules, read.found, llm, llm_found)
        kept = merged.record
        kept.meta["llm"] = llm.meta["llm"]
        from_llm = [p for p, side in merged.taken.items() if side == "llm"]
        chosen = (
            "rules" if not from_llm else "llm" if len(from_llm) == len(merged.taken) else "both"
        )
        record = self._stamp(kept, chosen, rule_score, llm_score)
        record.meta["hybrid"]["from_llm"] = from_llm
        return record

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


class RulesRead(NamedTuple):
    """A form read by the rules: the record (None when they crashed), its own findings and the
    checker's, and its score."""

    record: FormRecord | None
    found: list[Finding]
    score: Score


def found_on(record: FormRecord, job: Job, vocab: Vocabulary) -> list[Finding]:
    """A record's own findings and the checker's."""
    from ..checks import check_record

    checked = check_record(
        record.model_copy(deep=True),
        source_text=job.chunk.text,
        title=job.document.title,
        vocab=vocab,
        grid=job.grid,
    )
    return [*record.findings, *checked]


def score_of(found: list[Finding]) -> Score:
    errors = [f for f in found if f.severity == "error"]
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
