"""Rows as lines of words: web-page text and PDF text layers that print each table row on one
line, its cells separated by spaces (`<label> X <label> Y`, `<level 1> <level 2> <name> >=20平方米`).

Cells are the line's words (brackets kept whole), labels glued to their values split off, and
label pieces wrapped over two words joined. Columns are positions in the line: continuation rows
that omit merged cells start further left, which the rules tolerate (they read by label and by
what a cell is, not by column).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...models import Cell, Grid
from ...vocab import Vocabulary
from .cells import (
    join_wrapped,
    make_cells,
    share,
    split_inline_labels,
    split_run_together,
    split_words,
)
from .markdown import _drop_noise, is_pipe_row


class TextRows:
    name = "text-rows"

    def score(self, lines: Sequence[str]) -> float:
        """The share of the text on lines holding two or more words (and no table markup)."""
        return share(lines, lambda ln: len(ln.split()) >= 2 and not _markup(ln))

    def read(self, lines: Sequence[str], *, numbers: Sequence[int], vocab: Vocabulary) -> Grid:
        rows: list[list[Cell]] = []
        guessed: list[str] = []
        for line, number in zip(lines, numbers, strict=True):
            if not line.strip():
                continue
            texts = [w for w, _ in split_words(line)]
            texts = split_run_together(
                join_wrapped(split_inline_labels(texts, vocab), vocab), vocab, guessed
            )
            rows.append(make_cells(texts, number))
        return Grid(rows=_drop_noise(rows), layout=self.name, guessed=guessed)


def _markup(line: str) -> bool:
    s = line.lstrip()
    return s.startswith(("|", "<")) or is_pipe_row(line)
