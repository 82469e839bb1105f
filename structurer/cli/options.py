"""The LLM options shared by every command that can run an LLM backend (extract, eval,
robustness), declared once, and the one place that turns them into a backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

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
BackendName = Annotated[
    str,
    typer.Option(
        "--backend",
        "-b",
        help="rules (offline, deterministic), llm, hybrid (rules first, the LLM only for forms "
        "the rules could not read) or auto: hybrid when a model is configured, else rules.",
    ),
]
VocabFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--vocab",
        help='A template vocabulary TOML file (extends = "base") adding label spellings, '
        "titles or level names; repeatable.",
    ),
]


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


def backend_from_options(name: str, settings: dict[str, Any], vocab: Any = None) -> Any:
    """The backend a command's --backend and LLM options (`llm_settings`) ask for."""
    from ..backends import make_backend

    return make_backend(name, vocab=vocab, **settings)


def vocabulary(files: list[Path] | None) -> Any:
    """The bundled template vocabulary, extended by the --vocab files."""
    from ..vocab import load_vocabulary

    return load_vocabulary(files or ())
