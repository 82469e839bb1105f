"""The options shared by the commands, declared once, and the one place that turns them into a
backend. The LLM options are made from the declaration of the LLM settings
(llm/config_fields.py, the one `LLMConfig` is made from): `@llm_options(...)` gives a command
those options and hands it one `llm: LLMConfig` built from them, the environment and the config
file (an option left at its default does not hide the environment's or the file's value)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ..llm.config_fields import BY_NAME, SETTINGS

F = TypeVar("F", bound=Callable[..., Any])
LLM_OPTIONS = tuple(s.name for s in SETTINGS if s.option)
# What shapes a request (batch submit) and what a run adds (batch collect).
REQUEST_OPTIONS = ("model", "base_url", "mode", "prompt", "max_reasks", "max_tokens", "cache_dir",
                   "no_cache", "timeout", "price_in", "price_out")  # fmt: skip
RUN_OPTIONS = tuple(k for k in LLM_OPTIONS if k not in REQUEST_OPTIONS or k in
                    ("cache_dir", "no_cache", "timeout", "price_in", "price_out"))  # fmt: skip


def llm_options(*names: str) -> Callable[[F], F]:
    """Replace the command's `llm` parameter by the LLM options `names` (default: all), made
    from LLMConfig's fields; the command receives `llm`, the LLMConfig they make together with
    the environment and the config file."""
    chosen = names or LLM_OPTIONS

    def decorate(command: F) -> F:
        signature = inspect.signature(command, eval_str=True, locals={"LLMConfig": object})
        params = [_CONTEXT]  # typer hands the click context to a parameter of this type
        for param in signature.parameters.values():
            params += [_option(n) for n in chosen] if param.name == "llm" else [param]

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            ctx = kwargs.pop(_CONTEXT.name)
            given = {n: kwargs.pop(n) for n in chosen}
            # an option left at its default does not hide the environment's or the file's value
            explicit = {
                n: v for n, v in given.items() if ctx.get_parameter_source(n).name != "DEFAULT"
            }
            from ..llm.settings import load_config

            return command(**kwargs, llm=load_config(explicit))

        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run  # type: ignore[return-value]

    return decorate


_CONTEXT = inspect.Parameter(
    "llm_options_context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
)


def _option(name: str) -> inspect.Parameter:
    """The typer option of one LLM setting: its type, default and help."""
    setting = BY_NAME[name]
    flag = setting.type is bool
    decls = (f"--{name.replace('_', '-')}",) if flag else ()
    shown = setting.default is not None
    option = typer.Option(*decls, help=setting.help, show_default=shown)
    kind: Any = setting.type if flag or shown else setting.type | None
    return inspect.Parameter(
        name,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=setting.default,
        annotation=Annotated[kind, option],
    )


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


def backend_from_options(name: str, llm: Any, vocab: Any = None, *, need_key: bool = True) -> Any:
    """The backend a command's --backend and LLM configuration ask for (`need_key=False`: a dry
    run, which sends nothing, needs no API key)."""
    from ..backends import make_backend

    settings = llm.model_dump(exclude_none=True)
    if not need_key:
        settings["need_key"] = False
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
