"""LLM settings: one configuration, read from options, the environment and a config file.

`LLMConfig` is everything a user sets about the LLM, as one pydantic model made from the
declaration in config_fields.py (the commands make their LLM options from the same declaration,
cli/options.py, without importing pydantic); a row of an eval matrix is validated by it,
and so are the environment (`STRUCTURER_<FIELD>`, e.g. STRUCTURER_MODEL, STRUCTURER_MAX_REASKS;
OPENAI_BASE_URL after STRUCTURER_BASE_URL) and a config file: `structurer.toml`, or the
`[tool.structurer]` table of a `pyproject.toml`, the nearest one in the current folder or above
it. `load_config` layers them, each over the next: values given (options, a matrix row, a
library call), the environment, the config file, the defaults.

`LLMSettings` is a configuration made complete for a run (`resolve_settings`): a model required,
the endpoint and cache folder filled in, and the API key. The key is read from the environment
only (STRUCTURER_API_KEY, then OPENAI_API_KEY), never from a file or a row, kept out of `repr`
and of every dump: the cache key, records, logs and reports are built from the other fields.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..errors import StructurerError
from .config_fields import SETTINGS, Setting

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
LOCAL_KEY = "sk-local"  # the openai client insists on a key, local servers ignore it
HTTP_RETRIES = 4  # 429/5xx/timeouts/connection errors: retries per request (llm.transport)
CONFIG_FILE = "structurer.toml"
ENV_PREFIX = "STRUCTURER_"
# Environment variables read after STRUCTURER_<FIELD>, in order.
ENV_FALLBACKS = {"base_url": ("OPENAI_BASE_URL",)}
KEY_ENV = ("STRUCTURER_API_KEY", "OPENAI_API_KEY")


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _field(setting: Setting) -> tuple[Any, Any]:
    kind: Any = Literal[setting.choices] if setting.choices else setting.type
    annotation = kind | None if setting.default is None else kind
    field = Field(setting.default, ge=setting.ge, gt=setting.gt, description=setting.help)
    return annotation, field


# What a user sets about the LLM, made from the declaration in config_fields.py. Every field is
# optional: a missing one comes from the next layer (see `load_config`).
LLMConfig = create_model(
    "LLMConfig", __base__=_Config, __module__=__name__, **{s.name: _field(s) for s in SETTINGS}
)


class LLMSettings(LLMConfig):  # type: ignore[misc,valid-type]
    """A configuration complete for a run, with the API key."""

    model: str
    base_url: str = DEFAULT_BASE_URL
    reasoning: bool = False
    http_retries: int = HTTP_RETRIES
    api_key: str = Field("", repr=False, exclude=True)

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
        return self.model_copy(update={"model": self.fallback_model, "fallback_model": None})


# --- the layers ---


def load_config(
    given: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> LLMConfig:
    """The configuration from `given` (None values count as not given), over the environment,
    over the config file found from `cwd`, over the defaults. StructurerError naming the option,
    variable or file of a bad value."""
    file_layer = config_file_layer(Path(cwd) if cwd else Path.cwd())
    env_layer = _validated(env_values(os.environ if environ is None else environ), "environment")
    given_layer = _validated({k: v for k, v in (given or {}).items() if v is not None}, "option")
    return LLMConfig.model_validate({**file_layer, **env_layer, **given_layer})


def env_values(environ: Mapping[str, str]) -> dict[str, str]:
    """STRUCTURER_<FIELD> (then the fallbacks) of every field that has one set and not empty."""
    out = {}
    for name in LLMConfig.model_fields:
        names = (ENV_PREFIX + name.upper(), *ENV_FALLBACKS.get(name, ()))
        value = next((environ[n] for n in names if environ.get(n)), None)
        if value is not None:
            out[name] = value
    return out


def find_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest `structurer.toml`, or `pyproject.toml` with a `[tool.structurer]` table, in
    `start` or a folder above it: (its path, its LLM table)."""
    for folder in (start.resolve(), *start.resolve().parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return own, _read_toml(own)
        project = folder / "pyproject.toml"
        if project.is_file():
            table = _read_toml(project).get("tool", {}).get("structurer")
            if isinstance(table, dict):
                return project, table
    return None


def config_file_layer(start: Path) -> dict[str, Any]:
    found = find_config(start)
    if found is None:
        return {}
    path, table = found
    if "api_key" in table:
        raise StructurerError(f"{path}: no api_key in a file; set STRUCTURER_API_KEY instead")
    return _validated(table, str(path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StructurerError(f"{path}: not a readable TOML file: {exc}") from None


def _validated(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`values` checked as a configuration: those set, parsed (env strings become numbers)."""
    try:
        return LLMConfig.model_validate(dict(values)).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise StructurerError(config_problem(exc, source)) from None


def config_problem(exc: ValidationError, source: str) -> str:
    """The first problem of a configuration in one line, named as its source spells it."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "?"
    where = {
        "option": f"--{name.replace('_', '-')}",
        "environment": ENV_PREFIX + name.upper(),
    }.get(source, f"{source}: {name}")
    if error["type"] == "extra_forbidden":
        return f"{where}: not an LLM setting; known: {', '.join(LLMConfig.model_fields)}"
    return f"{where}: {error['msg']} (got {error.get('input')!r})"


# --- complete for a run ---


def resolve_settings(**given: Any) -> LLMSettings:
    """The settings of a run: `given` over the environment, the config file and the defaults
    (`load_config`), completed. StructurerError if unusable (no model, no key for a remote
    endpoint unless `need_key=False` — an estimate sends nothing —, a budget without prices)."""
    http_retries = given.pop("http_retries", HTTP_RETRIES)
    need_key = given.pop("need_key", True)
    config = load_config(given)
    if not config.model:
        raise StructurerError("no LLM model given: pass --model or set STRUCTURER_MODEL")
    key = next((os.environ[n] for n in KEY_ENV if os.environ.get(n)), "")
    values = config.model_dump()
    values.update(
        base_url=(config.base_url or DEFAULT_BASE_URL).rstrip("/"),
        cache_dir=config.cache_dir or default_cache_dir(),
        reasoning=bool(config.reasoning),
        fallback_model=config.fallback_model or None,
        http_retries=http_retries,
    )
    settings = LLMSettings(**values, api_key=key or LOCAL_KEY)
    _check_budget(settings)
    if need_key and not key and not settings.is_local:
        raise StructurerError(
            f"no API key for {settings.base_url}: set STRUCTURER_API_KEY (or OPENAI_API_KEY)"
        )
    return settings


def _check_budget(settings: LLMSettings) -> None:
    """A cost cap needs the price of every model it may pay for."""
    if settings.http_retries < 0:
        raise StructurerError("http_retries must be >= 0")
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
    """~/.cache/structurer/llm, or under XDG_CACHE_HOME (STRUCTURER_CACHE_DIR is a layer of the
    configuration: `load_config` has read it before this is asked)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "structurer" / "llm"
