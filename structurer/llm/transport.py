"""The HTTP side of a run: one retry policy built on tenacity, shared by every worker.

The openai client is made with `max_retries=0`, so no request is retried twice; this module
decides instead:
- transient faults (429, 408, 409, 5xx, timeouts, connection errors) are retried up to
  `http_retries` times per request with jittered exponential backoff;
- when the endpoint says to wait (a 429, or any reply with Retry-After / retry-after-ms) every
  worker pauses until then: one shared pause, not one slot sleeping per form while the others
  keep hitting the limit;
- `rpm` / `tpm` budgets space the requests of all workers together;
- a circuit breaker stops the run (RunStopped, exit 2) at the first 401/403/404, or once
  `max_failures_in_a_row` forms in a row failed on HTTP errors, naming the setting to fix; the
  run's first request goes alone, so a wrong key or model costs one request, not one per worker;
- a cost cap: once the spend reaches `max_cost` no request is sent (BudgetReached).
The retries a form needed are counted in its `CallStats` (its record's meta.llm.http_retries).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from ..errors import BudgetReached, LLMError, RunStopped
from .prompt import estimate_tokens
from .settings import LLMSettings

log = logging.getLogger("structurer")

MAX_PAUSE = 300.0  # a longer Retry-After (a spent daily quota) stops the run instead
BACKOFF = wait_exponential(multiplier=0.5, max=30) + wait_random(0, 0.5)  # 0.5, 1, 2 s ... + jitter
Send = Callable[..., Awaitable[Any]]


class NoLiveRequests(LLMError):
    """A form needed a live request (a re-ask, or no batch reply) where none may be sent."""


@dataclass
class CallStats:
    """One form's HTTP story, for its record's meta."""

    requests: int = 0  # HTTP requests sent, retries included
    http_retries: int = 0
    waited: float = 0.0  # seconds slept before retries


class Transport:
    """Sends chat completions for every form of a run through one policy (see the module doc)."""

    def __init__(self, settings: LLMSettings, client: openai.AsyncOpenAI) -> None:
        self.settings = settings
        self.client = client
        self.pause = Pause()
        self.request_budget = Bucket(settings.rpm)
        self.token_budget = Bucket(settings.tpm)
        self.breaker = Breaker(settings)
        self.spent = 0.0  # in the price's currency, over every response of this run
        self._first_sent = False
        self._answered = asyncio.Event()  # the run's first request got an answer (or none)

    def sender(self, stats: CallStats, first: Any = None, *, live: bool = True) -> Send:
        """The `create` function one form's calls go through. `first`, a reply already received
        (from a batch), answers the first call without a request; re-asks then go live, or, with
        `live=False`, end the form's calls (NoLiveRequests: the last reply is kept as it is)."""
        waiting = [first] if first is not None else []

        async def send(**kwargs: Any) -> Any:
            if waiting:
                return waiting.pop()
            if not live:
                raise NoLiveRequests("no batch reply left to use and live requests are off")
            return await self.send(stats, kwargs)

        return send

    async def send(self, stats: CallStats, kwargs: dict[str, Any]) -> Any:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.http_retries + 1),
            retry=retry_if_exception(is_transient),
            wait=retry_wait,
            before_sleep=lambda state: self._before_retry(state, stats),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._request(stats, kwargs)
        except openai.APIError as exc:
            self.breaker.failed(exc)  # raises RunStopped when the run must stop
            raise
        self.breaker.succeeded()
        return response

    async def _request(self, stats: CallStats, kwargs: dict[str, Any]) -> Any:
        first = await self._first_goes_alone()
        try:
            self._may_send()
            await self.pause.wait()
            await self.request_budget.take(1)
            estimate = request_tokens(kwargs) if self.settings.tpm else 0
            await self.token_budget.take(estimate)
            self._may_send()  # the breaker or the budget may have tripped while this one waited
            stats.requests += 1
            response = await self.client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            self.breaker.refused(exc)  # a bad key or model stops the run before others send
            raise
        finally:
            if first:
                self._answered.set()
        self._account(kwargs.get("model", self.settings.model), response, estimate)
        return response

    async def _first_goes_alone(self) -> bool:
        """The run's first request is sent alone and the others wait for its answer, so a wrong
        key or model costs one request, not one per worker. True for that first request."""
        if self._answered.is_set():
            return False
        if not self._first_sent:
            self._first_sent = True
            return True
        await self._answered.wait()
        return False

    def _may_send(self) -> None:
        self.breaker.check()
        cap = self.settings.max_cost
        if cap is not None and self.spent >= cap:
            raise BudgetReached(f"spend {self.spent:.4f} reached --max-cost {cap:g}")

    def _account(self, model: str, response: Any, estimate: int) -> None:
        usage = getattr(response, "usage", None)
        prompt = (usage.prompt_tokens or 0) if usage else estimate
        completion = (usage.completion_tokens or 0) if usage else 0
        self.token_budget.charge(prompt + completion - estimate)
        self.spent += self.settings.cost(prompt, completion, model) or 0.0

    def _before_retry(self, state: RetryCallState, stats: CallStats) -> None:
        exc = state.outcome.exception() if state.outcome else None
        seconds = state.upcoming_sleep
        stats.http_retries += 1
        stats.waited += seconds
        if exc is not None and says_wait(exc):
            if seconds > MAX_PAUSE:
                self.breaker.trip(
                    f"{self.settings.base_url} asked to wait {seconds:.0f} s ({describe(exc)}): "
                    "the quota looks spent; run again later, or lower --rpm/--tpm"
                )
            if self.pause.extend(seconds):
                log.warning("%s: pausing all requests for %.1f s", describe(exc), seconds)
        else:
            log.info("%s: retrying in %.1f s", describe(exc) if exc else "?", seconds)


def retry_wait(state: RetryCallState) -> float:
    """The endpoint's Retry-After when it gives one, else jittered exponential backoff."""
    exc = state.outcome.exception() if state.outcome else None
    after = retry_after(exc) if exc is not None else None
    return after if after is not None else BACKOFF(state)


def is_transient(exc: BaseException) -> bool:
    """Worth asking again: the same request may succeed a little later."""
    if isinstance(exc, openai.APIConnectionError):  # timeouts included
        return True
    if not isinstance(exc, openai.APIStatusError):
        return False
    hint = exc.response.headers.get("x-should-retry")
    if hint in ("true", "false"):
        return hint == "true"
    return exc.status_code in (408, 409, 429) or exc.status_code >= 500


def says_wait(exc: BaseException) -> bool:
    """The endpoint asked every client to slow down, not just this request to be repeated."""
    if not isinstance(exc, openai.APIStatusError):
        return False
    return exc.status_code == 429 or retry_after(exc) is not None


def retry_after(exc: BaseException) -> float | None:
    """Seconds from retry-after-ms or Retry-After (seconds or an HTTP date), if positive."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return _positive(float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return _positive(float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return _positive(when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _positive(seconds: float) -> float | None:
    return seconds if seconds > 0 else None


def request_tokens(body: dict[str, Any], count: Callable[[str], int] = estimate_tokens) -> int:
    """Prompt tokens of a chat request: the messages plus the schema it carries as tools or
    response_format (providers bill both), 4 tokens of framing per message; counted by `count`
    (the estimate unless a tokenizer is given)."""
    messages = body.get("messages", [])
    text = "".join(str(m.get("content") or "") for m in messages)
    schema = {k: body[k] for k in ("tools", "response_format") if k in body}
    extra = json.dumps(schema, ensure_ascii=False) if schema else ""
    return count(text) + count(extra) + 4 * len(messages)


def describe(exc: BaseException) -> str:
    """`HTTP 429 <the server's message>` or `APIConnectionError: <message>`, one short line."""
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        said = body.get("message")  # the server's own words, without openai's prefix
        return f"HTTP {exc.status_code}: {str(said)[:200] if said else first_line(exc)}"
    return f"{type(exc).__name__}: {first_line(exc)}"


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


class Pause:
    """A time before which no worker sends: set when the endpoint says to wait."""

    def __init__(self) -> None:
        self.until = 0.0
        self.count = 0  # separate pauses so far (an extension of a running one is not counted)

    def extend(self, seconds: float) -> bool:
        """Pause everyone for `seconds` from now; False if an existing pause already covers it."""
        now = time.monotonic()
        if now + seconds <= self.until:
            return False
        self.count += now >= self.until
        self.until = now + seconds
        return True

    async def wait(self) -> None:
        while (left := self.until - time.monotonic()) > 0:
            await asyncio.sleep(left)


class Bucket:
    """`per_minute` units refilled continuously (a token bucket, starting full); None is no
    limit. Takers queue in order; `charge` corrects an estimate afterwards (the level may go
    below zero: the next takers then wait longer)."""

    def __init__(self, per_minute: int | None) -> None:
        self.capacity = per_minute
        self.level = float(per_minute or 0)
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, units: int) -> None:
        if self.capacity is None:
            return
        units = min(units, self.capacity)  # a request bigger than the budget waits for a full one
        async with self._lock:
            self._refill()
            while self.level < units:
                await asyncio.sleep((units - self.level) * 60 / self.capacity)
                self._refill()
            self.level -= units

    def charge(self, units: int) -> None:
        if self.capacity is not None:
            self._refill()
            self.level -= units

    def _refill(self) -> None:
        now = time.monotonic()
        assert self.capacity is not None
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.capacity / 60)
        self.stamp = now


class Breaker:
    """Stops the run when every further request would fail the same way."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.failures_in_a_row = 0
        self.tripped: RunStopped | None = None

    def check(self) -> None:
        if self.tripped is not None:
            raise self.tripped

    def trip(self, message: str) -> None:
        if self.tripped is None:
            self.tripped = RunStopped(message)
            log.info("stopping the run: %s", message)  # the CLI prints the message itself
        raise self.tripped

    def succeeded(self) -> None:
        self.failures_in_a_row = 0

    def refused(self, exc: openai.APIStatusError) -> None:
        """A 401, 403 or 404 is a setting's fault: every further request would get it too."""
        if exc.status_code in (401, 403, 404):
            self.trip(setting_at_fault(self.settings, exc.status_code, exc))

    def failed(self, exc: openai.APIError) -> None:
        """A request failed for good (after its retries): the N-th form in a row stops the run."""
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= self.settings.max_failures_in_a_row:
            self.trip(_endpoint_at_fault(self.settings, self.failures_in_a_row, exc))


def setting_at_fault(s: LLMSettings, status: int, exc: BaseException) -> str:
    why = describe(exc)
    if status == 401:
        return (
            f"{s.base_url} rejected the API key ({why}): set STRUCTURER_API_KEY "
            "(or OPENAI_API_KEY) to a valid key for this endpoint"
        )
    if status == 403:
        return (
            f"{s.base_url} refused access ({why}): the API key (STRUCTURER_API_KEY) may not be "
            "allowed this model; check it or choose another --model"
        )
    return (
        f"not found at {s.base_url} ({why}): check --model (STRUCTURER_MODEL) and "
        "--base-url (STRUCTURER_BASE_URL; an OpenAI-compatible URL usually ends in /v1)"
    )


def _endpoint_at_fault(s: LLMSettings, n: int, exc: BaseException) -> str:
    why = f"{n} forms in a row failed (last: {describe(exc)})"
    if isinstance(exc, openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError):
        return f"{why}: cannot reach {s.base_url}; check --base-url and that the server is up"
    if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
        return (
            f"{why}: {s.base_url} refuses the requests; check --model and --mode (an endpoint "
            "without tool calling needs --mode json or md_json)"
        )
    return (
        f"{why}: {s.base_url} keeps failing; check the server, or raise --timeout or "
        "--max-failures-in-a-row"
    )
