"""LLM settings: one value object built from the CLI's options and the environment.

The API key lives only here, in a field kept out of `repr`, and is never written anywhere: the
cache key, records, logs and summaries are built from the other fields.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from ..errors import StructurerError

MODES = ("tools", "json", "json_schema", "md_json")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
LOCAL_KEY = "sk-local"  # the openai client insists on a key, local servers ignore it
HTTP_RETRIES = 4  # 429/5xx/timeouts, retried by the openai client (honours Retry-After)


@dataclass(frozen=True)
class LLMSettings:
    model: str
    base_url: str = DEFAULT_BASE_URL
    mode: str = "tools"
    max_reasks: int = 2
    concurrency: int = 4
    cache_dir: Path | None = None
    no_cache: bool = False
    timeout: float = 120.0
    max_tokens: int = 4096
    price_in: float | None = None
    price_out: float | None = None
    http_retries: int = HTTP_RETRIES
    reasoning: bool = False  # max_completion_tokens, no temperature (llm/params.py)
    api_key: str = field(default="", repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        return (urlparse(self.base_url).hostname or "") in LOCAL_HOSTS

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Cost in the price's currency, None unless both prices are given (per million)."""
        if self.price_in is None or self.price_out is None:
            return None
        return (prompt_tokens * self.price_in + completion_tokens * self.price_out) / 1e6


def resolve_settings(
    *,
    model: str | None = None,
    base_url: str | None = None,
    mode: str = "tools",
    max_reasks: int = 2,
    concurrency: int = 4,
    cache_dir: str | Path | None = None,
    no_cache: bool = False,
    timeout: float = 120.0,
    max_tokens: int = 4096,
    price_in: float | None = None,
    price_out: float | None = None,
    http_retries: int = HTTP_RETRIES,
    reasoning: bool | None = None,
) -> LLMSettings:
    """Validate the options, fill the gaps from the environment; raise StructurerError if unusable."""
    model = model or os.environ.get("STRUCTURER_MODEL")
    if not model:
        raise StructurerError("no LLM model given: pass --model or set STRUCTURER_MODEL")
    if mode not in MODES:
        raise StructurerError(f"unknown --mode {mode!r}; choose from {', '.join(MODES)}")
    if max_reasks < 0 or concurrency < 1 or timeout <= 0 or max_tokens < 1:
        raise StructurerError(
            "--max-reasks must be >= 0, --concurrency >= 1, --timeout and --max-tokens > 0"
        )
    base_url = (
        base_url
        or os.environ.get("STRUCTURER_BASE_URL")
        or os.environ.get("OPENAI_BASE_URL")
        or DEFAULT_BASE_URL
    )
    key = os.environ.get("STRUCTURER_API_KEY") or os.environ.get("OPENAI_API_KEY")
    settings = LLMSettings(
        model=model,
        base_url=base_url.rstrip("/"),
        mode=mode,
        max_reasks=max_reasks,
        concurrency=concurrency,
        cache_dir=Path(cache_dir) if cache_dir else default_cache_dir(),
        no_cache=no_cache,
        timeout=timeout,
        max_tokens=max_tokens,
        price_in=price_in,
        price_out=price_out,
        http_retries=http_retries,
        reasoning=os.environ.get("STRUCTURER_REASONING") == "1" if reasoning is None else reasoning,
        api_key=key or LOCAL_KEY,
    )
    if not key and not settings.is_local:
        raise StructurerError(
            f"no API key for {settings.base_url}: set STRUCTURER_API_KEY (or OPENAI_API_KEY)"
        )
    return settings


def default_cache_dir() -> Path:
    env = os.environ.get("STRUCTURER_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "structurer" / "llm"
