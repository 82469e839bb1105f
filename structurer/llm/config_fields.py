"""The LLM settings a user can set, as data: the one declaration `LLMConfig` (settings.py, a
pydantic model) is made from, and the CLI's LLM options too (cli/options.py). Plain Python, so
that building the command line (`structurer --help`) does not import pydantic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODES = ("tools", "json", "json_schema", "md_json")
FAILURES_IN_A_ROW = 5  # forms failing on HTTP errors one after another before the run stops


@dataclass(frozen=True)
class Setting:
    name: str
    type: type  # str, int, float, bool or Path
    default: Any  # None: not set (the next layer, or the backend, decides)
    help: str
    ge: float | None = None  # lower bounds, checked by the model
    gt: float | None = None
    choices: tuple[str, ...] = ()
    option: bool = True  # a CLI option of its own (else environment and config file only)


SETTINGS: tuple[Setting, ...] = (
    Setting("model", str, None, "Model name. Env: STRUCTURER_MODEL."),
    Setting("base_url", str, None,
            "OpenAI-compatible endpoint. Env: STRUCTURER_BASE_URL, then OPENAI_BASE_URL."),
    Setting("mode", str, "tools",
            "How the schema is enforced: tools | json | json_schema | md_json (md_json for "
            "providers without tool calling).", choices=MODES),
    Setting("prompt", str, None,
            "Prompt version (a name in prompts/manifest.json, e.g. extract-v2) or a template "
            "file. Default: the manifest's current extract prompt."),
    Setting("max_reasks", int, 2, "Re-asks after a reply fails validation.", ge=0),
    Setting("concurrency", int, 4, "LLM requests in flight at once.", ge=1),
    Setting("cache_dir", Path, None,
            "LLM reply cache. Env: STRUCTURER_CACHE_DIR. Default: $XDG_CACHE_HOME/structurer/llm, "
            "else ~/.cache/structurer/llm."),
    Setting("no_cache", bool, False, "Neither read nor write the cache."),
    Setting("timeout", float, 120.0, "Seconds per LLM request.", gt=0),
    Setting("max_tokens", int, 4096, "Completion token limit per LLM request.", ge=1),
    Setting("price_in", float, None, "Price per million prompt tokens.", ge=0),
    Setting("price_out", float, None, "Price per million completion tokens.", ge=0),
    Setting("fallback_model", str, None,
            "A stronger model for the forms whose reply still has problems after the re-asks "
            "(or no valid reply); the reply with fewer problems is kept."),
    Setting("fallback_price_in", float, None,
            "The fallback model's price per million prompt tokens.", ge=0),
    Setting("fallback_price_out", float, None,
            "The fallback model's price per million completion tokens.", ge=0),
    Setting("max_cost", float, None,
            "Stop sending requests once this run's spend reaches this (needs the prices); the "
            "forms not done stay pending and a rerun finishes them. Exit code 3.", gt=0),
    Setting("rpm", int, None, "At most this many requests per minute.", gt=0),
    Setting("tpm", int, None, "At most this many tokens per minute (prompt + completion).", gt=0),
    Setting("retry_failed", bool, False,
            "Send again the forms whose cached reply still had problems after the re-asks "
            "(forms with no valid reply are never cached: they are always sent again)."),
    Setting("max_failures_in_a_row", int, FAILURES_IN_A_ROW,
            "Stop the run (exit 2) when this many forms in a row fail on HTTP errors. A 401, 403 "
            "or 404 stops it at once.", ge=1),
    Setting("reasoning", bool, None,
            "A reasoning model: max_completion_tokens, no temperature (llm/params.py). Env: "
            "STRUCTURER_REASONING=1. Default: learned from the endpoint's first refusal.",
            option=False),
)  # fmt: skip
BY_NAME = {s.name: s for s in SETTINGS}
