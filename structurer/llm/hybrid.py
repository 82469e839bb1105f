"""The hybrid backend: rules first, the LLM only for forms whose rule record has errors.

Of the two records the one with fewer error findings is kept (the rule record on a tie: it is
deterministic and read cell by cell). Where the two disagree, the kept record gets a
`hybrid.disagreement` warning per field so a reviewer can look; `meta["hybrid"]` says which
record was kept and why, and `meta["llm"]` holds the calls made for the form (0 when none).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

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

log = logging.getLogger("structurer")
INDICATOR_FIELDS = ("level1", "level2", "name", "target")


class HybridBackend:
    name = "hybrid"

    def __init__(self, settings: LLMSettings, vocab: Vocabulary | None = None) -> None:
        self.llm = LLMBackend(settings, vocab)
        self.vocab = self.llm.vocab

    def summary(self) -> Any:
        return self.llm.usage.table(self.name)

    def run(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        pending: dict[str, tuple[FormRecord | None, int]] = {}
        for job in jobs:
            record = _rules(job, self.vocab)
            errors = error_count(record, job, self.vocab) if record else 1 << 30
            if record is not None and errors == 0:
                self.llm.usage.routed_rules += 1
                on_record(job, self._stamp(record, "rules", errors, None))
            else:
                pending[job.key] = (record, errors)
        if not pending:
            return
        llm_jobs = [j for j in jobs if j.key in pending]

        def choose(job: Job, llm_record: FormRecord) -> None:
            on_record(job, self._choose(job, *pending[job.key], llm_record))

        run_coroutine(self.llm.run_async(llm_jobs, choose))

    def _choose(
        self, job: Job, rules: FormRecord | None, rule_errors: int, llm: FormRecord
    ) -> FormRecord:
        failed = any(f.code == "llm.failed" for f in llm.findings)
        llm_errors = 1 << 30 if failed else error_count(llm, job, self.vocab)
        if rules is None or (not failed and llm_errors < rule_errors):
            kept, other, chosen = llm, rules, "llm"
        else:
            kept, other, chosen = rules, llm, "rules"
            kept.findings.extend(_demoted(llm.findings) if failed else [])
        if other is not None and not failed:
            kept.findings.extend(disagreements(kept, other, chosen))
        kept.meta["llm"] = llm.meta["llm"]
        return self._stamp(kept, chosen, rule_errors, llm_errors)

    def _stamp(
        self, record: FormRecord, chosen: str, rule_errors: int, llm_errors: int | None
    ) -> FormRecord:
        record.backend = self.name
        record.meta.setdefault("llm", _no_call(self.llm))
        record.meta["hybrid"] = {
            "chosen": chosen,
            "sent_to_llm": llm_errors is not None,
            "rule_errors": rule_errors if rule_errors < 1 << 30 else None,
            "llm_errors": llm_errors if llm_errors is not None and llm_errors < 1 << 30 else None,
        }
        return record


def _rules(job: Job, vocab: Vocabulary) -> FormRecord | None:
    from ..rules import extract_form

    try:
        return extract_form(job.chunk, job.grid, vocab)
    except Exception:  # a rules bug on one form: the LLM still gets a go at it
        log.exception("rules failed on form %d", job.chunk.index)
        return None


def error_count(record: FormRecord, job: Job, vocab: Vocabulary) -> int:
    """Error findings of a record: its own (extract./llm.) plus what the checker finds."""
    from ..checks import check_record

    own = [f for f in record.findings if f.severity == "error"]
    checked = check_record(
        record.model_copy(deep=True),
        source_text=job.chunk.text,
        title=job.document.title,
        vocab=vocab,
    )
    return len(own) + sum(f.severity == "error" for f in checked)


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
    }


def disagreements(kept: FormRecord, other: FormRecord, chosen: str) -> list[Finding]:
    """One warning per field path where the two records differ (amounts compared as numbers)."""
    names = {"rules": "llm", "llm": "rules"}
    pairs = _field_pairs(kept, other)
    return [
        Finding(
            severity="warning",
            code="hybrid.disagreement",
            message=f"{path}: kept {chosen} {a!r}, {names[chosen]} read {b!r}",
            paths=[path],
            values={chosen: a, names[chosen]: b},
        )
        for path, a, b in pairs
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
