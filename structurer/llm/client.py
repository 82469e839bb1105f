"""One extraction call: openai (HTTP retries) + instructor (schema, re-asks) + the fault rules.

Faults and what happens:
- 429 / 5xx / timeouts: retried by the openai client with backoff, honouring Retry-After.
- a reply that is not valid JSON or fails the schema: re-asked up to `max_reasks` times.
- a reply that parses but fails the fixable checks after the re-asks: kept, problems returned.
- finish_reason == "length": asked once more with twice the max_tokens, then LLMError.
- a 400 refusing max_tokens or temperature (a reasoning model): the run switches to
  max_completion_tokens / no temperature (`params.py`) and the form is asked again.
- anything else (HTTP error after the retries, JSON never valid): LLMError for this form only.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from instructor.v2.core.hooks import Hooks
from pydantic import ValidationError

from ..errors import LLMError
from ..vocab import resolve
from .params import RequestParams
from .schema import FormDraft, fixable_problems, missing_keys, reply_model, response_format
from .settings import LLMSettings

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
    """This form got no record; carries the calls and tokens spent on it anyway."""

    def __init__(self, message: str, usage: Outcome) -> None:
        super().__init__(message)
        self.usage = usage


def make_client(settings: LLMSettings) -> tuple[openai.AsyncOpenAI, Any]:
    """An AsyncOpenAI client (close it) and its instructor wrapper, one per event loop."""
    raw = openai.AsyncOpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=settings.http_retries,
    )
    return raw, instructor.from_openai(raw, mode=MODES[settings.mode])


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
    except LLMError as exc:
        raise CallFailed(str(exc), _usage(Outcome(FormDraft()), responses)) from None


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
    response_model = reply_model(context.get("vocab") or resolve(None))
    extra: dict[str, Any] = {}
    if settings.mode == "json_schema":  # instructor sends the schema without `strict`
        extra["extra_body"] = {"response_format": response_format(response_model)}
    try:
        model, _ = await client.create_with_completion(
            model=settings.model,
            messages=[dict(m) for m in messages],
            response_model=response_model,
            context=context,
            max_retries=settings.max_reasks,
            hooks=hooks,
            **params.kwargs(max_tokens),
            **extra,
        )
    except InstructorRetryException as exc:
        if params.adapt(exc.__cause__ or exc.__context__):
            raise _Refused from None
        return _usage(_keep_last(exc, context), responses)
    except openai.BadRequestError as exc:
        if params.adapt(exc):
            raise _Refused from None
        raise LLMError(f"request failed: {_describe(exc)}") from None
    return _usage(Outcome(model), responses)


class _Refused(Exception):
    """The endpoint refused a sampling parameter; `RequestParams` has switched it."""


def _keep_last(exc: InstructorRetryException, context: dict[str, Any]) -> Outcome:
    """Re-asks ran out: keep the last reply if it parses with every key, with its problems for
    the findings (the source checks' errors reach the record through the checker and shadow)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, openai.APIError) or exc.last_completion is None:
        raise LLMError(f"request failed: {_describe(cause or exc)}") from None
    try:
        data = completion_json(exc.last_completion)
        draft = FormDraft.model_validate(data)
    except (ValueError, ValidationError) as err:
        raise LLMError(
            f"no valid reply after {exc.n_attempts} attempts: {_first_line(err)}"
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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code} {_first_line(exc)}"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]
