"""LLM extraction: an OpenAI-compatible model reads the form's grid into a checked record.

Backends are made through `structurer.backends.make_backend("llm" | "hybrid", ...)`. Modules:
settings (options, key), prompt (templates in `prompts/`, the compact grid), schema (reply model,
fixable checks, conversion), client (openai + instructor, faults), cache (diskcache), backend
(LLM), hybrid (rules first), usage (totals, source cells).
"""

from __future__ import annotations

from .settings import LLMSettings, resolve_settings

__all__ = ["LLMSettings", "resolve_settings"]
