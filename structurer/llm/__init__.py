"""LLM extraction: an OpenAI-compatible model reads the form's grid into a checked record.

Backends are made through `structurer.backends.make_backend("llm" | "hybrid", ...)`. Modules:
settings (options, key), params (max_tokens/temperature, reasoning models), prompt (templates in
`prompts/`, the compact grid), schema (reply model, strict schema, fixable checks, conversion),
reask (the source checks in the validator), shadow (the rules' reading: recall findings, the
cells labels point at), transport (the run's HTTP policy: retries, shared pause, budgets,
breaker, cost cap), client (instructor over the transport, faults, the request a form sends),
cache (diskcache), backend (LLM, escalation), hybrid (rules first), usage (totals, source
cells), estimate (dry run), batch (provider batch jobs).
"""

from __future__ import annotations

from typing import Any

__all__ = ["LLMSettings", "resolve_settings"]


def __getattr__(name: str) -> Any:
    """Imported when first used: the CLI reads config_fields.py without loading pydantic."""
    if name in __all__:
        from . import settings

        return getattr(settings, name)
    raise AttributeError(name)
