"""The `structurer` command line. Only parses, calls the library and prints.

Each command group lives in its own module and registers itself on `app`. Heavy libraries
(openai, instructor, starlette, openpyxl, matplotlib) are imported inside the commands that need
them, so `structurer --help` starts fast.
"""

from __future__ import annotations

import logging

import typer
from typer.core import TyperGroup

from ..errors import StructurerError


class _Group(TyperGroup):
    """Turns the package's own errors into one line on stderr and their exit code (2; 3 for a
    run stopped at --max-cost), and the operating system's (a full disk, no permission) into one
    line and exit code 2, never a traceback."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except StructurerError as exc:
            typer.echo(f"structurer: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # the machine, not the input: a full disk, a vanished folder
            where = f"{exc.filename}: " if exc.filename else ""
            typer.echo(f"structurer: error: {where}{exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="structurer",
    cls=_Group,
    help="Turn the text of Chinese budget performance-target forms (OCR markdown, web pages, "
    "PDF text) into clean, checked JSON records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each stage and LLM call."),
) -> None:
    """Split, extract, check, review and evaluate budget performance-target forms."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # instructor logs handled retries at ERROR level; the CLI reports failures itself.
    logging.getLogger("instructor").setLevel(logging.CRITICAL)


def main() -> None:
    app()


# Command modules register themselves on import (kept last: they import `app` from here).
from . import batch, check, core, evaluate, review, robustness  # noqa: E402, F401
