"""Layouts: one chunk's text lines -> the cell grid every later stage reads.

Each layout family (pipe/HTML tables today) has a reader that scores how much of a chunk is in
its layout; the best score reads the chunk (ties go to the earlier reader). Every reader keeps
each cell's source line and column, so grounding and the review highlight work on any layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ...errors import StructurerError
from ...models import Grid
from ...vocab import Vocabulary, resolve
from .markdown import Markdown


class LayoutReader(Protocol):
    name: str

    def score(self, lines: Sequence[str]) -> float: ...

    def read(self, lines: Sequence[str], *, first_line: int, vocab: Vocabulary) -> Grid: ...


LAYOUTS: tuple[LayoutReader, ...] = (Markdown(),)


def by_name(name: str) -> LayoutReader:
    for reader in LAYOUTS:
        if reader.name == name:
            return reader
    known = ", ".join(r.name for r in LAYOUTS)
    raise StructurerError(f"unknown layout {name!r}; choose from {known}")


def choose_layout(lines: Sequence[str]) -> LayoutReader:
    """The reader whose layout covers most of the chunk (the first one on a tie)."""
    return max(LAYOUTS, key=lambda r: r.score(lines))


def read_grid(
    text: str,
    first_line: int = 1,
    *,
    vocab: Vocabulary | None = None,
    layout: str | None = None,
) -> Grid:
    """The grid of one chunk; `first_line` is the chunk's first line in its document."""
    lines = text.split("\n")
    reader = by_name(layout) if layout else choose_layout(lines)
    return reader.read(lines, first_line=first_line, vocab=resolve(vocab))
