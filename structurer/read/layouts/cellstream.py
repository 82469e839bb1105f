"""One cell per line: web pages whose table cells became lines (often with blank lines between,
or each cell followed by ` |`, rows closed by a run of pipes). The row structure is gone, so it is
rebuilt from what the cells say, which is what a reader of such a page does:

- above the indicator table, a row starts at each label (a field, block, period or ignored
  label of the vocabulary) and holds the cells after it, up to the next label;
- the indicator table starts at its column headers (level 1...), which say how many cells follow
  an indicator's name; a level name starts a new row (or fills the level slot of the row being
  built), the other cells fill the name, target and extra columns in order, so each indicator row
  lands in the header's columns, level cells merged downward simply absent;
- approval rows after the table (审核意见, 盖章) end it.

An empty cell is a line holding only spaces or a single pipe; a line of two or more pipes closes a
row and holds nothing. Where (nearly) every cell is closed by a pipe, a line of text without one
is a cell wrapped onto the next line: the two are one cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...models import Cell, Grid
from ...vocab import Vocabulary
from ..clean import clean_text
from .cells import join_wrapped, share, split_inline_labels, split_run_together
from .markdown import is_pipe_row

_ROW_END = re.compile(r"^\s*\|{2,}\s*$")
_EMPTY_CELL = re.compile(r"^\s*\|?\s*$")
_LEAD_PIPE = re.compile(r"^\s*\|\s*")


def _without_edge_pipes(line: str) -> str:
    """The line without a leading and a trailing pipe (and the spaces around them). Not one
    pattern: `\\s*\\|\\s*$` is tried from every space of a long run, quadratic time."""
    m = _LEAD_PIPE.match(line)
    rest = line[m.end() :] if m else line
    stripped = rest.rstrip()
    return stripped[:-1].rstrip() if stripped.endswith("|") else rest


class CellPerLine:
    name = "cell-per-line"

    def score(self, lines: Sequence[str]) -> float:
        """The share of the text on lines holding one cell (a word, or a sentence without
        spaces)."""
        return share(
            lines,
            lambda ln: (
                len(_without_edge_pipes(ln).split()) <= 1
                and not ln.lstrip().startswith("<")
                and not is_pipe_row(ln)
            ),
        )

    def read(self, lines: Sequence[str], *, numbers: Sequence[int], vocab: Vocabulary) -> Grid:
        guessed: list[str] = []
        stream = _stream(lines, numbers, vocab, guessed)
        builder = _Builder(vocab)
        for text, line in stream:
            if text is None:
                builder.row_end()
            else:
                builder.add(text, line)
        return Grid(rows=builder.finish(), layout=self.name, guessed=guessed)


def _stream(
    lines: Sequence[str], numbers: Sequence[int], vocab: Vocabulary, guessed: list[str]
) -> list[tuple[str | None, int]]:
    """(cell text, source line) in order; "" for an empty cell, None where a row is closed (a
    line of pipes). Labels glued to values are split, cells run together split at the level
    names (guesses added to `guessed`), wrapped labels joined."""
    cells: list[tuple[str | None, int]] = []
    for line, number in _unwrapped(lines, numbers):
        if not line:
            continue
        if _ROW_END.match(line):
            cells.append((None, number))
            continue
        if _EMPTY_CELL.match(line):
            cells.append(("", number))
            continue
        text = _without_edge_pipes(line).strip()
        texts = split_run_together(
            split_inline_labels([text], vocab), vocab, guessed, ends_row=False
        )
        cells += [(t, number) for t in texts]
    return _join(cells, vocab)


def _unwrapped(lines: Sequence[str], numbers: Sequence[int]) -> list[tuple[str, int]]:
    """(line, number) with each wrapped cell joined into its first line, on a page that closes
    its cells with a pipe; lines before its first closed cell (headings) stay as they are."""
    pairs = list(zip(lines, numbers, strict=True))
    if not _cells_closed_by_pipe(lines):
        return pairs
    out: list[tuple[str, int]] = []
    opened: tuple[str, int] | None = None  # a cell's first line(s), waiting for its closing pipe
    closed_seen = False
    for line, number in pairs:
        text = _holds_text(line)
        if opened and text:
            line, number = opened[0].rstrip() + line.lstrip(), opened[1]
        elif opened:
            out.append(opened)  # nothing follows to finish it: the cell is whole
        opened = None
        closed = line.rstrip().endswith("|")
        closed_seen = closed_seen or closed
        if text and closed_seen and not closed:
            opened = (line, number)
        else:
            out.append((line, number))
    return [*out, opened] if opened else out


def _cells_closed_by_pipe(lines: Sequence[str]) -> bool:
    """Whether the page closes its cells with a pipe (`text |`): four lines of text in five."""
    texts = [ln for ln in lines if _holds_text(ln)]
    closed = sum(ln.rstrip().endswith("|") for ln in texts)
    return bool(texts) and closed >= 0.8 * len(texts)


def _holds_text(line: str) -> bool:
    return bool(line.strip()) and not _EMPTY_CELL.match(line) and not _ROW_END.match(line)


def _join(cells: list[tuple[str | None, int]], vocab: Vocabulary) -> list[tuple[str | None, int]]:
    out: list[tuple[str | None, int]] = []
    for text, line in cells:
        last = out[-1][0] if out else None
        if last and text and len(join_wrapped([last, text], vocab)) == 1:
            out[-1] = (last + text, out[-1][1])
        else:
            out.append((text, line))
    return out


@dataclass
class _Builder:
    """Builds rows from the cell stream: labels first, then the indicator table."""

    vocab: Vocabulary
    rows: list[list[Cell]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # indicator column roles, in order
    slots: dict[int, Cell] = field(default_factory=dict)  # the indicator row being built
    phase: str = "labels"  # labels -> header -> indicators -> trailer

    def add(self, text: str, line: int) -> None:
        vocab = self.vocab
        cell = Cell(clean_text(text), text, line, 0)
        if (
            self.phase in ("labels", "header")
            and vocab.column_of(text)
            and not vocab.fields_of(text)
        ):
            self._header(text, line)
        elif self.phase == "labels":
            self._label_cell(cell)
        elif vocab.is_trailer(text) and self.phase != "trailer":
            self._close_indicator()
            self.phase = "trailer"
            self.rows.append([cell])
        elif self.phase == "trailer":
            self.rows.append([cell])
        else:
            self.phase = "indicators"
            self._indicator_cell(cell)

    def row_end(self) -> None:
        """A printed row end: the indicator row being built is complete."""
        if self.phase == "indicators":
            self._close_indicator()

    def finish(self) -> list[list[Cell]]:
        self._close_indicator()
        return [row for row in self.rows if any(c.text for c in row)]

    # --- above the indicator table ---

    def _label_cell(self, cell: Cell) -> None:
        if not cell.text:
            return
        starts = self.vocab.is_label(cell.text) or self.vocab.canonical_level(cell.text)
        if starts or not self.rows:
            self.rows.append([cell])
        else:
            row = self.rows[-1]
            row.append(_at(cell, len(row)))

    # --- the indicator table ---

    def _header(self, text: str, line: int) -> None:
        if self.phase == "labels":
            self.phase, self.header = "header", []
            self.rows.append([])
        role = self.vocab.column_of(text) or "note"
        period = self.vocab.column_period(text)
        self.header.append(f"{role}:{period}" if period else role)
        self.rows[-1].append(Cell(clean_text(text), text, line, len(self.header) - 1))

    def _indicator_cell(self, cell: Cell) -> None:
        if not cell.text and not self.slots:
            return  # an empty cell opening a row says nothing (a pipe that starts the row)
        level = self.vocab.canonical_level(cell.text) if cell.text else None
        if level and self._has_content():
            self._close_indicator()  # a level name after the name and target: the next row
        role = self._level_role(level) if level else None
        col = self._next_slot(role or "content")
        if col is None:
            self._close_indicator()
            col = self._next_slot(role or "content", fresh=True)
        if col is not None:
            self.slots[col] = _at(cell, col)

    def _level_role(self, name: str) -> str | None:
        """level1 / level2 for a level name in the row being built; None when it stands right
        of the row's level 2 (then it is the indicator's name, which may spell a level)."""
        level2s = {
            self.vocab.canonical_level(cell.text)
            for c, cell in self.slots.items()
            if self._role(c) == "level2"
        }
        if name in level2s:
            return "level2"  # the same level 2 again: the annual column beside the long-term one
        if self.vocab.is_level1(name) and level2s:
            return None
        if name in self.vocab.ambiguous_levels:  # by the slot free for it in this row
            return "level2" if any(self._role(c) == "level1" for c in self.slots) else "level1"
        return "level1" if self.vocab.is_level1(name) else "level2"

    def _role(self, col: int) -> str:
        header = self.header or ["level1", "level2", "name", "target"]
        role = header[col] if col < len(header) else "note"
        return role.split(":")[0]

    def _next_slot(self, kind: str, *, fresh: bool = False) -> int | None:
        """The next free column for a level (its own column) or content (name, target, extra
        columns) after the last filled one."""
        header = self.header or ["level1", "level2", "name", "target"]
        after = -1 if fresh or not self.slots else max(self.slots)
        for col in range(after + 1, len(header)):
            role = self._role(col)
            is_level = role in ("level1", "level2")
            if (kind == role) or (kind == "content" and not is_level):
                return col
        return None

    def _has_content(self) -> bool:
        return any(c.text for col, c in self.slots.items() if self._role(col) not in _LEVELS)

    def _close_indicator(self) -> None:
        if self.slots:
            width = max(self.slots) + 1
            self.rows.append(
                [self.slots.get(c) or Cell("", "", _line(self.slots), c) for c in range(width)]
            )
            self.slots = {}


_LEVELS = ("level1", "level2")


def _at(cell: Cell, col: int) -> Cell:
    return Cell(cell.text, cell.raw, cell.line, col)


def _line(slots: dict[int, Cell]) -> int:
    return next(iter(slots.values())).line
