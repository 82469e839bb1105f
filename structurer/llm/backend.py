"""The LLM backend: jobs -> records through the cache and the model, N requests at once.

`run` is synchronous (the pipeline's Backend protocol) and drives one asyncio loop with one
AsyncOpenAI client. Each finished form is reported at once through `on_record` (the pipeline
journals it, so an interrupted run resumes with only the forms not yet done; the cache covers
forms that finished but were not journaled). A form that fails becomes a record with an
`llm.failed` error finding; the others are unaffected.

The rules read every form too, as a shadow (`shadow.py`, about a millisecond): the validator
checks each reply against the form and the shadow (re-asking with the cells labels point at), and
the record gets a `hybrid.disagreement` finding wherever it lost or changed what the form prints.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from ..models import Finding, FormRecord, Job, OnRecord
from ..vocab import Vocabulary, resolve
from .cache import ReplyCache, cache_key
from .client import CallFailed, Outcome, extract, make_client
from .params import RequestParams
from .prompt import load_prompt
from .reask import FormSource
from .schema import FormDraft, schema_hash, to_record
from .settings import LLMSettings
from .shadow import Shadow, read_shadow, recall_findings
from .usage import Usage, locate_cells

log = logging.getLogger("structurer")


@dataclass
class Result:
    """One form's outcome before it becomes a record."""

    draft: FormDraft | None
    problems: list[str]
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit: bool = False
    error: str | None = None


class LLMBackend:
    name = "llm"

    def __init__(self, settings: LLMSettings, vocab: Vocabulary | None = None) -> None:
        self.settings = settings
        self.vocab = resolve(vocab)
        self.prompt = load_prompt()
        self.usage = Usage(settings)
        self.params = RequestParams.for_reasoning(settings.reasoning)  # learned once per run
        self._schema = schema_hash(self.vocab)

    def run(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        if jobs:
            run_coroutine(self.run_async(jobs, on_record))

    async def run_async(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        cache = ReplyCache(None if self.settings.no_cache else self.settings.cache_dir)
        raw, client = make_client(self.settings)
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(job: Job) -> None:
            record = await self.extract_job(job, client, cache, gate)
            on_record(job, record)

        try:
            async with raw:
                await asyncio.gather(*(one(job) for job in jobs))
        finally:
            cache.close()

    async def extract_job(
        self, job: Job, client: Any, cache: ReplyCache, gate: asyncio.Semaphore
    ) -> FormRecord:
        """The record for one job, from the cache or the model; never raises for a bad form."""
        started = time.perf_counter()
        key = self._key(job)
        shadow = read_shadow(job, self.vocab)
        result = _from_cache(cache.get(key))
        if result is None:
            async with gate:
                result = await self._call(job, client, shadow)
            if result.draft is not None:
                cache.put(key, _cache_value(result))
        record = self._record(job, result, time.perf_counter() - started, shadow)
        self.usage.add(record.meta["llm"], failed=result.draft is None)
        return record

    def summary(self) -> Any:
        return self.usage.table(self.name)

    def _key(self, job: Job) -> str:
        s = self.settings
        prompt = f"{self.prompt.version}:{self.prompt.sha}:{self.vocab.label}"
        return cache_key(
            model=s.model,
            mode=s.mode,
            prompt=prompt,
            schema=self._schema,
            chunk_text=job.chunk.text,
        )

    async def _call(self, job: Job, client: Any, shadow: Shadow | None) -> Result:
        label = f"form {job.chunk.index}"
        messages = self.prompt.messages(job.chunk, job.grid, self.vocab)
        source = FormSource(job.chunk, job.grid, job.document.title, self.vocab, shadow)
        context = {"vocab": self.vocab, "source": source}
        try:
            out: Outcome = await extract(
                client, self.settings, messages, label=label, context=context, params=self.params
            )
        except CallFailed as exc:
            log.warning("%s: %s", label, exc)
            u = exc.usage
            return Result(None, [], u.calls, u.prompt_tokens, u.completion_tokens, error=str(exc))
        log.info(
            "llm %s %s: %d call(s), %d+%d tokens",
            self.settings.model,
            label,
            out.calls,
            out.prompt_tokens,
            out.completion_tokens,
        )
        return Result(out.draft, out.problems, out.calls, out.prompt_tokens, out.completion_tokens)

    def _record(
        self, job: Job, result: Result, seconds: float, shadow: Shadow | None = None
    ) -> FormRecord:
        if result.draft is None:
            record = FormRecord(form_index=job.chunk.index, year=job.chunk.year)
            record.findings.append(
                Finding(severity="error", code="llm.failed", message=result.error or "failed")
            )
        else:
            record = to_record(
                result.draft, form_index=job.chunk.index, year=job.chunk.year, vocab=self.vocab
            )
            record.findings.extend(_unresolved(result.problems))
            if shadow is not None:
                record.findings.extend(recall_findings(record, shadow))
            locate_cells(record, job)
        record.backend = self.name
        record.meta["llm"] = {
            "calls": result.calls,
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "cache_hit": result.cache_hit,
            "seconds": round(seconds, 3),
            "model": self.settings.model,
            "prompt_version": self.prompt.version,
        }
        return record


def _unresolved(problems: list[str]) -> list[Finding]:
    """Problems the model did not fix within the re-asks: the source may itself be inconsistent."""
    return [
        Finding(
            severity="warning",
            code="llm.unresolved",
            message=f"still after the re-asks: {p}",
            paths=[p.split(" ", 1)[0].rstrip(":")],
        )
        for p in problems
    ]


def _cache_value(result: Result) -> dict[str, Any]:
    assert result.draft is not None
    return {"draft": result.draft.model_dump(mode="json"), "problems": result.problems}


def _from_cache(value: dict[str, Any] | None) -> Result | None:
    if not value:
        return None
    try:
        draft = FormDraft.model_validate(value["draft"])
    except (KeyError, ValueError):
        return None
    return Result(draft, list(value.get("problems", [])), cache_hit=True)


def run_coroutine(coro: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, or in a worker thread when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # handed back to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
