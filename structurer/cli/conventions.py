"""What every command does as a Unix tool, in one place: help text that reads like any tool's
(wrapped to the terminal, at most 80 columns; `-o, --out PATH`, no `<bool>` on flags; usage as
`INPUTS...`), a usage error as one line, a closed pipe (`check out.jsonl | head -1`) as a quiet
end, and a finding repeated many times shown a few times with a count."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any, BinaryIO, NoReturn

import typer

HELP_WIDTH = 80  # the widest help is drawn, whatever the terminal
BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away

# typer's value placeholders (`<list[Path]>`, `<int range>`) as click's words (`PATH`, `INTEGER`)
_TYPE_WORDS = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float": "NUMBER",
               "float range": "NUMBER", "path": "PATH", "bool": ""}  # fmt: skip
_PLACEHOLDER = re.compile(r"<(?:list\[)?([A-Za-z_ ]+?)\]?>(\.\.\.)?")


def _word(match: re.Match[str]) -> str:
    name = match[1].lower()
    return _TYPE_WORDS.get(name, name.upper().replace(" ", "_"))


class HelpFormatter(typer.Context.formatter_class):  # click's, as typer (0.26+) vendors it
    """click's plain formatter (it re-flows each paragraph of a docstring to the width), with
    typer's placeholders turned into click's words and argument names in capitals."""

    def __init__(self, indent_increment: int = 2, width: int | None = None,
                 max_width: int | None = None) -> None:  # fmt: skip
        super().__init__(indent_increment, width, max_width or HELP_WIDTH)
        self._section = ""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        # typer writes a required argument as {inputs}, an optional one as [job]
        args = re.sub(r"\{(\w+)\}", lambda m: m[1].upper(), args)
        args = re.sub(r"\[([a-z_]+)\]", lambda m: f"[{m[1].upper()}]", args)
        super().write_usage(prog, args, prefix)

    def write_heading(self, heading: str) -> None:
        self._section = heading
        super().write_heading(heading)

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30,
                 col_spacing: int = 2) -> None:  # fmt: skip
        super().write_dl([(self._term(term), text) for term, text in rows], col_max, col_spacing)

    def _term(self, term: str) -> str:
        if self._section == "Arguments":  # `inputs... <list[Path]>` -> `INPUTS...`
            name, _, _ = term.partition(" ")
            return name.upper()
        return " ".join(_PLACEHOLDER.sub(_word, term).split())


class Context(typer.Context):
    formatter_class = HelpFormatter


def use_conventions(command: Any) -> None:
    """Every command under `command` renders its help with `HelpFormatter`."""
    command.context_class = Context
    for sub in (getattr(command, "commands", None) or {}).values():
        use_conventions(sub)


def usage_error(exc: typer.TyperException) -> NoReturn:
    """A usage error (missing option, bad value, unknown command) as one line, exit 2."""
    message = re.sub(
        r"argument '(\w+)'", lambda m: f"argument '{m[1].upper()}'", exc.format_message()
    )
    if len(message) > 1 and message[1].islower():
        message = message[0].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    typer.echo(f"structurer: error: {message.rstrip('.')}{hint}", err=True)
    sys.exit(exc.exit_code)


def end_quietly_on_closed_pipe() -> NoReturn:
    """The reader of our standard output went away (`| head -1`): stop as `cat` would, with no
    message; what is still buffered goes nowhere, so the interpreter's own flush at exit cannot
    complain either."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(BROKEN_PIPE_EXIT)


def stdout_bytes() -> BinaryIO:
    """Standard output for bytes (records, CSV): its buffer, or itself when it has none."""
    return getattr(sys.stdout, "buffer", None) or sys.stdout  # type: ignore[return-value]


def is_broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError) or (
        isinstance(exc, OSError) and exc.errno == 32  # EPIPE, whatever wrapped it
    )


# A finding printed once per document can come thousands of times (a duplicate project in
# every document); these many of a code are printed, the rest counted.
SHOWN_PER_CODE = 5
# a list of form numbers inside a message ("forms 1, 2, …, 2000 have …") is cut after this many
SHOWN_ITEMS = 10
_NUMBER_LIST = re.compile(rf"\d+(?:, \d+){{{SHOWN_ITEMS},}}")


def short_message(message: str) -> str:
    """A message with a long list of numbers cut to its first few and the count."""

    def cut(match: re.Match[str]) -> str:
        items = match[0].split(", ")
        return ", ".join(items[:SHOWN_ITEMS]) + f", … ({len(items):,} in all)"

    return _NUMBER_LIST.sub(cut, message)


class RepeatCap:
    """Counts findings by code; `show(code)` is true for the first SHOWN_PER_CODE of each."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def show(self, code: str) -> bool:
        self.seen[code] += 1
        return self.seen[code] <= SHOWN_PER_CODE

    def hidden(self) -> list[str]:
        return [f"… and {n - SHOWN_PER_CODE:,} more {code}" for code, n in self.seen.items()
                if n > SHOWN_PER_CODE]  # fmt: skip
