"""The LLM options shared by every command that can run an LLM backend (extract, eval,
robustness), declared once, and the one place that turns them into a backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

LLM_KEYS = ("base_url", "model", "mode", "max_reasks", "concurrency", "cache_dir", "no_cache",
            "timeout", "max_tokens", "price_in", "price_out")  # fmt: skip
# corpus-scale options (budgets, breaker, escalation): declared by extract and batch collect
SCALE_KEYS = ("fallback_model", "fallback_price_in", "fallback_price_out", "max_cost", "rpm",
              "tpm", "retry_failed", "max_failures_in_a_row")  # fmt: skip

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
    typer.Option(
        help="LLM reply cache. Env: STRUCTURER_CACHE_DIR. Default: "
        "$XDG_CACHE_HOME/structurer/llm, else ~/.cache/structurer/llm.",
        show_default=False,
    ),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
Timeout = Annotated[float, typer.Option(help="Seconds per LLM request.")]
MaxTokens = Annotated[int, typer.Option(help="Completion token limit per LLM request.")]
PriceIn = Annotated[float | None, typer.Option(help="Price per million prompt tokens.")]
PriceOut = Annotated[float | None, typer.Option(help="Price per million completion tokens.")]
FallbackModel = Annotated[
    str | None,
    typer.Option(
        help="A stronger model for the forms whose reply still has problems after the re-asks "
        "(or no valid reply); the reply with fewer problems is kept."
    ),
]
FallbackPriceIn = Annotated[
    float | None, typer.Option(help="The fallback model's price per million prompt tokens.")
]
FallbackPriceOut = Annotated[
    float | None, typer.Option(help="The fallback model's price per million completion tokens.")
]
MaxCost = Annotated[
    float | None,
    typer.Option(
        help="Stop sending requests once this run's spend reaches this (needs the prices); the "
        "forms not done stay pending and a rerun finishes them. Exit code 3."
    ),
]
Rpm = Annotated[int | None, typer.Option(help="At most this many requests per minute.")]
Tpm = Annotated[
    int | None, typer.Option(help="At most this many tokens per minute (prompt + completion).")
]
RetryFailed = Annotated[
    bool,
    typer.Option(
        "--retry-failed",
        help="Send again the forms whose cached reply still had problems after the re-asks "
        "(forms with no valid reply are never cached: they are always sent again).",
    ),
]
MaxFailuresInARow = Annotated[
    int,
    typer.Option(
        help="Stop the run (exit 2) when this many forms in a row fail on HTTP errors. A 401, "
        "403 or 404 stops it at once."
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Read the inputs and build each form's request, then stop: nothing is sent, no "
        "output or cache is written, no API key is needed. Prints the forms, those the cache "
        "would serve, the calls and tokens (tiktoken's count when its encoding is installed, "
        "else an estimate; the table says which) and, with --price-in/--price-out, the cost.",
    ),
]
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
    settings.update({k: args[k] for k in SCALE_KEYS if k in args})
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


def print_estimate(backend: Any, documents: list[Any], console: Any) -> None:
    """`--dry-run`: what the backend would send for `documents`, without sending anything."""
    from ..pipeline import plan_jobs, vocab_of

    jobs = plan_jobs(documents, vocab_of(backend))
    if not hasattr(backend, "settings") and not hasattr(backend, "llm"):
        console.print(f"{len(jobs)} forms; the {backend.name} backend sends nothing to an LLM")
        return
    from ..llm.estimate import estimate

    console.print(estimate(backend, jobs).table())
