"""Layouts: one chunk's text lines -> the cell grid every later stage reads.

Each layout family has a reader that scores how much of a chunk is in its layout; the best score
reads the chunk (ties go to the earlier reader): pipe and HTML tables (`markdown`), rows printed as
lines of words (`text-rows`: web pages, PDF text layers), one cell per line (`cell-per-line`). Every reader keeps
each cell's source line and column, so grounding and the review highlight work on any layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ...errors import StructurerError
from ...models import Chunk, Grid
from ...vocab import Vocabulary, resolve
from .cellstream import CellPerLine
from .markdown import Markdown, table_share
from .textrows import TextRows


class LayoutReader(Protocol):
    name: str

    def score(self, lines: Sequence[str]) -> float: ...

    def read(self, lines: Sequence[str], *, numbers: Sequence[int], vocab: Vocabulary) -> Grid: ...


# Tried in this order; the best score reads the chunk, the earlier reader on a tie.
LAYOUTS: tuple[LayoutReader, ...] = (Markdown(), TextRows(), CellPerLine())


def by_name(name: str) -> LayoutReader:
    for reader in LAYOUTS:
        if reader.name == name:
            return reader
    known = ", ".join(r.name for r in LAYOUTS)
    raise StructurerError(f"unknown layout {name!r}; choose from {known}")


def choose_layout(lines: Sequence[str]) -> LayoutReader:
    """The reader whose layout covers most of the chunk (the first one on a tie). Tables come
    first: the other readers count only text on lines that are not pipe rows or HTML table lines,
    so when the tables' score beats what is left over, no other reader is asked."""
    score, only_tables = table_share(lines)
    if score > 1 - only_tables:
        return LAYOUTS[0]
    return max(LAYOUTS, key=lambda r: r.score(lines))


def read_grid(
    text: str,
    first_line: int = 1,
    *,
    vocab: Vocabulary | None = None,
    layout: str | None = None,
    numbers: Sequence[int] | None = None,
) -> Grid:
    """The grid of one chunk; `first_line` is the chunk's first line in its document, or
    `numbers` the source line of each of its lines (a chunk gathering lines that are not
    adjacent: a list table's header with one project's rows)."""
    lines = text.split("\n")
    numbers = numbers or range(first_line, first_line + len(lines))
    reader = by_name(layout) if layout else choose_layout(lines)
    grid = reader.read(lines, numbers=numbers, vocab=resolve(vocab).for_form(text))
    grid.lines = tuple(zip(numbers, lines, strict=True))
    return grid


def chunk_grid(chunk: Chunk, vocab: Vocabulary | None = None) -> Grid:
    """The grid of a chunk, its cells at their source lines."""
    grid = read_grid(chunk.text, vocab=vocab, numbers=chunk.line_numbers)
    grid.project_line = chunk.project_line
    return grid
