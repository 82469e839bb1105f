"""LLM extraction: an OpenAI-compatible model reads the form's grid into a checked record.

Public API: `make_backend(name, **settings)` -> a pipeline Backend ("llm" or "hybrid") with a
`summary()` of calls, tokens, cache hits and cost. Modules: settings (options, key), prompt
(templates in `prompts/`, the compact grid), schema (reply model, fixable checks, conversion),
client (openai + instructor, faults), cache (diskcache), backend (LLM), hybrid (rules first).
"""

from __future__ import annotations

from typing import Any

from ..errors import StructurerError
from .settings import LLMSettings, resolve_settings

__all__ = ["LLMSettings", "make_backend", "resolve_settings"]


def make_backend(name: str, **settings: Any) -> Any:
    """The "llm" or "hybrid" backend for these settings (the CLI's extract options)."""
    resolved = resolve_settings(**settings)
    if name == "llm":
        from .backend import LLMBackend

        return LLMBackend(resolved)
    if name == "hybrid":
        from .hybrid import HybridBackend

        return HybridBackend(resolved)
    raise StructurerError(f"unknown LLM backend {name!r}; choose llm or hybrid")
