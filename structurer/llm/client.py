"""One extraction call: instructor (schema, re-asks) over the run's transport + the fault rules.

Faults and what happens:
- 429 / 5xx / timeouts / connection errors: retried by the transport (`llm.transport`, one
  tenacity policy for the run; the openai client's own retries are off).
- a reply that is not valid JSON or fails the schema: re-asked up to `max_reasks` times.
- a reply that parses but fails the fixable checks after the re-asks: kept, problems returned.
- finish_reason == "length": asked once more with twice the max_tokens, then LLMError.
- a 400 refusing max_tokens or temperature (a reasoning model): the run switches to
  max_completion_tokens / no temperature (`params.py`) and the form is asked again.
- anything else (HTTP error after the retries, JSON never valid): LLMError for this form only.
- RunStopped (bad key or model, endpoint down, cost cap): passes through; the run stops.

The request a form's first call sends is also what a batch line carries (`request_body`): it is
captured from the same code path, never rebuilt by hand.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from instructor.v2.core.function_calls import response_schema
from instructor.v2.core.hooks import Hooks
from pydantic import ValidationError

from ..errors import LLMError, RunStopped
from ..vocab import Vocabulary, resolve
from .params import RequestParams
from .schema import (
    REPLY_CONTEXT,
    FormDraft,
    FormExtraction,
    fixable_problems,
    missing_keys,
    reply_model,
    response_format,
)
from .settings import LLMSettings
from .transport import Send, describe, first_line

log = logging.getLogger("structurer")

MODES = {
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "md_json": instructor.Mode.MD_JSON,
}
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


@dataclass
class Outcome:
    draft: FormDraft
    problems: list[str] = field(default_factory=list)  # left after the re-asks
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class CallFailed(LLMError):
    """This form got no record; carries the calls and tokens spent on it anyway. `http`: the
    endpoint failed (not the model's reply), so another model would not help."""

    def __init__(self, message: str, usage: Outcome, *, http: bool = False) -> None:
        super().__init__(message)
        self.usage = usage
        self.http = http


class RequestFailed(LLMError):
    """An HTTP error the transport did not retry away."""


class _Captured(Exception):
    """Ends a call at its first request: `request_body` only wanted to see it."""


@functools.cache
def instructor_model(vocab: Vocabulary) -> type[FormExtraction]:
    """`reply_model(vocab)` as instructor's response-schema class, made once. Given the plain
    model, instructor derives a new class and regenerates its JSON schema for every request
    (~25 ms of CPU each: the limit of live throughput at high concurrency, and of building a
    100,000-line batch file); the same class every time, its schema computed once, avoids that."""
    wrapped = response_schema(reply_model(vocab))
    schema = json.dumps(wrapped.model_json_schema())

    def model_json_schema(cls: type, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:
            return super(reply, cls).model_json_schema(*args, **kwargs)  # type: ignore[misc]
        return json.loads(schema)  # a fresh copy: callers may edit it

    reply = type(wrapped)(
        wrapped.__name__,
        (wrapped,),
        {"__module__": __name__, "model_json_schema": classmethod(model_json_schema)},
    )
    return reply


def make_client(settings: LLMSettings) -> openai.AsyncOpenAI:
    """The run's AsyncOpenAI client (close it), one per event loop. max_retries=0: retries are
    the transport's, so none is doubled."""
    return openai.AsyncOpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=0,
    )


def instructor_client(send: Send, mode: str) -> Any:
    """instructor over `send` (the transport's create function) instead of the openai client's
    own: the same request preparation, parsing and re-asks, every request through our policy."""
    patched = instructor.patch(create=send, mode=MODES[mode])
    return instructor.AsyncInstructor(client=None, create=patched, mode=MODES[mode])


async def request_body(
    settings: LLMSettings,
    messages: list[dict[str, str]],
    context: dict[str, Any] | None = None,
    params: RequestParams | None = None,
) -> dict[str, Any]:
    """The JSON body the live path sends first for `messages` (model, messages, schema as tools
    or response_format, sampling parameters): what a batch line carries. `extra_body` is merged
    in as the openai client does when it sends."""
    captured: dict[str, Any] = {}

    async def capture(**kwargs: Any) -> Any:
        captured.update(kwargs)
        raise _Captured

    client = instructor_client(capture, settings.mode)
    params = params or RequestParams.for_reasoning(settings.reasoning)
    with contextlib.suppress(_Captured):
        await _ask(client, settings, messages, settings.max_tokens, [], context, params)
    body = {k: v for k, v in captured.items() if k != "extra_body"}
    return {**body, **(captured.get("extra_body") or {})}


async def extract(
    client: Any,
    settings: LLMSettings,
    messages: list[dict[str, str]],
    *,
    label: str,
    context: dict[str, Any] | None = None,
    params: RequestParams | None = None,
) -> Outcome:
    """Ask for one form; at most one retry for a reply cut off by max_tokens, and one per
    parameter a reasoning model refuses. `context` reaches the reply model's validators (the
    vocabulary, and the form the source checks read); `params` is shared by a run's forms."""
    responses: list[Any] = []  # every completion received, for calls and token usage
    params = params or RequestParams.for_reasoning(settings.reasoning)
    max_tokens, cut = settings.max_tokens, 0
    try:
        while True:
            try:
                return await _ask(
                    client, settings, messages, max_tokens, responses, context, params
                )
            except _Refused:
                continue  # params changed: the same form again
            except IncompleteOutputException:
                cut += 1
                if cut == 2:
                    raise LLMError(
                        f"{label}: reply cut off at max_tokens={max_tokens} twice "
                        "(finish_reason=length); raise --max-tokens"
                    ) from None
                log.info("%s: reply cut off at max_tokens=%d, asking again", label, max_tokens)
                max_tokens *= 2
    except RunStopped:
        raise
    except LLMError as exc:
        usage = _usage(Outcome(FormDraft()), responses)
        raise CallFailed(str(exc), usage, http=isinstance(exc, RequestFailed)) from None


async def _ask(
    client: Any,
    settings: LLMSettings,
    messages: list[dict[str, str]],
    max_tokens: int,
    responses: list[Any],
    context: dict[str, Any] | None,
    params: RequestParams,
) -> Outcome:
    hooks = Hooks()
    hooks.on("completion:response", responses.append)
    context = context or {}
    response_model = instructor_model(context.get("vocab") or resolve(None))
    extra: dict[str, Any] = {}
    if settings.mode == "json_schema":  # instructor sends the schema without `strict`
        extra["extra_body"] = {"response_format": response_format(response_model)}
    # the validators read the context from REPLY_CONTEXT: instructor's context= would render the
    # messages (the form's own text) as Jinja2 templates
    reading = REPLY_CONTEXT.set(context)
    try:
        model, _ = await client.create_with_completion(
            model=settings.model,
            messages=[dict(m) for m in messages],
            response_model=response_model,
            max_retries=settings.max_reasks,
            hooks=hooks,
            **params.kwargs(max_tokens),
            **extra,
        )
    except InstructorRetryException as exc:
        _pass_through(exc)
        if params.adapt(exc.__cause__ or exc.__context__):
            raise _Refused from None
        return _usage(_keep_last(exc, context), responses)
    except openai.BadRequestError as exc:
        if params.adapt(exc):
            raise _Refused from None
        raise RequestFailed(f"request failed: {describe(exc)}") from None
    finally:
        REPLY_CONTEXT.reset(reading)
    return _usage(Outcome(model), responses)


class _Refused(Exception):
    """The endpoint refused a sampling parameter; `RequestParams` has switched it."""


def _pass_through(exc: InstructorRetryException) -> None:
    """A stop of the run (or a captured request) is not this form's failure: raise it as is."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, RunStopped | _Captured):
        raise cause from None


def _keep_last(exc: InstructorRetryException, context: dict[str, Any]) -> Outcome:
    """Re-asks ran out: keep the last reply if it parses with every key, with its problems for
    the findings (the source checks' errors reach the record through the checker and shadow)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, openai.APIError):
        raise RequestFailed(f"request failed: {describe(cause)}") from None
    if exc.last_completion is None:
        raise LLMError(f"request failed: {describe(cause or exc)}") from None
    try:
        data = completion_json(exc.last_completion)
        draft = FormDraft.model_validate(data)
    except (ValueError, ValidationError) as err:
        raise LLMError(
            f"no valid reply after {exc.n_attempts} attempts: {first_line(err)}"
        ) from None
    missing = missing_keys(data)
    if missing:
        raise LLMError(
            f"no valid reply after {exc.n_attempts} attempts: missing {', '.join(missing[:8])}"
        )
    problems = fixable_problems(draft, context.get("vocab"), context.get("source"))
    return Outcome(draft, problems=problems)


def completion_json(completion: Any) -> Any:
    """The JSON a chat completion carries, as a tool call's arguments or as (fenced) content."""
    message = completion.choices[0].message
    calls = getattr(message, "tool_calls", None)
    text = calls[0].function.arguments if calls else (message.content or "")
    fenced = _FENCE.search(text)
    return json.loads(fenced.group(1) if fenced else text)


def _usage(outcome: Outcome, responses: list[Any]) -> Outcome:
    """Calls and tokens summed over every completion (re-asks and length retries included)."""
    outcome.calls = len(responses)
    for response in responses:
        usage = getattr(response, "usage", None)
        if usage is not None:
            outcome.prompt_tokens += usage.prompt_tokens or 0
            outcome.completion_tokens += usage.completion_tokens or 0
    return outcome
