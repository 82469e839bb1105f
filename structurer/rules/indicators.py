"""Indicator rows -> Indicators: levels filled down, names and targets told apart by shape.

Level-1/level-2 cells are merged downwards, so OCR leaves them blank on later rows, and puts level
names in whichever column it likes. A level name is recognised wherever it lands; level 1 always
follows from level 2 by the hierarchy. Rows before any level label (a merged cell cut by a page
break) take the first labels that follow. Of the remaining cells the first is the name and the
next the target; a lone cell is told apart by its shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import Cell, CellRef, Indicator
from ..read.clean import squash, to_halfwidth
from ..values import parse_target
from ..vocab import Vocabulary

_OP_ONLY = re.compile(r"[=≥≤><＝＞＜≧≦]|>=|<=")
_UNIT_ONLY = re.compile(r"[^\d\s|]{1,6}")
# A name cut by a line break ends mid-phrase; its rest comes as a row of its own.
_OPEN_END = re.compile(r"[、，,（(和与及的或、]$")


def is_header_row(row: list[Cell], vocab: Vocabulary) -> bool:
    """The indicator table's header row: two or more of the vocabulary's column headers."""
    return sum(bool(vocab.column_of(c.text)) for c in row if c.text) >= 2


def starts_indicators(row: list[Cell], vocab: Vocabulary) -> bool:
    """The indicator table begins at its header row, or failing that at the first level name."""
    return is_header_row(row, vocab) or any(vocab.canonical_level(c.text) for c in row if c.text)


def looks_like_target(text: str, vocab: Vocabulary) -> bool:
    t = parse_target(text)
    return t.value is not None or bool(vocab.qualitative_pattern.search(t.target or ""))


@dataclass
class _Row:
    indicator: Indicator
    name_cell: Cell | None
    target_cell: Cell | None
    has_levels: bool


@dataclass
class IndicatorTable:
    """Reads one form's indicator rows, top to bottom, remembering the levels in force and
    which columns hold level-1 and level-2 names."""

    vocab: Vocabulary
    columns: dict[str, set[int]] = field(
        default_factory=lambda: {"level1": set(), "level2": set(), "header_level2": set()}
    )
    out: list[_Row] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)

    def read(
        self, rows: list[list[Cell]], refs: dict[str, CellRef], repairs: list[dict[str, str]]
    ) -> tuple[list[Indicator], list[str]]:
        """Indicators in table order, plus texts that could not be placed (kept for the reviewer)."""
        level1 = level2 = None
        seen_level = False
        for row in rows:
            if is_header_row(row, self.vocab):
                self.columns["header_level2"] = {
                    c.col for c in row if self.vocab.column_of(c.text) == "level2"
                }
                continue
            named = [c for c in row if c.text]
            self._remember_columns(named)
            row_l1, row_l2 = self._levels_in(named)
            if row_l2:
                level1, level2 = self.vocab.parent_of(row_l2), row_l2
            elif row_l1 and row_l1 != level1:
                level1, level2 = row_l1, None
            if (row_l1 or row_l2) and not seen_level:
                seen_level = True
                for earlier in self.out:  # rows before any label take the first labels that follow
                    earlier.indicator.level1, earlier.indicator.level2 = level1, level2
            cells = self._contents(row)
            if cells:
                self._place(cells, level1, level2, own_levels=bool(row_l1 or row_l2))
        return _finish(self.out, refs, repairs), self.unplaced

    def _levels_in(self, cells: list[Cell]) -> tuple[str | None, str | None]:
        """(level1, level2) named on one row, resolving a name that is both a level 1 and a level 2 by what stands
        beside,
        else by the column: where this table's level-2 names (or its level-2 header) stand."""
        vocab = self.vocab
        names = [vocab.canonical_level(c.text) for c in cells]
        hierarchy = vocab.hierarchy
        l1 = l2 = None
        for k, name in enumerate(names):
            if name is None:
                continue
            if name in vocab.ambiguous_levels:
                later = [n for n in names[k + 1 :] if n]
                child_of_row_l1 = bool(l1 and name in hierarchy.get(l1, ()))
                if any(n in hierarchy[name] for n in later):
                    l1 = name
                elif child_of_row_l1 or self._in_level2_column(cells[k].col):
                    l2 = name
                else:
                    l1 = name
            elif vocab.is_level1(name):
                l1 = name
            else:
                l2 = name
        return l1, l2

    def _in_level2_column(self, col: int) -> bool:
        """Level names seen so far vote first (headers shift with the OCR as well); the header's
        level-2 column decides when they don't."""
        columns = self.columns
        if col in columns["level2"] and col not in columns["level1"]:
            return True
        if col in columns["level1"] and col not in columns["level2"]:
            return False
        return col in columns["header_level2"]

    def _remember_columns(self, cells: list[Cell]) -> None:
        for c in cells:
            name = self.vocab.canonical_level(c.text)
            if name and name not in self.vocab.ambiguous_levels:
                self.columns["level1" if self.vocab.is_level1(name) else "level2"].add(c.col)

    def _contents(self, row: list[Cell]) -> list[Cell]:
        """Cells that are neither level names nor row labels; adjacent copies (merged cells the
        OCR expanded into several columns) kept once."""
        vocab = self.vocab
        out: list[Cell] = []
        for c in row:
            if not squash(c.text) or c.merged or vocab.block_of(c.text) in ("goals", "indicators"):
                continue
            if vocab.canonical_level(c.text) or vocab.column_of(c.text):
                continue
            if out and out[-1].text == c.text:
                continue
            out.append(c)
        return out

    def _place(
        self, cells: list[Cell], l1: str | None, l2: str | None, *, own_levels: bool = True
    ) -> None:
        out = self.out
        prev = out[-1] if out else None
        if len(cells) == 1:
            cell = cells[0]
            if prev and _continues(prev, cell):
                return
            is_target = looks_like_target(cell.text, self.vocab)
            if is_target and prev and prev.target_cell is None:
                prev.target_cell = cell
                return
            if is_target:
                out.append(_Row(Indicator(level1=l1, level2=l2), None, cell, True))
            else:
                out.append(_Row(Indicator(level1=l1, level2=l2), cell, None, True))
            return
        name, rest = cells[0], self._without_kind_marks(cells[1:]) or cells[1:]
        target, used = self._composed_target(rest)
        if target is None:
            target = next((c for c in rest if parse_target(c.text).value is not None), rest[0])
            used = [target]
        if any(_same_row(row, name, target, l1, l2, own_levels) for row in out):
            return  # a row the OCR printed twice (beside itself, or across a page break)
        self.unplaced += [c.text for c in rest if c not in used]
        out.append(_Row(Indicator(level1=l1, level2=l2), name, target, True))

    def _without_kind_marks(self, cells: list[Cell]) -> list[Cell]:
        """Drop the 指标性质 column's marks (定性, 正向指标…): they say what kind a target is."""
        return [c for c in cells if squash(c.text) not in self.vocab.kind_marks]

    def _composed_target(self, rest: list[Cell]) -> tuple[Cell | None, list[Cell]]:
        """Forms with separate 指标性质/指标值/度量单位 columns: `| ≥ | 500 | 人次 |` is one
        target, ≥500人次, read where the bare number stands. Returns it and the cells it was
        made of."""
        for k, cell in enumerate(rest):
            t = parse_target(cell.text)
            if t.value is None or t.op or t.unit or t.target != t.value:
                continue
            before = rest[k - 1] if k > 0 else None
            after = rest[k + 1] if k + 1 < len(rest) else None
            op = self._op_of(before)
            unit = squash(after.text) if after and self._is_unit(after.text) else ""
            if op or unit:
                used = [c for c in (before if op else None, cell, after if unit else None) if c]
                raw = " ".join(c.raw for c in used)
                return Cell(op + t.value + unit, raw, cell.line, cell.col), used
        return None, []

    def _op_of(self, cell: Cell | None) -> str:
        key = squash(cell.text) if cell else ""
        word = self.vocab.word_operators.get(key)
        return word or (to_halfwidth(key, signs=True) if _OP_ONLY.fullmatch(key) else "")

    def _is_unit(self, text: str) -> bool:
        key = squash(text)
        return bool(_UNIT_ONLY.fullmatch(key)) and not self.vocab.qualitative_pattern.search(key)


def _same_row(
    prev: _Row, name: Cell, target: Cell, l1: str | None, l2: str | None, own_levels: bool
) -> bool:
    """A copy: same name and target, and the same levels unless the row names none itself (a
    copy printed elsewhere inherits whatever levels stand above it)."""
    return (
        prev.name_cell is not None
        and prev.target_cell is not None
        and (prev.name_cell.text, prev.target_cell.text) == (name.text, target.text)
        and (not own_levels or (prev.indicator.level1, prev.indicator.level2) == (l1, l2))
    )


def _continues(prev: _Row, cell: Cell) -> bool:
    """A lone cell that finishes the previous row's name or target, cut by a line break."""
    for attr in ("name_cell", "target_cell"):
        part: Cell | None = getattr(prev, attr)
        if part and _OPEN_END.search(part.text) and abs(part.col - cell.col) <= 1:
            setattr(
                prev,
                attr,
                Cell(part.text + cell.text, part.raw + cell.raw, part.line, part.col, part.repairs),
            )
            return True
    return False


def _finish(
    rows: list[_Row], refs: dict[str, CellRef], repairs: list[dict[str, str]]
) -> list[Indicator]:
    out = []
    for n, row in enumerate(rows):
        ind = row.indicator
        if row.name_cell:
            ind.name = row.name_cell.text.replace("\n", "")
            refs[f"indicators[{n}].name"] = CellRef(line=row.name_cell.line, col=row.name_cell.col)
        if row.target_cell:
            t = parse_target(row.target_cell.text)
            ind.target, ind.op, ind.value, ind.unit = t
            refs[f"indicators[{n}].target"] = CellRef(
                line=row.target_cell.line, col=row.target_cell.col
            )
            if (
                t.target
                and t.target != squash(row.target_cell.text)
                and "O" in row.target_cell.text.upper()
            ):
                repairs.append(
                    {
                        "path": f"indicators[{n}].target",
                        "raw": row.target_cell.raw,
                        "repair": "letter O read as 0",
                    }
                )
        out.append(ind)
    return out
