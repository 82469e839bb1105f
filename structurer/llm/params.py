"""The sampling parameters a request carries, and how they adapt to reasoning models.

Chat models take `max_tokens` and `temperature=0`. Reasoning models (OpenAI's o-series and
gpt-5 family, and providers copying them) refuse both with HTTP 400: `max_tokens` must be sent as
`max_completion_tokens`, and `temperature` only takes its default. The setting
`LLMSettings.reasoning` (env STRUCTURER_REASONING=1) sends the reasoning form from the start;
without it, a 400 that names one of the two parameters switches this run's requests over and the
form is asked again - the model name is never guessed from.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import openai

log = logging.getLogger("structurer")
_NAMED = re.compile(r"\b(max_tokens|temperature)\b")
# How servers say a parameter is refused (not merely out of range: "max_tokens is too large"
# names it too, and renaming it would not help).
_REFUSED = re.compile(
    r"unsupported|not supported|does not support|unrecognized|unknown|not allowed", re.I
)
_REFUSED_CODES = {"unsupported_parameter", "unsupported_value"}


@dataclass
class RequestParams:
    """One run's parameters; shared by its forms, so a refusal is learned once."""

    completion_tokens: bool = False  # max_completion_tokens instead of max_tokens
    temperature: bool = True  # send temperature=0 (deterministic reading)

    @classmethod
    def for_reasoning(cls, reasoning: bool) -> RequestParams:
        return cls(completion_tokens=reasoning, temperature=not reasoning)

    def kwargs(self, max_tokens: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "max_completion_tokens" if self.completion_tokens else "max_tokens": max_tokens
        }
        if self.temperature:
            out["temperature"] = 0
        return out

    def adapt(self, error: BaseException | None) -> bool:
        """Switch off what a 400 says the model refuses; False when it names nothing we send."""
        refused = refused_parameter(error)
        if refused == "max_tokens" and not self.completion_tokens:
            self.completion_tokens = True
        elif refused == "temperature" and self.temperature:
            self.temperature = False
        else:
            return False
        log.info("the model refuses %s: sending the reasoning-model form from now on", refused)
        return True


def refused_parameter(error: BaseException | None) -> str | None:
    """`max_tokens` or `temperature` when `error` is a 400 refusing it (OpenAI sets `code` and
    `param`; compatible servers often only say it in the message)."""
    if not isinstance(error, openai.BadRequestError):
        return None
    message = str(error)
    if getattr(error, "code", None) not in _REFUSED_CODES and not _REFUSED.search(message):
        return None
    param = getattr(error, "param", None)
    if param in ("max_tokens", "temperature"):
        return str(param)
    found = _NAMED.search(message)
    return found.group(1) if found else None
