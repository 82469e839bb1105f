"""The LLM options shared by every command that can run an LLM backend (extract, eval,
robustness), declared once, and the one place that turns them into a backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

BACKENDS = ("auto", "rules", "llm", "hybrid")
LLM_KEYS = ("base_url", "model", "mode", "max_reasks", "concurrency", "cache_dir", "no_cache",
            "timeout", "max_tokens", "price_in", "price_out")  # fmt: skip

BaseUrl = Annotated[
    str | None,
    typer.Option(
        help="OpenAI-compatible endpoint. Env: STRUCTURER_BASE_URL, then OPENAI_BASE_URL."
    ),
]
Model = Annotated[str | None, typer.Option(help="Model name. Env: STRUCTURER_MODEL.")]
Mode = Annotated[
    str,
    typer.Option(
        help="How the schema is enforced: tools | json | json_schema | md_json "
        "(md_json for providers without tool calling)."
    ),
]
MaxReasks = Annotated[int, typer.Option(help="Re-asks after a reply fails validation.")]
Concurrency = Annotated[int, typer.Option(help="LLM requests in flight at once.")]
CacheDir = Annotated[
    Path | None,
    typer.Option(help="LLM reply cache. Env: STRUCTURER_CACHE_DIR; default ~/.cache/structurer."),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
Timeout = Annotated[float, typer.Option(help="Seconds per LLM request.")]
MaxTokens = Annotated[int, typer.Option(help="Completion token limit per LLM request.")]
PriceIn = Annotated[float | None, typer.Option(help="Price per million prompt tokens.")]
PriceOut = Annotated[float | None, typer.Option(help="Price per million completion tokens.")]


def llm_settings(args: dict[str, Any]) -> dict[str, Any]:
    """The LLM options of a command's arguments, with the endpoint and model from the
    environment when not given. The API key is read by the backend, never passed around."""
    settings = {k: args[k] for k in LLM_KEYS}
    settings["base_url"] = (
        settings["base_url"]
        or os.environ.get("STRUCTURER_BASE_URL")
        or os.environ.get("OPENAI_BASE_URL")
    )
    settings["model"] = settings["model"] or os.environ.get("STRUCTURER_MODEL")
    return settings


def choose_backend(backend: str, settings: dict[str, Any]) -> str:
    """`auto` is hybrid once a model is configured (rules first, the LLM only where needed),
    else rules: the tool works offline by default."""
    if backend not in BACKENDS:
        raise typer.BadParameter(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "auto":
        return "hybrid" if settings["model"] else "rules"
    return backend


def make_backend(name: str, settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    if name == "rules":
        from ..pipeline import RulesBackend

        return RulesBackend()
    from ..llm import make_backend as make_llm_backend  # lazily: openai/instructor load here

    return make_llm_backend(name, **settings)
