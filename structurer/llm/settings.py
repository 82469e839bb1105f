"""LLM settings: one value object built from the CLI's options and the environment.

The API key lives only here, in a field kept out of `repr`, and is never written anywhere: the
cache key, records, logs and summaries are built from the other fields.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from ..errors import StructurerError

MODES = ("tools", "json", "json_schema", "md_json")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
LOCAL_KEY = "sk-local"  # the openai client insists on a key, local servers ignore it
HTTP_RETRIES = 4  # 429/5xx/timeouts/connection errors: retries per request (llm.transport)
FAILURES_IN_A_ROW = 5  # forms failing on HTTP errors one after another before the run stops


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
    fallback_model: str | None = None  # forms still with problems after the re-asks go here
    fallback_price_in: float | None = None
    fallback_price_out: float | None = None
    max_cost: float | None = None  # stop sending once the spend reaches it (prices needed)
    rpm: int | None = None  # requests per minute, all workers together
    tpm: int | None = None  # tokens per minute (prompt estimated before, corrected after)
    retry_failed: bool = False  # re-send forms whose cached reply still had problems
    max_failures_in_a_row: int = FAILURES_IN_A_ROW
    api_key: str = field(default="", repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        return (urlparse(self.base_url).hostname or "") in LOCAL_HOSTS

    @property
    def models(self) -> tuple[str, ...]:
        """The model first, then the fallback model if any."""
        return (self.model, self.fallback_model) if self.fallback_model else (self.model,)

    def cost(
        self, prompt_tokens: int, completion_tokens: int, model: str | None = None
    ) -> float | None:
        """Cost in the price's currency of tokens sent to `model` (default: the main model),
        None unless both its prices are given (per million tokens)."""
        price_in, price_out = self.prices(model or self.model)
        if price_in is None or price_out is None:
            return None
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6

    def prices(self, model: str) -> tuple[float | None, float | None]:
        if model == self.fallback_model and model != self.model:
            return self.fallback_price_in, self.fallback_price_out
        return self.price_in, self.price_out

    def for_fallback(self) -> LLMSettings:
        """The same settings addressed to the fallback model."""
        assert self.fallback_model
        return replace(self, model=self.fallback_model, fallback_model=None)


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
    fallback_model: str | None = None,
    fallback_price_in: float | None = None,
    fallback_price_out: float | None = None,
    max_cost: float | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    retry_failed: bool = False,
    max_failures_in_a_row: int = FAILURES_IN_A_ROW,
    require_key: bool = True,
) -> LLMSettings:
    """Validate the options, fill the gaps from the environment; raise StructurerError if unusable.
    `require_key=False` (a dry run, which sends nothing) lets a remote endpoint go without a key."""
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
        fallback_model=fallback_model or None,
        fallback_price_in=fallback_price_in,
        fallback_price_out=fallback_price_out,
        max_cost=max_cost,
        rpm=rpm,
        tpm=tpm,
        retry_failed=retry_failed,
        max_failures_in_a_row=max_failures_in_a_row,
        api_key=key or LOCAL_KEY,
    )
    _check_budget(settings)
    if not key and not settings.is_local and require_key:
        raise StructurerError(
            f"no API key for {settings.base_url}: set STRUCTURER_API_KEY (or OPENAI_API_KEY)"
        )
    return settings


def _check_budget(settings: LLMSettings) -> None:
    """Limits must be positive, and a cost cap needs the price of every model it may pay for."""
    limits = {"--rpm": settings.rpm, "--tpm": settings.tpm, "--max-cost": settings.max_cost}
    for option, value in limits.items():
        if value is not None and value <= 0:
            raise StructurerError(f"{option} must be > 0")
    if settings.max_failures_in_a_row < 1 or settings.http_retries < 0:
        raise StructurerError("--max-failures-in-a-row must be >= 1")
    if settings.max_cost is None:
        return
    for model in settings.models:
        if None in settings.prices(model):
            options = (
                "--price-in/--price-out"
                if model == settings.model
                else ("--fallback-price-in/--fallback-price-out")
            )
            raise StructurerError(f"--max-cost needs the price of {model!r}: pass {options}")


def default_cache_dir() -> Path:
    env = os.environ.get("STRUCTURER_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "structurer" / "llm"
