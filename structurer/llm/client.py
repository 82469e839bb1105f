"""One extraction call: openai (HTTP retries) + instructor (schema, re-asks) + the fault rules.

Faults and what happens:
- 429 / 5xx / timeouts: retried by the openai client with backoff, honouring Retry-After.
- a reply that is not valid JSON or fails the schema: re-asked up to `max_reasks` times.
- a reply that parses but fails the fixable checks after the re-asks: kept, problems returned.
- finish_reason == "length": asked once more with twice the max_tokens, then LLMError.
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
from .schema import FormDraft, FormExtraction, fixable_problems
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
) -> Outcome:
    """Ask for one form; at most one retry for a reply cut off by max_tokens. `context` reaches
    the reply model's validators (the vocabulary the checks read levels from)."""
    responses: list[Any] = []  # every completion received, for calls and token usage
    max_tokens = settings.max_tokens
    try:
        for attempt in (1, 2):
            try:
                return await _ask(client, settings, messages, max_tokens, responses, context)
            except IncompleteOutputException:
                if attempt == 2:
                    raise LLMError(
                        f"{label}: reply cut off at max_tokens={max_tokens} twice "
                        "(finish_reason=length); raise --max-tokens"
                    ) from None
                log.info("%s: reply cut off at max_tokens=%d, asking again", label, max_tokens)
                max_tokens *= 2
        raise AssertionError("unreachable")
    except LLMError as exc:
        raise CallFailed(str(exc), _usage(Outcome(FormDraft()), responses)) from None


async def _ask(
    client: Any,
    settings: LLMSettings,
    messages: list[dict[str, str]],
    max_tokens: int,
    responses: list[Any],
    context: dict[str, Any] | None = None,
) -> Outcome:
    hooks = Hooks()
    hooks.on("completion:response", responses.append)
    try:
        model, _ = await client.create_with_completion(
            model=settings.model,
            messages=[dict(m) for m in messages],
            response_model=FormExtraction,
            context=context,
            max_retries=settings.max_reasks,
            max_tokens=max_tokens,
            temperature=0,
            hooks=hooks,
        )
    except InstructorRetryException as exc:
        return _usage(_keep_last(exc, (context or {}).get("vocab")), responses)
    return _usage(Outcome(model), responses)


def _keep_last(exc: InstructorRetryException, vocab: Any = None) -> Outcome:
    """Re-asks ran out: keep the last reply if it parses, with its problems for the findings."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, openai.APIError) or exc.last_completion is None:
        raise LLMError(f"request failed: {_describe(cause or exc)}") from None
    try:
        draft = FormDraft.model_validate(completion_json(exc.last_completion))
    except (ValueError, ValidationError) as err:
        raise LLMError(
            f"no valid reply after {exc.n_attempts} attempts: {_first_line(err)}"
        ) from None
    return Outcome(draft, problems=fixable_problems(draft, vocab))


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
