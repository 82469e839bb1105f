"""Indicator rows -> Indicators: levels filled down, names and targets told apart by shape.

Level-1/level-2 cells are merged downwards, so OCR leaves them blank on later rows, and puts level
names in whichever column it likes. A level name is recognised wherever it lands; level 1 always
follows from level 2 by the hierarchy. Rows before any level label (a merged cell cut by a page
break) take the first labels that follow. Of the remaining cells the first is the name and the
next the target; a lone cell is told apart by its shape.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..models import Cell, CellRef, Indicator
from ..read.clean import squash, to_halfwidth
from ..read.structure import is_header_row
from ..read.values import parse_target
from ..vocab import Vocabulary

_OP_ONLY = re.compile(r"[=≥≤><＝＞＜≧≦]|>=|<=")
_UNIT_ONLY = re.compile(r"[^\d\s|]{1,6}")
_BARE_NUMBER = re.compile(r"\d{1,3}(?:\.\d+)?")
# A name cut by a line break ends mid-phrase; its rest comes as a row of its own.
_OPEN_END = re.compile(r"[、，,（(和与及的或、]$")


def looks_like_target(text: str, vocab: Vocabulary) -> bool:
    t = parse_target(text)
    return t.value is not None or bool(vocab.qualitative_pattern.search(t.target or ""))


@dataclass
class _Row:
    """An indicator being read: its levels and cells. The Indicator is made once, at the end
    (a model's setattr costs a validation-path call per field)."""

    level1: str | None
    level2: str | None
    name_cell: Cell | None
    target_cell: Cell | None
    has_levels: bool


# Columns whose cells a record never keeps: set aside before reading a row.
_SET_ASIDE = ("note", "weight")


@dataclass
class IndicatorTable:
    """Reads one form's indicator rows, top to bottom, remembering the levels in force, which
    columns hold level-1 and level-2 names, and what each column of the header row holds."""

    vocab: Vocabulary
    columns: dict[str, set[int]] = field(
        default_factory=lambda: {"level1": set(), "level2": set(), "header_level2": set()}
    )
    roles: dict[int, str] = field(default_factory=dict)  # header column -> role[:period]
    # the layout prints a wrapped cell's pieces on lines of their own, above and below its row
    # (an interleaved text layer): a piece of a label or level name there is no indicator
    pieces_alone: bool = False
    # the form prints a weight column whose header the header row does not hold (a text layer
    # prints a wrapped header cell's pieces above and below the header line): each row's last
    # bare number is its weight
    weights_printed: bool = False
    sets_aside: bool = False  # a column of `roles` is set aside (decided per header, not row)
    level1: str | None = None  # the levels in force (merged cells fill down)
    level2: str | None = None
    out: list[_Row] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    # rows by (name, target) text, so a copy is looked up, not searched for among every row
    by_text: dict[tuple[str, str], list[_Row]] = field(default_factory=dict)

    def read(
        self, rows: list[list[Cell]], refs: dict[str, CellRef], repairs: list[dict[str, str]]
    ) -> tuple[list[Indicator], list[str]]:
        """Indicators in table order, plus texts that could not be placed (kept for the reviewer)."""
        seen_level = False
        for k, row in enumerate(rows):
            if any(self.vocab.is_trailer(c.text) for c in row[:2] if c.text):
                break  # approval rows: the table is over
            if is_header_row(row, self.vocab):
                self._read_header(row)
                continue
            named = [c for c in row if c.text]
            self._remember_columns(named)
            row_l1, row_l2, level_cells = self._levels_in(named, rows[k + 1 :])
            if row_l2:
                self.level1, self.level2 = self.vocab.parent_of(row_l2), row_l2
            elif row_l1 and row_l1 != self.level1:
                self.level1, self.level2 = row_l1, None
            if (row_l1 or row_l2) and not seen_level:
                seen_level = True
                for earlier in self.out:  # rows before any label take the first labels that follow
                    earlier.level1, earlier.level2 = self.level1, self.level2
            usable = self._usable(row, level_cells)
            cells = self._contents(usable, level_cells)
            if cells:
                own = bool(row_l1 or row_l2)
                spans = len(cells) == 1 and self._target_spans(row)  # only a lone cell continues
                self._place(cells, self.level1, self.level2, own_levels=own, target_spans=spans)
        return _finish(self.out, refs, repairs), self.unplaced

    def _read_header(self, row: list[Cell]) -> None:
        """What each column holds. A second header row under the first that names no level or
        name column (`actual | expected` under the value column) refines nothing we read."""
        vocab = self.vocab
        roles = {vocab.column_of(c.text) for c in row}
        if self.roles and not roles & {"level1", "level2", "name"}:
            return
        self.columns["header_level2"] = {c.col for c in row if vocab.column_of(c.text) == "level2"}
        self.roles = {}
        for c in row:
            if role := vocab.column_of(c.text):
                period = vocab.column_period(c.text)
                self.roles[c.col] = f"{role}:{period}" if period else role
        self.sets_aside = any(_set_aside(r) for r in self.roles.values())

    def _usable(self, row: list[Cell], level_cells: list[Cell]) -> list[Cell]:
        """The row without the cells of columns a record does not keep (remarks, weights, the
        long-term half of a form printing long-term and annual columns side by side). Rows that
        omit merged cells start further left: they are aligned by their first cell that is not
        a level name or a label (a block label printed in a column of its own: 绩效指标), which
        stands in the header's name column."""
        if not self.sets_aside:
            return row
        levels = {id(c) for c in level_cells}  # a set: a row of many level names stays linear
        info = self.vocab.info
        first = next(
            (c for c in row if c.text and id(c) not in levels and not info(c.text).label), None
        )
        names = [c for c, r in self.roles.items() if r in ("name", "name:annual")]
        shift = min(names) - first.col if first and names else 0
        return [c for c in row if not _set_aside(self.roles.get(c.col + shift, ""))]

    def _levels_in(
        self, cells: list[Cell], following: list[list[Cell]]
    ) -> tuple[str | None, str | None, list[Cell]]:
        """(level1, level2, the cells naming them) on one row. A name that is both a level 1 and
        a level 2 is resolved by what stands beside it on the row, else by the level names that
        follow (its own level 2 names: a level 1), else by the level 1 in force (the pre-2021
        hierarchy puts the cost level under the output level), else by the column. A level 1
        name right of the row's level 2 is the indicator's name, not a level (a satisfaction
        indicator may be called just that)."""
        vocab = self.vocab
        names = [vocab.canonical_level(c.text) for c in cells]
        hierarchy = vocab.hierarchy
        later = Counter(n for n in names if n)  # names right of k: counted, not rescanned per k
        l1 = l2 = None
        l2_text = ""
        used: list[Cell] = []
        for k, name in enumerate(names):
            if name is None:
                continue
            later[name] -= 1
            if (
                l2 is not None
                and name != l2
                and (vocab.is_level1(name) or name in vocab.ambiguous_levels)
            ):
                continue  # right of the level 2: a name that happens to spell a level 1
            if name == l2 and cells[k].text != l2_text:
                continue  # the level 2 spelled again otherwise (服务对象满意度): the name
            if name in vocab.ambiguous_levels:
                if any(later[n] > 0 for n in hierarchy[name]):
                    l1 = name
                elif l1 and name in hierarchy.get(l1, ()):
                    l2, l2_text = name, cells[k].text
                elif _next_level(following, vocab) in hierarchy[name]:
                    l1 = name
                elif (
                    not l1 and self.level1 and name in hierarchy.get(self.level1, ())
                ) or self._in_level2_column(cells[k].col):
                    l2, l2_text = name, cells[k].text
                else:
                    l1 = name
            elif vocab.is_level1(name):
                l1 = name
            else:
                l2, l2_text = name, cells[k].text
            used.append(cells[k])
        return l1, l2, used

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

    def _contents(self, row: list[Cell], level_cells: list[Cell]) -> list[Cell]:
        """Cells that are neither the row's level names nor row labels; adjacent copies (merged
        cells the OCR expanded into several columns) kept once, unless the two stand in the
        header's name and target columns (a target printed in the very words of its name)."""
        vocab = self.vocab
        levels = {id(c) for c in level_cells}  # a set: a row of many level names stays linear
        edge = self._left_edge_piece(row, levels)
        out: list[Cell] = []
        for c in row:
            if not squash(c.text) or c.merged:
                continue
            info = vocab.info(c.text)
            if info.block in ("goals", "indicators") or id(c) in levels or info.column or c is edge:
                continue
            if vocab.is_foreign_level(c.text):  # another template's level: named, not read
                self.unplaced.append(c.text)
                continue
            if out and out[-1].text == c.text and not self._name_then_target(out[-1], c):
                continue
            out.append(c)
        return out

    def _left_edge_piece(self, row: list[Cell], levels: set[int]) -> Cell | None:
        """A piece of a merged label a text layer prints down the left edge (年度绩 / 效指标),
        standing first in the row, before the row's level names. None when pieces do not stand
        alone, or the row's first cell is no piece (a short name such as 水费 stands first in a
        row without level names: it is kept)."""
        if not self.pieces_alone or not levels:
            return None
        first = next((c for c in row if c.text and not c.merged), None)
        if first is None or id(first) in levels or not self.vocab.info(first.text).fragment:
            return None
        return first

    def _target_spans(self, row: list[Cell]) -> bool:
        """The previous indicator's target cell spans this row too (its merged copy stands in
        the row): the row is the rest of that indicator's printed row, not an indicator."""
        target = self.out[-1].target_cell if self.out else None
        return target is not None and any(
            c.merged and c.col == target.col and c.text == target.text for c in row
        )

    def _name_then_target(self, first: Cell, second: Cell) -> bool:
        """The two cells stand in the header's name column and then its target column."""
        kinds = [self.roles.get(c.col, "").split(":")[0] for c in (first, second)]
        return kinds == ["name", "target"]

    def _place(
        self,
        cells: list[Cell],
        l1: str | None,
        l2: str | None,
        *,
        own_levels: bool = True,
        target_spans: bool = False,
    ) -> None:
        out = self.out
        prev = out[-1] if out else None
        if len(cells) == 1:
            cell = cells[0]
            if prev and _continues(prev, cell, target_spans=target_spans):
                self._index(prev)
                return
            if prev and prev.target_cell is not None and self._is_weight(cell):
                return  # a weight wrapped onto a line of its own
            is_target = looks_like_target(cell.text, self.vocab)
            if is_target and prev and prev.target_cell is None:
                prev.target_cell = cell
                self._index(prev)
                return
            if is_target:
                out.append(_Row(l1, l2, None, cell, True))
            elif not (self.pieces_alone and self.vocab.info(cell.text).fragment):
                out.append(_Row(l1, l2, cell, None, True))
            # else a piece of a label or level name on a line of its own: a text layer prints a
            # merged cell's wrapped lines above and below its row (成本指 / <row> / 标); no indicator
            return
        name, rest = cells[0], self._without_kind_marks(cells[1:]) or cells[1:]
        if self.weights_printed and len(rest) >= 2 and self._is_weight(rest[-1]):
            rest = rest[:-1]  # the row's weight, printed after its target
        target, used = self._composed_target(rest)
        if target is None:
            target = next((c for c in rest if parse_target(c.text).value is not None), rest[0])
            used = [target]
        earlier = self.by_text.get((name.text, target.text), [])
        if any(_same_row(row, name, target, l1, l2, own_levels) for row in earlier):
            return  # a row the OCR printed twice (beside itself, or across a page break)
        self.unplaced += [c.text for c in rest if c not in used and not self._is_weight(c)]
        out.append(_Row(l1, l2, name, target, True))
        self._index(out[-1])

    def _index(self, row: _Row) -> None:
        """File a row that has a name and a target under their texts (again when either
        changed; `_same_row` compares the texts, so an entry under old texts never matches)."""
        if row.name_cell and row.target_cell:
            key = (row.name_cell.text, row.target_cell.text)
            self.by_text.setdefault(key, []).append(row)

    def _is_weight(self, cell: Cell) -> bool:
        """A bare number, in a table with a weight column: a score, not an indicator."""
        has_weights = self.weights_printed or any(
            r.split(":")[0] == "weight" for r in self.roles.values()
        )
        return has_weights and bool(_BARE_NUMBER.fullmatch(squash(cell.text)))

    def _without_kind_marks(self, cells: list[Cell]) -> list[Cell]:
        """Drop the kind column's marks (定性, 正向…): they say what kind a target is."""
        return [c for c in cells if squash(c.text) not in self.vocab.kind_marks]

    def _composed_target(self, rest: list[Cell]) -> tuple[Cell | None, list[Cell]]:
        """Forms with separate kind/value/unit columns: `| ≥ | 500 | 人次 |` is one
        target, ≥500人次, read where the bare number stands. Returns it and the cells it was
        made of."""
        for k, cell in enumerate(rest):
            t = parse_target(cell.text)
            if t.value is None or t.unit or t.target != (t.op or "") + t.value:
                continue
            before = rest[k - 1] if k > 0 else None
            after = rest[k + 1] if k + 1 < len(rest) else None
            unit = squash(after.text) if after and self._is_unit(after.text) else ""
            if t.op:  # `≥366 | 期`: the operator printed with the number, the unit apart
                if not unit:
                    continue
                assert after is not None
                raw = f"{cell.raw} {after.raw}"
                return Cell(t.target + unit, raw, cell.line, cell.col), [cell, after]
            op_cell = before
            if not self._op_of(before):  # or after: value | unit | operator
                k_op = k + 2 if unit else k + 1
                op_cell = rest[k_op] if k_op < len(rest) else None
            op = self._op_of(op_cell)
            if op or unit:
                used = [c for c in (op_cell if op else None, cell, after if unit else None) if c]
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


def _set_aside(role: str) -> bool:
    return role.split(":")[0] in _SET_ASIDE or role.endswith(":long")


def _named(cell: Cell, level: str | None, vocab: Vocabulary) -> bool:
    return level is not None and vocab.canonical_level(cell.text) == level


def _next_level(rows: list[list[Cell]], vocab: Vocabulary) -> str | None:
    """The first level name in the rows that follow."""
    for row in rows:
        for c in row:
            if c.text and (name := vocab.canonical_level(c.text)):
                return name
    return None


def _same_row(
    prev: _Row, name: Cell, target: Cell, l1: str | None, l2: str | None, own_levels: bool
) -> bool:
    """A copy: same name and target, and the same levels unless the row names none itself (a
    copy printed elsewhere inherits whatever levels stand above it)."""
    return (
        prev.name_cell is not None
        and prev.target_cell is not None
        and (prev.name_cell.text, prev.target_cell.text) == (name.text, target.text)
        and (not own_levels or (prev.level1, prev.level2) == (l1, l2))
    )


def _continues(prev: _Row, cell: Cell, *, target_spans: bool = False) -> bool:
    """A lone cell that finishes the previous row's name or target, cut by a line break: the
    part ends mid-phrase, or (the name) the previous target's cell spans the lone cell's row."""
    for attr in ("name_cell", "target_cell"):
        part: Cell | None = getattr(prev, attr)
        cut = target_spans and attr == "name_cell"
        if part and (cut or _OPEN_END.search(part.text)) and abs(part.col - cell.col) <= 1:
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
        read: dict[str, str | None] = {"level1": row.level1, "level2": row.level2}
        if row.name_cell:
            read["name"] = row.name_cell.text.replace("\n", "")
            refs[f"indicators[{n}].name"] = CellRef(line=row.name_cell.line, col=row.name_cell.col)
        if row.target_cell:
            t = parse_target(row.target_cell.text)
            read.update(target=t.target, op=t.op, value=t.value, unit=t.unit)
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
        out.append(Indicator(**read))
    return out
