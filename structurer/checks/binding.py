"""Label-bound grounding: a value must stand under its own label, not merely somewhere in the form.

Presence in the source (grounding.py) does not catch a value read under the wrong label: two
amounts swapped keep every number in the source and every sum true. Here the form's grid is read
for what each label governs, independently of any extractor:

- a label governs the cells right of it up to the next label, or, when nothing stands right of
  it, the cell below it (a row of labels over a row of values); merged copies count as empty;
- a label printed in both funding columns (listed under a project and a year field) governs the
  project field's cells in its first copy on a row and the year field's in its last; alone on its
  row it governs both fields;
- a column header over a list table (labels over columns) governs its column.

A value found only under another field's label is an error, `grounding.wrong_label`, naming both
labels; a value given for a field whose label is printed over empty cells is an error too. A value
found under no label at all (a form that prints no label for it) is left to the presence check.
Indicators: a level 2 must be the one in force on the indicator's row (merged level cells fill
down), so an indicator moved under a sibling level 2 is caught.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..models import AMOUNT_FIELDS, GOAL_FIELDS, HEADER_FIELDS, Cell, Finding, FormRecord, Grid
from ..read.clean import squash
from ..read.structure import ListTable, derived, grid_parts, is_header_row
from ..read.values import amount_value, is_amount, parse_amount, strip_code
from ..vocab import Vocabulary
from .finding import finding

# Fields bound to their labels (dates come from a date or a period cell: checked by presence).
_TEXT_FIELDS = tuple(f for f in HEADER_FIELDS if not f.endswith("_date"))
_BOUND_PATHS = (*_TEXT_FIELDS, *GOAL_FIELDS, *(f"funding.{f}" for f in AMOUNT_FIELDS))
_MIN_LABELS_OVER_COLUMNS = 3  # a row holding this many labels over a row of none: a list table
_GLUED_AMOUNT = re.compile(r"^\s*[\d,]+\.\d+(?=\D)|(?<=\D)[\d,]+\.\d+\s*$")
_PROSE = 10  # characters of a cell that make a line of running text


@dataclass
class LabelMap:
    """For each field path: the labels the form prints for it and the value cells they govern."""

    labels: dict[str, str] = field(default_factory=dict)  # path -> the label as printed
    cells: dict[str, list[Cell]] = field(default_factory=dict)  # path -> governed value cells

    def add(self, path: str, label: str, governed: list[Cell]) -> None:
        """A label governs the cells of its field's kind: amounts for an amount, text for text.
        A cell of the other kind under it (a goal run on after an amount label, a header
        word where a value should be) says the map is off there, not that a value is wrong."""
        self.labels.setdefault(path, label)
        amount = path.startswith("funding.")
        cells = self.cells.setdefault(path, [])
        cells.extend(c for c in governed if c.text and is_amount(c.text) == amount)


def label_map(grid: Grid, vocab: Vocabulary) -> LabelMap:
    """What each label above the indicator table governs (and a list table's column headers),
    mapped once per grid: every record read from the form is bound against the same map."""
    return derived(grid, "label_map", vocab, lambda: _label_map(grid, vocab))


def _label_map(grid: Grid, vocab: Vocabulary) -> LabelMap:
    parts = grid_parts(grid, vocab)
    if parts.table is not None:
        return _list_map(parts.table)
    vocab = parts.vocab or vocab  # the labels the grid prints that are like known ones count
    rows = parts.top(grid)
    out = LabelMap()
    # fields the form names with a label of their own (not one printed in both columns)
    form = {
        fields[0]
        for row in rows
        for c in row
        if c.text and len(fields := vocab.fields_of(c.text)) == 1
    }
    for r, row in enumerate(rows):
        labels = _labels_on(row, vocab)
        below = rows[r + 1] if r + 1 < len(rows) else []
        if _labels_over_columns(row, labels, below, vocab):
            _over_columns(rows[r + 1 :], row, labels, out)
            continue
        sides = _shared_sides(row, labels, vocab, form)
        for k, (i, fields) in enumerate(labels):
            if not fields:
                continue
            end = labels[k + 1][0] if k + 1 < len(labels) else len(row)
            governed = [c for c in row[i + 1 : end] if not c.merged]
            if not any(c.text for c in governed):
                governed = [c for c in below if c.col == row[i].col and not c.merged]
                governed = [c for c in governed if not vocab.is_label(c.text)]
            for path in sides.get(i, fields):
                _govern(out, path, row[i].text, governed, vocab)
    _goals_in_order(rows, vocab, out)
    return out


def _goals_in_order(rows: list[list[Cell]], vocab: Vocabulary, out: LabelMap) -> None:
    """Goal labels printed one under the other (long-term / annual) with the texts after the
    last of them, in the same order: the first text is the first label's, and so on."""
    labels = [(r, c) for r, row in enumerate(rows) for c in row if _goal_of(c, vocab)]
    if len(labels) < 2 or len({c.col for _, c in labels}) != 1:
        return
    last_row, last = labels[-1]
    texts = [c for c in rows[last_row] if c.col > last.col and c.text]
    fields = [f for f in dict.fromkeys(_goal_of(c, vocab) for _, c in labels) if f]
    if len(texts) != len(fields) or len({c.text for c in texts}) != len(texts):
        return
    for f in GOAL_FIELDS:
        out.cells.pop(f, None)
    for fld, cell in zip(fields, texts, strict=True):
        out.add(fld, next(c.text for _, c in labels if _goal_of(c, vocab) == fld), [cell])


def _goal_of(cell: Cell, vocab: Vocabulary) -> str | None:
    return vocab.info(cell.text).goal


def _list_map(table: ListTable) -> LabelMap:
    """A list table: each project column governs its cells; a subtotal row governs the
    department (or, where the header says so, the unit) of the projects under it."""
    out = LabelMap()
    for department, rows in table.projects():
        for cell in rows[0]:
            role = table.role(cell)
            if role in _BOUND_PATHS:
                label = next((c.text for c in table.header if c.col == cell.col), role)
                out.add(role, label, [cell])
        if department is not None:
            out.add(table.unit_role, "subtotal row", [department])
    return out


def _govern(out: LabelMap, path: str, label: str, cells: list[Cell], vocab: Vocabulary) -> None:
    """A goal cell holding the goals' own labels (`<overall>：…<annual>：…`) is split: each part
    is governed by the label written before it."""
    if path not in GOAL_FIELDS:
        out.add(path, label, cells)
        return
    out.labels.setdefault(path, label)
    for cell in cells:
        for fld, text in _goal_parts(cell, path, vocab):
            out.add(fld, label, [Cell(text, cell.raw, cell.line, cell.col)])


def _goal_parts(cell: Cell, home: str, vocab: Vocabulary) -> list[tuple[str, str]]:
    parts, pos, fld = [], 0, home
    for m in vocab.goal_part_pattern.finditer(cell.text):
        parts.append((fld, cell.text[pos : m.start()]))
        fld = next((f for f in vocab.fields_of(m.group(1)) if f in GOAL_FIELDS), home)
        pos = m.end()
    parts.append((fld, cell.text[pos:]))
    return [(f, t.strip()) for f, t in parts if t.strip()]


def _labels_on(row: list[Cell], vocab: Vocabulary) -> list[tuple[int, tuple[str, ...]]]:
    """(index, fields it names) of each label cell of a row (a merged copy is none)."""
    infos = ((i, vocab.info(c.text)) for i, c in enumerate(row) if c.text and not c.merged)
    return [(i, info.fields) for i, info in infos if info.label]


def _labels_over_columns(
    row: list[Cell], labels: list[tuple[int, tuple[str, ...]]], below: list[Cell], vocab: Vocabulary
) -> bool:
    """A row of nothing but labels (three or more naming fields) over a row of no labels: the
    header of a table whose columns hold the values."""
    texts = [c for c in row if c.text]
    named = [f for _, f in labels if f]
    return (
        len(named) >= _MIN_LABELS_OVER_COLUMNS
        and len(labels) == len(texts)
        and bool(below)
        and not any(vocab.fields_of(c.text) for c in below if c.text)
    )


def _shared_sides(
    row: list[Cell],
    labels: list[tuple[int, tuple[str, ...]]],
    vocab: Vocabulary,
    form: set[str],
) -> dict[int, tuple[str, ...]]:
    """Which field each label printed in both funding columns governs on this row: the project
    one beside a label of the year field's own (and the other way round); else the project one
    in its first copy and the year one in its last (copies side by side, one merged cell spread
    over two columns, count once); alone, both."""
    exclusive = {f[0] for _, f in labels if len(f) == 1}
    groups: dict[tuple[str, ...], list[list[int]]] = {}
    for i, fields in labels:
        if len(fields) < 2:
            continue
        runs = groups.setdefault(fields, [])
        if runs and runs[-1][-1] == i - 1 and row[i - 1].text == row[i].text:
            runs[-1].append(i)  # a copy right beside: the same merged cell
        else:
            runs.append([i])
    out: dict[int, tuple[str, ...]] = {}
    for fields, runs in groups.items():
        project = next(f for f in fields if f.startswith("funding.project"))
        annual = next(f for f in fields if f != project)
        for n, run in enumerate(runs):
            if annual in exclusive and project not in exclusive:
                side: tuple[str, ...] = (project,)
            elif project in exclusive and annual not in exclusive:
                side = (annual,)
            elif len(runs) >= 2:
                side = (project,) if n == 0 else (annual,)
            elif annual in form and project not in form:
                side = (project,)
            elif project in form and annual not in form:
                side = (annual,)
            elif not any(f.startswith("funding.project") for f in form):
                side = (annual,)  # a form with no project column prints the year's money alone
            else:
                side = fields
            out.update(dict.fromkeys(run, side))
    return out


def _over_columns(
    following: list[list[Cell]], header: list[Cell], labels: list, out: LabelMap
) -> None:
    """A list table: each column header governs the cells of its column below it."""
    for i, fields in labels:
        col = header[i].col
        governed = [c for row in following for c in row if c.col == col and not c.merged]
        for path in fields:
            out.add(path, header[i].text, governed)


# --- checking a record against the map ---


@dataclass
class Binding:
    """What binding a record to its form's labels found: errors (a value under another field's
    label, or beside a cell of its own label that says otherwise), and values whose label could
    not be decided from the text (path -> why), said once per form as a warning."""

    errors: list[Finding] = field(default_factory=list)
    undecided: dict[str, str] = field(default_factory=dict)
    wrong_without_label: list[str] = field(default_factory=list)  # under another label, none own


# Why a value's label could not be decided, as the warning says it.
EMPTY_OWN_LABEL = "its own label stands over no value, and no other label holds it"
MID_SPAN = "a merged level cell printed between rows: the rows either side may be under it"
INTERLEAVED = "wrapped cells of neighbouring columns interleave line by line"
RUN_TOGETHER = "labels run into the text around them, with no cell edges"
GLUED_LABEL = "its own label is glued to a value, with no cell of its own"
GOALS_SIDE_BY_SIDE = "two goal columns side by side wrap line by line: where each goal ends"
GOAL_LABEL_AMID = "a goal label printed amid its text: where the goal starts"


def bind_record(
    record: FormRecord, grid: Grid, vocab: Vocabulary, *, skip: frozenset[str] = frozenset()
) -> Binding:
    """Each value against the label that governs it (paths in `skip` already carry a finding:
    a value not in the source at all)."""
    labels = label_map(grid, vocab)
    out = Binding()
    bound = _bound_values(record)
    for path, value, same in bound:
        if path not in skip:
            # a department that is its own implementing unit prints its name once, under one
            # of the two labels: that is no value moved from the other field (amounts are: an
            # empty column filled with the other column's amount is an error)
            shared = {p for p, v, _ in bound if v == value and {p, path} <= _UNIT_FIELDS}
            shared.add(path)
            _check(path, value, same, labels, out, shared)
    for path in [p for p in out.wrong_without_label if _label_glued(grid, vocab, p)]:
        # its label is printed, glued to a value (`4,563,800.00<annual label>`): no cell of
        # its own to govern anything, so "under another label" says nothing about the value
        out.errors = [f for f in out.errors if f.paths != [path]]
        out.undecided[path] = GLUED_LABEL
    for path, why in goal_extents(grid, vocab).items():
        if getattr(record, path):
            out.undecided[path] = why
    _level_moves(record, grid, vocab, out, skip)
    return out


_UNIT_FIELDS = {"department", "implementing_unit"}


def goal_extents(grid: Grid, vocab: Vocabulary) -> dict[str, str]:
    """Goals whose extent a text printed line by line leaves undecided (path -> why): two goal
    columns side by side whose texts wrap (their lines interleave: where each ends no reader of
    the text can tell), or a goal label printed below lines of text that no label holds (a
    merged label cell is printed at the middle of its text, whose start is then undecided)."""
    if grid.layout == "markdown":
        return {}
    rows = grid_parts(grid, vocab).top(grid)
    out: dict[str, str] = {}
    for r, row in enumerate(rows):
        goals = list(dict.fromkeys(f for c in row if c.text and (f := _goal_of(c, vocab))))
        if len(goals) >= 2 and sum(_is_prose(x, vocab) for x in rows[r + 1 :]) >= 2:
            out |= dict.fromkeys(goals, GOALS_SIDE_BY_SIDE)
        elif goals and r > 0 and _is_prose(rows[r - 1], vocab):
            out |= dict.fromkeys(goals, GOAL_LABEL_AMID)
    return out


def _is_prose(row: list[Cell], vocab: Vocabulary) -> bool:
    """A line of running text: no label, no amount, one cell long enough to be a sentence."""
    texts = [c.text for c in row if c.text]
    return (
        bool(texts)
        and not any(vocab.is_label(t) or is_amount(t) for t in texts)
        and any(len(t) >= _PROSE for t in texts)
    )


def _bound_values(record: FormRecord) -> list[tuple[str, str, Callable[[str, Cell], bool]]]:
    out: list[tuple[str, str, Callable[[str, Cell], bool]]] = []
    out += [(f, v, _same_text) for f in _TEXT_FIELDS if (v := getattr(record, f))]
    out += [(f, v, _same_goal) for f in GOAL_FIELDS if (v := getattr(record, f))]
    for f in AMOUNT_FIELDS:
        v = getattr(record.funding, f)
        if v is not None and amount_value(v) is not None:
            out.append((f"funding.{f}", v, _same_amount))
    return out


def _check(
    path: str,
    value: str,
    same: Callable[[str, Cell], bool],
    labels: LabelMap,
    out: Binding,
    shared: set[str],
) -> None:
    own = labels.cells.get(path, [])
    if any(same(value, c) for c in own) or _the_only_goal(path, labels):
        return
    # under another label: the whole cell (a name inside another field's long text is no
    # evidence: a goal may open with the project's name)
    strict = _whole_text if same is _same_text else same
    elsewhere = [
        (other, labels.labels[other])
        for other, cells in labels.cells.items()
        if other not in shared and any(strict(value, c) for c in cells)
    ]
    own_label = labels.labels.get(path)
    if elsewhere:
        other, other_label = elsewhere[0]
        where = f"its own label {own_label!r}" if own_label else "no label of its own"
        if own_label is None:
            out.wrong_without_label.append(path)
        out.errors.append(
            _wrong(
                path,
                value,
                f"{path} = {_short(value)!r} stands under the label {other_label!r} ({other}), "
                f"not under {where}",
                label=own_label or "",
                found_under=other_label,
                found_field=other,
            )
        )
    elif own_label is not None and not own and path.startswith("funding."):
        # The amount is in the source (presence is checked apart) but under no label the map
        # knows: a header printed over two rows, a cell wrapped away from its label. Saying
        # "wrong" here accused correct records; an amount moved from another field is caught
        # above, under that field's label.
        out.undecided[path] = EMPTY_OWN_LABEL
    elif own and path not in GOAL_FIELDS:  # goals span cells: a part of one is not a mismatch
        out.errors.append(
            _wrong(
                path,
                value,
                f"{path} = {_short(value)!r}, but the cell under its label {own_label!r} says "
                f"{_short(own[0].text)!r}",
                label=own_label or "",
                source=own[0].text,
            )
        )


def _label_glued(grid: Grid, vocab: Vocabulary, path: str) -> bool:
    """Whether a cell of the form is one of `path`'s labels glued to an amount (a PDF text layer
    runs a cell into its neighbour: `7595500.00<annual label>`): the label is printed, with no
    cell of its own to govern a value."""
    return any(
        c.text and _GLUED_AMOUNT.search(c.text) and path in vocab.fields_of(rest)
        for row in grid.rows
        for c in row
        if (rest := _GLUED_AMOUNT.sub("", c.text).strip())
    )


def _the_only_goal(path: str, labels: LabelMap) -> bool:
    """One goal text under a form's two goal labels belongs to the annual goal by the labelling
    convention, whichever label's column it stands in: no label is wrong for it."""
    if path not in GOAL_FIELDS:
        return False
    texts = {squash(c.text) for f in GOAL_FIELDS for c in labels.cells.get(f, [])}
    return len(texts) == 1


def _wrong(path: str, value: str, message: str, **values: str) -> Finding:
    return finding("error", "grounding.wrong_label", message, [path], value=value, **values)


def _short(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "…"


def _same_text(value: str, cell: Cell) -> bool:
    want, have = squash(value), squash(cell.text)
    return bool(want) and (want == have or want == squash(strip_code(cell.text)) or want in have)


def _whole_text(value: str, cell: Cell) -> bool:
    want, have = squash(value), squash(cell.text)
    return bool(want) and (want == have or want == squash(strip_code(cell.text)))


def _same_goal(value: str, cell: Cell) -> bool:
    """A goal and the cell start alike (a goal may span cells, and a cell may share the text of
    both goals: `<overall>：…<annual>：…`, split into its parts before it gets here)."""
    first, text = squash(value.split("\n")[0]), squash(cell.text)
    return bool(first) and (first[:40] == text[:40] or first == text)


def _same_amount(value: str, cell: Cell) -> bool:
    try:
        number = amount_value(parse_amount(cell.text)[0])
    except ValueError:
        return False
    return number is not None and number == amount_value(value)


# --- indicators under their level 2 ---


def _level_moves(
    record: FormRecord, grid: Grid, vocab: Vocabulary, out: Binding, skip: frozenset[str]
) -> None:
    """An indicator whose level 2 is none of the ones that can be in force on its row."""
    in_force = _level2_by_name(grid, vocab)
    for i, ind in enumerate(record.indicators):
        path = f"indicators[{i}].level2"
        mine = vocab.canonical_level(ind.level2)
        rows = in_force.get(squash(ind.name or ""), [])
        if not mine or not rows or path in skip or any(None in r for r in rows):
            continue
        if hits := [r for r in rows if mine in r]:
            if all(len(r) > 1 for r in hits):  # right only if the merged cell reaches it
                out.undecided[path] = out.undecided[f"indicators[{i}].level1"] = MID_SPAN
            continue
        shown = "/".join(sorted({n for r in rows for n in r if n}))
        out.errors.append(
            finding(
                "error",
                "grounding.wrong_label",
                f"indicator {ind.name!r} stands under level 2 {shown} in the source, not "
                f"under {ind.level2}",
                [path, f"indicators[{i}].level1"],
                value=ind.level2 or "",
                label=shown,
            )
        )


def _level2_by_name(grid: Grid, vocab: Vocabulary) -> dict[str, list[frozenset[str | None]]]:
    """For each cell text in the indicator table, per row it stands on, the level-2 names that
    can be in force there (None where no level 2 is known: rows before any level name, a level 1
    printed alone). One name in a table with cells of its own (merged cells fill down). In text
    printed line by line (a PDF text layer) a merged level cell is printed once, between the
    rows it spans: a row may then be under the level named on the line after it, and a
    both-levels name on a row (the satisfaction level) may stand for the level 1 of a child named on a line
    beside it."""
    return derived(grid, "level2_by_name", vocab, lambda: _levels_in_force(grid, vocab))


def _levels_in_force(grid: Grid, vocab: Vocabulary) -> dict[str, list[frozenset[str | None]]]:
    rows = [row for row in grid_parts(grid, vocab).bottom(grid) if not is_header_row(row, vocab)]
    lines = grid.layout != "markdown"
    info = vocab.info
    levels: list[list[str]] = []
    content: list[list[Cell]] = []
    for row in rows:  # one pass: each cell's level or none
        named = [(c, info(c.text).level) for c in row if c.text]
        levels.append([n for _, n in named if n])
        content.append([c for c, n in named if not n])
    # rows of labels only (a block label beside level names): asked only of line layouts
    bare = [not any(not info(c.text).label for c in cells) for cells in content] if lines else []
    out: dict[str, list[frozenset[str | None]]] = {}
    current: str | None = None
    current_line = -1
    seen_level = False
    pending: list[str] = []  # rows before any level name take the first level 2 that follows
    for r in range(len(rows)):
        if levels[r]:
            current, current_line, seen_level = _row_level2(levels[r], vocab), r, True
            for key in pending:
                out.setdefault(key, []).append(frozenset({current}))
            pending = []
        if not content[r]:
            continue
        candidates = {current}
        if lines:
            candidates |= _split_child(current_line, levels, content, vocab)
            candidates |= _beside(r, levels, content, bare, vocab)
        for c in content[r]:
            if seen_level:
                out.setdefault(squash(c.text), []).append(frozenset(candidates))
            else:
                pending.append(squash(c.text))
    return out


def _beside(
    r: int, levels: list[list[str]], content: list[list[Cell]], bare: list[bool], vocab: Vocabulary
) -> set[str | None]:
    """Level 2 names a line-by-line text may mean for row r besides the one in force: for a row
    naming no level, the one on the next line naming a level, when that line names nothing else
    (a merged cell is printed at the middle of the rows it spans, so every row between the level
    line above and it may be under it); for a row naming a both-levels name, a child of it named
    on a level-only line beside it."""
    out: set[str | None] = set()
    nxt = next((k for k in range(r + 1, len(levels)) if levels[k]), None)
    if not levels[r] and nxt is not None and bare[nxt]:
        out.add(_row_level2(levels[nxt], vocab))  # a row naming no level of its own
        out |= _split_child(nxt, levels, content, vocab)
    own = _row_level2(levels[r], vocab) if levels[r] else None
    if own in vocab.ambiguous_levels:
        for k in (r - 1, r + 1):
            if 0 <= k < len(levels) and levels[k] and bare[k]:
                out |= {n for n in levels[k] if n in vocab.hierarchy.get(own, ())}
    return out


def _split_child(
    k: int, levels: list[list[str]], content: list[list[Cell]], vocab: Vocabulary
) -> set[str | None]:
    """A child of the both-levels name on line k printed in two pieces on the lines either side
    of it, its wrapped level-2 cell split around the row (`<child head>` / `<both-levels name> …` /
    `<child tail>`): the pieces are no level name, so the line names the child only when joined."""
    if k < 1 or k + 1 >= len(levels) or not content[k - 1] or not content[k + 1]:
        return set()
    own = _row_level2(levels[k], vocab)
    if own not in vocab.ambiguous_levels:
        return set()
    joined = squash(content[k - 1][0].text + content[k + 1][0].text)
    return {c for c in vocab.hierarchy.get(own, ()) if squash(c) == joined}


def _row_level2(names: list[str], vocab: Vocabulary) -> str | None:
    """The level 2 a row names: a plain level-2 name, or a name that is both a level 1 and a
    level 2 when no level 2 of its own follows it on the row (then it acts as the level 2)."""
    for k, name in enumerate(names):
        if vocab.is_level2(name) and name not in vocab.ambiguous_levels:
            return name
        if name in vocab.ambiguous_levels:
            later = names[k + 1 :]
            if not any(n in vocab.hierarchy.get(name, ()) for n in later):
                return name
    return None
