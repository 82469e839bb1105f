"""The LLM backend: jobs -> records through the cache and the model, N requests at once.

`run` is synchronous (the pipeline's Backend protocol) and drives one asyncio loop with one
AsyncOpenAI client and one Transport (the run's retry policy, shared pause, budgets, breaker).
Each finished form is reported at once through `on_record` (the pipeline journals it, so an
interrupted run resumes with only the forms not yet done; the cache covers forms that finished
but were not journaled). A form that fails becomes a record with an `llm.failed` error finding;
the others are unaffected. Two things stop the whole run instead, leaving the forms not done
without a record (pending, for a rerun): RunStopped (bad key or model, endpoint down: the other
workers are cancelled at once) and BudgetReached (--max-cost: requests in flight finish, nothing
new is sent).

With a fallback model, a form whose reply still has problems after the re-asks (or no valid
reply) is asked again of the fallback model; the reply with fewer problems is kept.

The rules read every form too, as a shadow (`shadow.py`, about a millisecond): the validator
checks each reply against the form and the shadow (re-asking with the cells labels point at), and
the record gets a `hybrid.disagreement` finding wherever it lost or changed what the form prints.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import BudgetReached, RunStopped
from ..models import Finding, FormRecord, Job, OnRecord
from ..vocab import Vocabulary, resolve
from .cache import ReplyCache, cache_key
from .client import CallFailed, Outcome, extract, instructor_client, make_client
from .params import RequestParams
from .prompt import load_prompt
from .reask import FormSource
from .schema import FormDraft, schema_hash, to_record
from .settings import LLMSettings
from .shadow import Shadow, read_shadow, recall_findings
from .transport import CallStats, Transport
from .usage import Usage, locate_cells

log = logging.getLogger("structurer")


@dataclass
class Result:
    """One model's outcome for one form, before it becomes a record."""

    draft: FormDraft | None
    problems: list[str]
    model: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    http_retries: int = 0
    cache_hit: bool = False
    batch: bool = False  # the first reply came from a batch job
    error: str | None = None
    http_failure: bool = False  # the endpoint failed, not the model
    cached_usage: dict[str, int] | None = None  # a cache hit: what the reply cost when asked

    def badness(self) -> tuple[bool, int]:
        return (self.draft is None, len(self.problems))


class LLMBackend:
    name = "llm"

    def __init__(self, settings: LLMSettings, vocab: Vocabulary | None = None) -> None:
        self.settings = settings
        self.vocab = resolve(vocab)
        self.prompt = load_prompt(settings.prompt)
        self.usage = Usage(settings)
        # batch collect: job key -> the batch's reply to the form's first call; `live=False`
        # keeps to those replies (no re-ask, no form asked live)
        self.batch_replies: dict[str, Any] = {}
        self.live = True
        # per model, learned once per run (a reasoning model refuses max_tokens/temperature)
        self.params: dict[str, RequestParams] = {}
        self.schema_hash = schema_hash(self.vocab)

    def run(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        if jobs:
            run_coroutine(self.run_async(jobs, on_record))

    async def run_async(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        cache = ReplyCache(None if self.settings.no_cache else self.settings.cache_dir)
        raw = make_client(self.settings)
        transport = Transport(self.settings, raw)
        gate = asyncio.Semaphore(self.settings.concurrency)
        pending: list[Job] = []

        async def one(job: Job) -> None:
            record = await self.extract_job(job, transport, cache, gate)
            if record is None:
                pending.append(job)
            else:
                on_record(job, record)

        try:
            async with raw:
                await run_all(one(job) for job in jobs)
        finally:
            cache.close()
            self.usage.note_transport(transport)
        if pending:
            done, cap = len(jobs) - len(pending), self.settings.max_cost
            raise BudgetReached(
                f"stopped at --max-cost {cap:g} (spent {transport.spent:.4f} in this run): "
                f"{done} of {len(jobs)} forms done, {len(pending)} pending; run the same "
                "command again (with a higher --max-cost) to finish them"
            )

    async def extract_job(
        self, job: Job, transport: Transport, cache: ReplyCache, gate: asyncio.Semaphore
    ) -> FormRecord | None:
        """The record for one job, from the cache or the model(s); None when the cost cap
        stopped it before it was done (pending). Never raises for a bad form."""
        started = time.perf_counter()
        shadow = read_shadow(job, self.vocab)
        try:
            results = [await self._result(job, self.settings, transport, cache, gate, shadow)]
            if self.settings.fallback_model and _escalate(results[0]):
                fallback = self.settings.for_fallback()
                results.append(await self._result(job, fallback, transport, cache, gate, shadow))
        except BudgetReached:
            return None
        record = self._record(job, results, time.perf_counter() - started, shadow)
        failed = any(f.code == "llm.failed" for f in record.findings)
        self.usage.add(record.meta["llm"], failed=failed)
        return record

    def summary(self) -> Any:
        return self.usage.table(self.name)

    @property
    def identity(self) -> dict[str, Any]:
        """What the pipeline stamps on each record (`meta.run`) and checks before reusing a
        journalled record: another model, fallback model or prompt version is another run."""
        s = self.settings
        return {"model": s.model, "fallback_model": s.fallback_model,
                "prompt_version": self.prompt.version}  # fmt: skip

    def _key(self, job: Job, settings: LLMSettings) -> str:
        prompt = f"{self.prompt.version}:{self.prompt.sha}:{self.vocab.label}"
        return cache_key(
            endpoint=settings.base_url,
            model=settings.model,
            mode=settings.mode,
            prompt=prompt,
            schema=self.schema_hash,
            max_reasks=settings.max_reasks,
            chunk_text=job.chunk.text,
            project_line=job.chunk.project_line,
        )

    async def _result(
        self,
        job: Job,
        settings: LLMSettings,
        transport: Transport,
        cache: ReplyCache,
        gate: asyncio.Semaphore,
        shadow: Shadow | None,
    ) -> Result:
        """One model's reply for a form: from the cache, else asked (a batch reply first)."""
        cached = self.from_cache(job, settings, cache)
        if cached is not None:
            return cached
        first = self.batch_replies.get(job.key) if settings.model == self.settings.model else None
        async with gate:
            result = await self._call(job, settings, transport, first, shadow)
        # a form with no valid reply is asked again next time; without live re-asks a reply
        # with problems is not what a run with re-asks would have kept
        if result.draft is not None and (self.live or not result.problems):
            cache.put(self._key(job, settings), _cache_value(result))
        return result

    def from_cache(self, job: Job, settings: LLMSettings, cache: ReplyCache) -> Result | None:
        """The cached reply this run may serve: not one with problems under --retry-failed."""
        cached = _from_cache(cache.get(self._key(job, settings)), settings.model)
        if cached is None or (cached.problems and settings.retry_failed):
            return None
        return cached

    async def _call(
        self,
        job: Job,
        settings: LLMSettings,
        transport: Transport,
        first: Any,
        shadow: Shadow | None,
    ) -> Result:
        label = f"form {job.chunk.index}"
        vocab = self.vocab.for_form(job.chunk.text)  # the hierarchy of the form's family
        messages = self.prompt.messages(job.chunk, job.grid, vocab)
        source = FormSource(job.chunk, job.grid, job.document.title, vocab, shadow)
        context = {"vocab": vocab, "source": source}
        stats = CallStats()
        client = instructor_client(transport.sender(stats, first, live=self.live), settings.mode)
        batch = first is not None
        try:
            out: Outcome = await extract(
                client, settings, messages, label=label, context=context,
                params=self.params_for(settings),
            )  # fmt: skip
        except CallFailed as exc:
            log.warning("%s: %s", label, exc)
            u = exc.usage
            return Result(
                None, [], settings.model, u.calls, u.prompt_tokens, u.completion_tokens,
                stats.http_retries, batch=batch, error=str(exc), http_failure=exc.http,
            )  # fmt: skip
        except RunStopped:
            raise
        except Exception as exc:  # a bug met on one form: that form fails, the others go on
            log.exception("%s: unexpected error", label)
            error = f"unexpected {type(exc).__name__}: {str(exc)[:200]}"
            return Result(None, [], settings.model, stats.requests, error=error)
        log.info(
            "llm %s %s: %d call(s), %d+%d tokens, %d HTTP retries",
            settings.model,
            label,
            out.calls,
            out.prompt_tokens,
            out.completion_tokens,
            stats.http_retries,
        )
        return Result(
            out.draft, out.problems, settings.model, out.calls, out.prompt_tokens,
            out.completion_tokens, stats.http_retries, batch=batch,
        )  # fmt: skip

    def params_for(self, settings: LLMSettings) -> RequestParams:
        return self.params.setdefault(
            settings.model, RequestParams.for_reasoning(settings.reasoning)
        )

    def _record(
        self, job: Job, results: list[Result], seconds: float, shadow: Shadow | None = None
    ) -> FormRecord:
        # the reply with fewer problems; on a tie the later (fallback) model's
        kept = min(reversed(results), key=Result.badness)
        if kept.draft is None:
            record = FormRecord(form_index=job.chunk.index, year=job.chunk.year)
            record.findings.append(
                Finding(severity="error", code="llm.failed", message=kept.error or "failed")
            )
        else:
            record = to_record(
                kept.draft,
                form_index=job.chunk.index,
                year=job.chunk.year,
                vocab=self.vocab.for_form(job.chunk.text),
            )
            record.findings.extend(_unresolved(kept.problems))
            if shadow is not None:
                record.findings.extend(recall_findings(record, shadow))
            locate_cells(record, job)
        record.backend = self.name
        record.meta["llm"] = self._meta(results, kept, seconds)
        return record

    def _meta(self, results: list[Result], kept: Result, seconds: float) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "calls": sum(r.calls for r in results),
            "prompt_tokens": sum(r.prompt_tokens for r in results),
            "completion_tokens": sum(r.completion_tokens for r in results),
            "http_retries": sum(r.http_retries for r in results),
            "cache_hit": all(r.cache_hit for r in results),
            "seconds": round(seconds, 3),
            "model": kept.model,
            "prompt_version": self.prompt.version,
            "prompt_sha": self.prompt.sha,
        }
        if any(r.batch for r in results):
            meta["batch"] = True
        if cached := [r.cached_usage for r in results if r.cached_usage]:  # eval: a row's cost
            meta["cached_usage"] = {k: sum(u.get(k, 0) for u in cached) for k in USAGE_KEYS}
        if len(results) > 1:  # escalated: what each model cost
            meta["by_model"] = {
                r.model: {
                    "calls": r.calls,
                    "prompt_tokens": r.prompt_tokens,
                    "completion_tokens": r.completion_tokens,
                }
                for r in results
            }
        return meta


def _escalate(result: Result) -> bool:
    """Worth asking the fallback model: the reply still has problems or never parsed (an
    endpoint failure is not the model's fault)."""
    return bool(result.problems) or (result.draft is None and not result.http_failure)


async def run_all(coros: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the workers together; a RunStopped in one cancels the others at once and is raised
    as itself (not inside an exception group)."""
    try:
        async with asyncio.TaskGroup() as group:
            for coro in coros:
                group.create_task(coro)
    except BaseExceptionGroup as errors:
        stop = next((e for e in errors.exceptions if isinstance(e, RunStopped)), None)
        raise (stop or errors.exceptions[0]) from None


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


USAGE_KEYS = ("calls", "prompt_tokens", "completion_tokens")


def _cache_value(result: Result) -> dict[str, Any]:
    assert result.draft is not None
    usage = {k: getattr(result, k) for k in USAGE_KEYS}
    return {"draft": result.draft.model_dump(mode="json"), "problems": result.problems,
            "usage": usage}  # fmt: skip


def _from_cache(value: dict[str, Any] | None, model: str) -> Result | None:
    if not value:
        return None
    try:
        draft = FormDraft.model_validate(value["draft"])
    except (KeyError, ValueError):
        return None
    usage = value.get("usage") if isinstance(value.get("usage"), dict) else None
    return Result(draft, list(value.get("problems", [])), model, cache_hit=True,
                  cached_usage=usage)  # fmt: skip


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
