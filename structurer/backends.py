"""Backends by name: the one registry the CLI and library callers choose from.

`rules` reads each form's grid with the deterministic extractor (offline). `llm` sends each form
to an OpenAI-compatible model. `hybrid` runs the rules first and sends the LLM only what the
rules could not read. `auto` is hybrid once a model is configured (argument or
STRUCTURER_MODEL), else rules: the tool works offline by default. LLM backends import openai and
instructor only when made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .errors import StructurerError
from .models import Backend
from .vocab import Vocabulary


def _rules(vocab: Vocabulary | None, **settings: Any) -> Backend:
    from .rules import RulesBackend

    return RulesBackend(vocab)


def _llm(vocab: Vocabulary | None, **settings: Any) -> Backend:
    from .llm.backend import LLMBackend
    from .llm.settings import resolve_settings

    return LLMBackend(resolve_settings(**settings), vocab)


def _hybrid(vocab: Vocabulary | None, **settings: Any) -> Backend:
    from .llm.hybrid import HybridBackend
    from .llm.settings import resolve_settings

    return HybridBackend(resolve_settings(**settings), vocab)


BACKENDS: dict[str, Callable[..., Backend]] = {"rules": _rules, "llm": _llm, "hybrid": _hybrid}
NAMES = ("auto", *BACKENDS)


def resolve_name(name: str, *, model: str | None = None) -> str:
    """The backend `name` stands for: `auto` becomes hybrid with a model, else rules."""
    if name not in NAMES:
        raise StructurerError(f"unknown backend {name!r}; choose from {', '.join(NAMES)}")
    if name == "auto":
        return "hybrid" if model or os.environ.get("STRUCTURER_MODEL") else "rules"
    return name


def make_backend(
    name: str = "auto", *, vocab: Vocabulary | None = None, **settings: Any
) -> Backend:
    """The backend called `name`; `settings` are the LLM options (model, base_url, mode...),
    ignored by the rules backend. Raises StructurerError for an unknown name or unusable
    settings."""
    resolved = resolve_name(name, model=settings.get("model"))
    return BACKENDS[resolved](vocab, **settings)
