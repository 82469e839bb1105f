"""LLM extraction: an OpenAI-compatible model reads the form's grid into a checked record.

Backends are made through `structurer.backends.make_backend("llm" | "hybrid", ...)`. Modules:
settings (options, key), params (max_tokens/temperature, reasoning models), prompt (templates in
`prompts/`, the compact grid), schema (reply model, strict schema, fixable checks, conversion),
reask (the source checks in the validator), shadow (the rules' reading: recall findings, the
cells labels point at), client (openai + instructor, faults), cache (diskcache), backend (LLM),
hybrid (rules first), usage (totals, source cells).
"""

from __future__ import annotations

from .settings import LLMSettings, resolve_settings

__all__ = ["LLMSettings", "resolve_settings"]
