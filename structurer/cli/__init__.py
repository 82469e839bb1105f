"""The `structurer` command line. Only parses, calls the library and prints.

Each command group lives in its own module and registers itself on `app`. Heavy libraries
(openai, instructor, starlette, openpyxl, matplotlib) are imported inside the commands that need
them, so `structurer --help` starts fast.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer
from typer._click.exceptions import NoArgsIsHelpError  # typer vendors click since 0.26
from typer.core import TyperGroup

from ..errors import StructurerError
from .conventions import end_quietly_on_closed_pipe, is_broken_pipe, usage_error, use_conventions


class _Group(TyperGroup):
    """The root command: every command's help drawn by `conventions.HelpFormatter`; a usage
    error as one line (exit 2); the package's own errors as one line on stderr and their exit
    code (2; 3 for a run stopped at --max-cost), and the operating system's (a full disk, no
    permission) as one line and exit code 2, never a traceback; Ctrl-C as one line and exit code
    130; a closed pipe as a quiet end."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        use_conventions(self)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:  # not standalone: click's errors come to us, not to its multi-line printer
            code = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as exc:
            exc.show()  # `structurer` alone: the help, as promised by no_args_is_help
            sys.exit(exc.exit_code)
        except typer.TyperException as exc:  # click's usage errors, as typer vendors them
            usage_error(exc)
        except typer.Abort:
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except StructurerError as exc:
            typer.echo(f"structurer: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # the machine, not the input: a full disk, a vanished folder
            if is_broken_pipe(exc):
                end_quietly_on_closed_pipe()
            where = f"{exc.filename}: " if exc.filename else ""
            typer.echo(f"structurer: error: {where}{exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:  # Ctrl-C where the command has nothing more to say
            typer.echo("structurer: interrupted", err=True)
            raise typer.Exit(130) from None


def _rich_closed_pipe(console: Any) -> None:
    """rich's hook for a closed pipe (it exits 1); ours ends as every other closed pipe."""
    console.quiet = True
    end_quietly_on_closed_pipe()


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"structurer {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="structurer",
    cls=_Group,
    help="Turn the text of Chinese budget performance-target forms (OCR markdown, web pages, "
    "PDF text, spreadsheets, OCR JSON) into clean, checked JSON records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: see conventions.HelpFormatter
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each stage and LLM call."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Split, extract, check, review and evaluate budget performance-target forms."""
    from rich.console import Console

    Console.on_broken_pipe = _rich_closed_pipe  # type: ignore[method-assign]
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # instructor logs handled retries at ERROR level; the CLI reports failures itself.
    logging.getLogger("instructor").setLevel(logging.CRITICAL)


def main() -> None:
    app()


# Command modules register themselves on import (kept last: they import `app` from here).
from . import batch, check, core, evaluate, review, robustness, vocab  # noqa: E402, F401
