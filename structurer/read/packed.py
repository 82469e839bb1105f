"""The item grammar of an indicator table packed into one text cell (a Guangzhou department list):

    1、<d>-<level 1>；<dd>-<level 2>；<name>；<period label>:<v>；<annual label>:<v>。2、…
    1.<d>－<level 1>，<dd>－<level 2>，<name>；<period label>：<v>，<annual label>：<v>；2、…

An item is a number (`N、`, `N.`), the coded level 1 and level 2 (the level 2 often printed
without its suffix), the name, and the implementation-period and year's values, each after its
label. The marks between the parts, the two labels and the level names are vocabulary data
([packed], [levels]); the numbering may restart inside a cell. The rules read the items (rules/packed.py); the reader finds,
in a PDF text layer, the lines where each project's cell starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..models import Cell, Grid
from ..vocab import Vocabulary, label_key
from .structure import derived, grid_parts

_DASHES = "-－—–"


class PackedGrammar:
    """Where items start, and the two labelled values after an item's name."""

    def __init__(self, vocab: Vocabulary) -> None:
        spec = vocab.spec.packed
        self.separators = spec.separators + " "
        sep = f"[{re.escape(spec.separators)}]"
        dash = f"[{_DASHES}]"
        suffix = vocab.spec.level_suffix or ""
        names = {*vocab.spec.levels, *(k for ks in vocab.spec.levels.values() for k in ks)}
        level = "|".join(
            map(re.escape, _longest_first({*names, *(n.removesuffix(suffix) for n in names)}))
        )
        head = rf"\d{{1,3}}[、.]\d{dash}(?P<l1>{level}){sep}\d{{2}}{dash}(?P<l2>{level}){sep}"
        self.item = re.compile(rf"(?:(?<={sep})|^){head}")
        # a project's cell begins with its first item at the start of a text-layer line
        self.first = re.compile(rf"^1[、.]\d{dash}(?:{level}){sep}")
        long = "|".join(map(re.escape, _longest_first(spec.long)))
        annual = "|".join(map(re.escape, _longest_first(spec.annual)))
        self.values = re.compile(rf"{sep}?(?:{long})(?P<long>.*?){sep}?(?:{annual})(?P<annual>.*)$")
        # what only a packed cell's text holds: a value's label, or its end wrapped before the
        # colon or its start wrapped at the line's end, a coded level name (or the code's dash
        # and the name, the code left on the line above) or a level name's end
        # before a separator (`标；`)
        labels = [*spec.long, *spec.annual]
        ends = _alternatives({x[k:] for x in labels for k in range(len(x))})
        starts = _alternatives({x[:k] for x in labels for k in range(2, len(x))})
        level_ends = _alternatives({x[k:] for x in names for k in range(1, len(x))})
        self.packed_text = re.compile(
            rf"{long}|{annual}|^(?:{ends})[:：]|(?:{starts})$|\d?{dash}(?:{level})"
            rf"|^(?:{level_ends}){sep}"
        )
        self.column_keys = tuple(label_key(c) for c in spec.columns)


@dataclass(frozen=True)
class PackedItem:
    """One item of a packed cell as printed: its level names, name and the two values (None
    where the grammar finds no labelled values), and where it starts in the cell's text."""

    offset: int
    text: str
    level1: str
    level2: str
    name: str
    annual: str | None

    @property
    def parts(self) -> tuple[str, ...]:
        """What the item prints as values: its level names, name and the year's value."""
        return (self.level1, self.level2, self.name, self.annual or "")


def packed_items(text: str, vocab: Vocabulary) -> tuple[list[PackedItem], list[str]]:
    """The items of one packed cell (its wrapped lines joined: wraps break inside labels and
    values: `≥\n90%`) and the text before the first item (unexplained)."""
    joined = "".join(text.split())
    grammar = packed_grammar(vocab)
    starts = list(grammar.item.finditer(joined))
    if not starts:
        return [], [joined] if joined else []
    lead = joined[: starts[0].start()].strip(grammar.separators)
    items = []
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(joined)
        rest = joined[m.end() : end]
        values = grammar.values.search(rest)
        name = rest[: values.start()] if values else rest
        annual = values["annual"].strip(grammar.separators).lstrip(":：") if values else None
        items.append(
            PackedItem(
                m.start(),
                joined[m.start() : end],
                m["l1"],
                m["l2"],
                name.strip(grammar.separators),
                annual,
            )
        )
    return items, [lead] if lead else []


def _alternatives(texts: set[str]) -> str:
    return "|".join(map(re.escape, _longest_first(texts)))


def _longest_first(names: set[str] | list[str]) -> list[str]:
    return sorted(names, key=len, reverse=True)


@lru_cache(maxsize=16)
def packed_grammar(vocab: Vocabulary) -> PackedGrammar:
    return PackedGrammar(vocab)


# Item 1 opening a line's last piece (`1、1-…`): a text without it holds no packed cell, which is
# told by one search of the whole text instead of a look at every line. The pattern opens with
# its literal 1 (the search then skips to each 1; an opening `(?:^|\s)` tried every position,
# ~25 µs a form) and the character before it is looked at apart.
_ITEM_ONE = re.compile(rf"1[、.]\d[{_DASHES}]")


def may_hold_packed_text(text: str) -> bool:
    """Whether a chunk's text can hold a packed cell in a text layer: item 1 opening the text or
    following a space or line break (one search, before any line is looked at)."""
    return any(m.start() == 0 or text[m.start() - 1].isspace() for m in _ITEM_ONE.finditer(text))


def text_cell_starts(lines: list[str], numbers: list[int], vocab: Vocabulary) -> list[int]:
    """A PDF text layer of a packed list (no cells): the source lines where each project's packed
    cell starts (a line opening with item 1), when the lines above the first name the packed
    column. Empty when the text is no such list."""
    grammar = packed_grammar(vocab)
    if not grammar.column_keys:
        return []
    starts = [n for line, n in zip(lines, numbers, strict=True) if grammar.first.match(_last(line))]
    if not starts:
        return []
    above = label_key("".join(t for t, n in zip(lines, numbers, strict=True) if n < starts[0]))
    return starts if any(k in above for k in grammar.column_keys) else []


def text_cell(
    lines: list[str], numbers: list[int], start: int, vocab: Vocabulary
) -> list[tuple[int, str]]:
    """The packed cell's pieces (line, text) of the project starting on `start`, up to the next
    project's start: on each line the text after its last space (the packed column is the
    rightmost), where that text reads as packed items (a label, an item's end mark, an item's
    head); the other columns' wrapped lines printed between are left out."""
    grammar = packed_grammar(vocab)
    starts = text_cell_starts(lines, numbers, vocab)
    end = next((s for s in starts if s > start), None)
    out = []
    for line, n in zip(lines, numbers, strict=True):
        if n < start or (end is not None and n >= end):
            continue
        piece = _last(line)
        if piece and grammar.packed_text.search(piece):
            out.append((n, piece))
    return out


def _last(line: str) -> str:
    """The text after a line's last space: the rightmost column's piece on that line."""
    return line.rsplit(" ", 1)[-1].strip()


@dataclass(frozen=True)
class TextCell:
    """A project's packed cell gathered from a text layer: its pieces, line by line, each with
    the grid cell of its line it is read from (for the source map and the review)."""

    pieces: tuple[tuple[Cell, str], ...]

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.pieces)


def packed_text_cell(grid: Grid, vocab: Vocabulary) -> TextCell | None:
    """The packed cell of the project a text-layer form names (grid.project_line), None when the
    grid is a table with cells of its own or no packed list. Built once per grid."""
    if grid.layout == "markdown" or grid.project_line is None:
        return None
    return derived(grid, "packed_text", vocab, lambda: _text_cell(grid, vocab))


def _text_cell(grid: Grid, vocab: Vocabulary) -> TextCell | None:
    numbers = [n for n, _ in grid.lines]
    lines = [text for _, text in grid.lines]
    if grid.project_line not in text_cell_starts(lines, numbers, vocab):
        return None
    pieces = dict(text_cell(lines, numbers, grid.project_line, vocab))
    last = {c.line: c for row in grid.rows for c in row}  # the last cell read on each line
    return TextCell(tuple((last[n], pieces[n]) for n in sorted(pieces) if n in last))


def project_extent(grid: Grid, vocab: Vocabulary) -> tuple[int, int] | None:
    """The first and last source line of the project a list-table form names
    (grid.project_line), None when the form is no list project. A table's project spans its own
    rows. A packed text layer's runs from the line after the previous project's packed cell (its
    goal and name may start above its own packed cell) to the line before the next one's; lines
    of its neighbours may be printed among them (a text layer prints each column's wrapped lines
    in turn)."""
    if grid.project_line is None:
        return None
    numbers = [n for n, _ in grid.lines]
    lines = [text for _, text in grid.lines]
    starts = text_cell_starts(lines, numbers, vocab)
    if grid.project_line in starts:
        k = starts.index(grid.project_line)
        end = starts[k + 1] - 1 if k + 1 < len(starts) else numbers[-1]
        return _after_previous(lines, numbers, starts, k, vocab), end
    table = grid_parts(grid, vocab).table
    cells = [c.line for row in table.rows for c in row] if table is not None else []
    return (min(cells), max(cells)) if cells else None


def _after_previous(
    lines: list[str], numbers: list[int], starts: list[int], k: int, vocab: Vocabulary
) -> int:
    """The line after the previous project's packed cell (after the column header's line for
    the first project)."""
    if k == 0:
        keys = packed_grammar(vocab).column_keys
        header = [n for t, n in zip(lines, numbers, strict=True)
                  if n < starts[0] and any(key in label_key(t) for key in keys)]  # fmt: skip
        return header[-1] + 1 if header else starts[0]
    pieces = text_cell(lines, numbers, starts[k - 1], vocab)
    return pieces[-1][0] + 1 if pieces else starts[k]
