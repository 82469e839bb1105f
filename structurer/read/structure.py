"""The parts of a form's grid: the rows above the indicator table (header, funding and goal
blocks) and the indicator table itself, or a department list table (one row per indicator,
project columns beside them). Shared by the rules (which read the parts), the reader (which splits
a list table per project) and the checks (which bind each value to the label governing it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from ..models import Cell, Grid
from ..vocab import Vocabulary, label_key
from .likeness import Likeness, find_likeness, reading_vocabulary
from .values import amount_value, is_amount, parse_amount, strip_code

T = TypeVar("T")


def derived(grid: Grid, name: str, vocab: Vocabulary, build: Callable[[], T]) -> T:
    """What a stage derives from a grid under a vocabulary, built once and kept on the grid: the
    rules, the checks and hybrid's shadow read the same form, and each used to derive its parts
    again (the list-table test and the indicator start three times a form)."""
    key = (name, vocab.sha)
    try:
        return grid.memo[key]  # type: ignore[no-any-return]
    except KeyError:
        value = grid.memo[key] = build()
        return value


@dataclass(frozen=True)
class GridParts:
    """A form's grid cut into its parts: a department list table, or the rows above the
    indicator table (header, funding, goals) and the indicator rows; and whether its text
    interleaves wrapped cells (then no label's reach can be decided from it)."""

    table: ListTable | None
    start: int  # index of the first indicator row (len(rows) when there is none)
    interleaved: bool = False
    run_together: bool = False  # labels glued to the text around them: no cell edges to read
    likeness: tuple[Likeness, ...] = ()  # printed labels read by likeness (read.likeness)
    vocab: Vocabulary | None = None  # what the grid is read with: + the likeness spellings

    def top(self, grid: Grid) -> list[list[Cell]]:
        return grid.rows[: self.start]

    def bottom(self, grid: Grid) -> list[list[Cell]]:
        return grid.rows[self.start :]


def grid_parts(grid: Grid, vocab: Vocabulary) -> GridParts:
    """The grid's parts, found once per grid."""

    def build() -> GridParts:
        table, start = list_table(grid.rows, vocab), indicator_start(grid.rows, vocab)
        if table is not None and table.packed is not None and grid.layout != "markdown":
            table = None  # a packed list without cells: its lines interleave (read.packed)
        if table is not None and grid.project_line is not None:
            table = table.only(grid.project_line)
        found = tuple(find_likeness(grid.rows[:start], vocab)) if table is None else ()
        reading = reading_vocabulary(vocab, list(found))
        return GridParts(
            table, start, interleaved(grid, vocab), run_together(grid, vocab), found, reading
        )

    return derived(grid, "parts", vocab, build)


# Rows made only of label pieces (`<label>及代`, `度指标`) or of one or two characters alone:
# a PDF text layer prints a merged cell's text down the page, a piece per line, between the lines
# of the rows beside it. A clean layout shows none or one (a word like 长期 alone); text layers
# show five to fifteen per form.
INTERLEAVED_ROWS = 3


# Cells that open with a label and run on into other text (`<label><value>`, `<label><label>`):
# OCR that lost the cell edges. A clean layout shows none (a title, a long note aside).
RUN_TOGETHER_CELLS = 2
_GLUED_LABEL = 4  # characters: shorter label keys (指标, 单位) open many plain texts
_GLUED_REST = 3  # characters after the label: fewer is a qualifier (`<label>补助`)
_LONG, _MANY_LABELS = 40, 4  # a long cell holding this many labels is a form run into one


def run_together(grid: Grid, vocab: Vocabulary) -> bool:
    """Whether a form printed as lines of text runs its labels into the text after them: no
    reader can tell where a value under such a label ends."""
    if grid.layout == "markdown":
        return False
    keys = vocab.glued_label_keys(_GLUED_LABEL)
    glued = 0
    for row in grid.rows:
        for cell in row:
            if not cell.text:
                continue
            if _opens_with_label(cell.text, keys, vocab):
                glued += 1
            elif len(cell.text) > _LONG and sum(k in cell.text for k in keys) >= _MANY_LABELS:
                glued += RUN_TOGETHER_CELLS  # a whole form in one cell: labels all through it
            if glued >= RUN_TOGETHER_CELLS:
                return True
    return False


def _opens_with_label(text: str, keys: tuple[str, ...], vocab: Vocabulary) -> bool:
    info = vocab.info(text)
    if info.label or vocab.title_pattern.search(text):
        return False
    key = info.key
    return any(key.startswith(k) and len(key) - len(k) >= _GLUED_REST for k in keys)


def interleaved(grid: Grid, vocab: Vocabulary) -> bool:
    """Whether a form printed as lines of text (not a table with cells of its own) interleaves
    the wrapped cells of neighbouring columns, line by line: what a PDF text layer does. In such
    text no reader can tell which label a value stood under, or where a wrapped value ends."""
    if grid.layout == "markdown":
        return False
    info = vocab.info
    pieces = 0
    for row in grid.rows:
        texts = [c.text for c in row if c.text]
        if texts and all(info(t).fragment for t in texts):
            pieces += 1
    return pieces >= INTERLEAVED_ROWS


def is_header_row(row: list[Cell], vocab: Vocabulary) -> bool:
    """The indicator table's header row: two or more of the vocabulary's column headers."""
    info = vocab.info
    return sum(info(c.text).column is not None for c in row if c.text) >= 2


def starts_indicators(row: list[Cell], vocab: Vocabulary) -> bool:
    """The indicator table begins at its header row, or failing that at the first level name."""
    info = vocab.info
    return is_header_row(row, vocab) or any(info(c.text).level for c in row if c.text)


def indicator_start(rows: list[list[Cell]], vocab: Vocabulary) -> int:
    """Index of the first row of the indicator table (len(rows) when there is none)."""
    return next((n for n, row in enumerate(rows) if starts_indicators(row, vocab)), len(rows))


# --- department list tables: one row per indicator, several projects in one table ---

# Project columns: what the record takes from the first row of each project.
_PROJECT_FIELDS = (
    "project_name",
    "implementing_unit",
    "department",
    "project_category",
    "funding.annual_total",
    "funding.current_appropriation",
    "funding.annual_other",
    "annual_goal",
    "overall_goal",
)
_INDICATOR_ROLES = ("level1", "level2", "name")


@dataclass
class ListTable:
    """A table whose header names project columns and indicator columns side by side, each data
    row one indicator. `rows` are re-aligned to the header's columns: a row that omits the merged
    project cells starts at the indicator column its first cell belongs to, and a cell wrapped
    onto a line of its own is put back into the row it belongs to. A department's subtotal row
    (`820-<department> | 8,827,620.53`) names the department of the projects after it; in a paged
    table, the unit's own row (`126001 | <unit> | 417.41`) names their unit, and a project's row
    printed again at the top of the next page continues that project."""

    header: list[Cell]
    roles: dict[int, str]  # header column -> field path (project columns) or column role
    rows: list[list[Cell]]  # data rows, cells at the header's columns
    first: int  # the column where the indicator columns begin
    departments: dict[int, Cell] = field(default_factory=dict)  # project row -> its department
    units: dict[int, Cell] = field(default_factory=dict)  # project row -> the unit row above it
    unit_role: str = "department"  # what the subtotal row above a project names
    # lines of rows that start a project whose cells the table does not hold (a ruled cell left
    # open at a page's foot: its text is printed outside the table's cells)
    outside: set[int] = field(default_factory=set)

    @property
    def packed(self) -> int | None:
        """The column holding each project's indicators packed into one text cell, if any."""
        return next((c for c, r in self.roles.items() if r == "packed"), None)

    def packed_cell(self, row: list[Cell]) -> Cell | None:
        """The row's cell in the packed column, when it holds text."""
        return next((c for c in row if c.col == self.packed and c.text), None)

    def role(self, cell: Cell) -> str:
        return self.roles.get(cell.col, "")

    def starts_project(self, row: list[Cell]) -> bool:
        """A row filling the project-name column with a cell of its own (not a copy of a merged
        cell from the row above): the first row of a project."""
        return self.project_line(row) is not None

    def project_line(self, row: list[Cell]) -> int | None:
        """The source line of the row's own project-name cell (where its project starts), or of
        its own amount cells beside a name merged down from the row above: one project printed
        once over several budget lines, each with its own amounts, goal and indicators."""
        own = [c for c in row if c.text and not c.merged]
        name = next((c.line for c in own if self.role(c) == "project_name"), None)
        if name is None and self.starts_outside(row):
            return _own_line(row)
        if name is not None or not any(c.merged and self.role(c) == "project_name" for c in row):
            return name
        return next((c.line for c in own if self.role(c).startswith("funding.")), None)

    def starts_outside(self, row: list[Cell]) -> bool:
        """The row starts a project whose cells the table does not hold (see `outside`)."""
        return bool(row) and _own_line(row) in self.outside

    def only(self, line: int) -> ListTable:
        """The table cut to the project whose first row names it on `line` (a form of a list
        whose rows merge cells across projects keeps the others' lines: see Chunk.project_line),
        or whose amounts a centred list prints on `line` (`centred_projects`)."""
        starts = [n for n, row in enumerate(self.rows) if self.starts_project(row)]
        first = next((n for n in starts if self.project_line(self.rows[n]) == line), None)
        if first is None:
            return self._around(line)
        end = next((n for n in starts if n > first), len(self.rows))
        departments = {0: self.departments[first]} if first in self.departments else {}
        units = {0: self.units[first]} if first in self.units else {}
        rows = self.rows[first:end]
        return ListTable(
            self.header, self.roles, rows, self.first, departments, units, self.unit_role,
            self.outside,
        )  # fmt: skip

    def centred_projects(self) -> list[list[int]]:
        """The amount lines of each project of a list whose project cells are printed at the
        middle of the rows they span, among the indicator rows (a PDF text layer of merged
        cells): no row of its own starts a project, but each project prints its amounts side by
        side on one line, again on each page it runs onto. Empty when the list is not such a list:
        no line prints amounts, or half its amount lines or more are project rows of their own
        (a row that starts a project there is a piece of text the layer happened to print at
        the name column)."""
        prints = [(row, amounts) for row in self.rows if (amounts := _amounts(row))]
        if 2 * sum(self.starts_project(row) for row, _ in prints) >= len(prints):
            return []
        out: list[list[int]] = []
        last: tuple[str, ...] = ()
        for row, amounts in prints:
            if amounts == last:  # the same project's amounts printed again on the next page
                out[-1].append(row[0].line)
            else:
                out.append([row[0].line])
            last = amounts
        return out

    def _around(self, line: int) -> ListTable:
        """A centred list cut to the project whose amounts are printed on `line`: the rows
        nearer its amount lines than any other project's (the earlier on a tie), the amount row
        first. Which rows at the edges are a project's own is a guess; the form says so (its text
        interleaves). The whole table when `line` prints no project's amounts."""
        projects = self.centred_projects()
        mine = next((k for k, lines in enumerate(projects) if line in lines), None)
        if mine is None:
            return self

        def nearest(row: list[Cell]) -> int:
            at = row[0].line
            return min(range(len(projects)), key=lambda k: min(abs(at - n) for n in projects[k]))

        rows = [row for row in self.rows if row and nearest(row) == mine]
        anchor = next(row for row in rows if row[0].line == line)
        rest = [[_merged(c) if c.col < self.first else c for c in row] for row in rows]
        rest = [row for row, orig in zip(rest, rows, strict=True) if orig is not anchor]
        return ListTable(
            self.header, self.roles, [anchor, *rest], self.first, {}, {}, self.unit_role
        )

    def projects(self) -> list[tuple[Cell | None, list[list[Cell]]]]:
        """(department cell, data rows) per project."""
        out: list[tuple[Cell | None, list[list[Cell]]]] = []
        for n, row in enumerate(self.rows):
            if self.starts_project(row) or not out:
                out.append((self.departments.get(n), [row]))
            else:
                out[-1][1].append(row)
        return out


def may_hold_list_table(text: str, vocab: Vocabulary) -> bool:
    """Whether a chunk's text can hold a list table's header: a line naming the project column
    and two indicator columns, or two lines (a two-row header: the project columns merged down
    beside `绩效指标`, the indicator columns under it). Checked on the text so that a form that
    is no list (nearly all) is not read into a grid twice."""
    names = [label_key(lab) for lab in vocab.labels("project_name")]
    columns = [
        [label_key(lab) for lab in vocab.spec.indicator_columns.get(role, ())]
        for role in _INDICATOR_ROLES
    ]
    packed = [label_key(c) for c in vocab.spec.packed.columns]
    named_above = False
    for line in text.split("\n"):
        key = label_key(line)
        named = any(n in key for n in names)
        if (named or named_above) and (
            sum(any(c in key for c in cs) for cs in columns) >= 2 or any(p in key for p in packed)
        ):
            return True
        named_above = named
    return False


def list_table(rows: list[list[Cell]], vocab: Vocabulary) -> ListTable | None:
    """The grid's department list table, None when the form is not one."""
    names = set(vocab.labels("project_name"))
    for n, row in enumerate(rows):
        if not any(c.text and _names_project_column(c.text, names, vocab) for c in row):
            continue  # a list's header names the project column
        roles = _list_roles(row, vocab)
        if roles is None:
            continue
        below = _list_roles(rows[n + 1], vocab) if n + 1 < len(rows) else None
        if "packed" in roles.values() and below is not None and "packed" not in below.values():
            continue  # a group header over the indicator columns under it (a two-row header)
        sub = _sub_header(rows[n + 1], roles, vocab) if n + 1 < len(rows) else {}
        roles = _year_amounts({**roles, **sub})
        first = min(c for c, r in roles.items() if r in (*_INDICATOR_ROLES, "packed"))
        table = ListTable(row, roles, [], first)
        body = rows[n + 1 + bool(sub) :]
        if table.packed is not None:
            table.unit_role = _unit_role(row, roles, vocab)
            _align_packed(body, table, vocab)
        else:
            _align(body, table, vocab)
        return table
    return None


def _list_roles(row: list[Cell], vocab: Vocabulary) -> dict[int, str] | None:
    roles = {c.col: _list_role(c.text, vocab) for c in row if c.text}
    indicator_columns = sum(r in _INDICATOR_ROLES for r in roles.values())
    packed = "packed" in roles.values() and indicator_columns == 0
    if (indicator_columns >= 2 or packed) and "project_name" in roles.values():
        return roles
    return None


def _list_role(text: str, vocab: Vocabulary) -> str:
    """What a list header's cell names: a project field, an indicator column, or a label the
    record does not keep ("ignored"); "" for text that is no label."""
    fields = vocab.fields_of(text)
    field_path = next((f for f in fields if f in _PROJECT_FIELDS), None)
    if field_path is None and vocab.block_of(text) == "goals":
        field_path = "annual_goal"  # a list's goal column names the year's goal
    if len(fields) == 2 and "funding.annual_total" in fields:
        field_path = "funding.annual_total"  # one amount per project: the year's
    if field_path is None and fields == ("funding.project_total",):
        field_path = "project_total"  # the year's total unless the list prints one: _year_amounts
    column = vocab.column_of(text) or ("packed" if vocab.is_packed_column(text) else None)
    return field_path or column or ("ignored" if vocab.is_label(text) else "")


def _sub_header(row: list[Cell], header: dict[int, str], vocab: Vocabulary) -> dict[int, str]:
    """The roles a two-row header's second row gives the columns under a group cell (`of
    which:` over the fiscal and the other funds): its own cells (not the header's cells merged down) are all
    amount labels, each under a header cell that names nothing (the group cell, or the column
    it spans). Empty when the row is no such row (a data row, a header of one row, a text
    layer's row whose cells do not keep their columns)."""
    own = [c for c in row if c.text and not c.merged]
    roles = {c.col: _list_role(c.text, vocab) for c in own}
    if not own or not all(r.startswith("funding.") for r in roles.values()):
        return {}
    if any(header.get(col) for col in roles):
        return {}
    return roles


def _year_amounts(roles: dict[int, str]) -> dict[int, str]:
    """A list table budgets one year: its project-total column (Beijing's) is the year's total
    when no column names the year's total itself; beside one, it is a whole-project amount the
    list's record does not keep."""
    has_year = "funding.annual_total" in roles.values()
    total = "ignored" if has_year else "funding.annual_total"
    return {c: total if r == "project_total" else r for c, r in roles.items()}


def _names_project_column(text: str, names: set[str], vocab: Vocabulary) -> bool:
    """A project-name label as printed, or qualified in brackets by what else the column holds
    (the unit). One look-up: asked of every cell of every form."""
    info = vocab.info(text)
    return info.key in names or info.fields == ("project_name",)


def _unit_role(header: list[Cell], roles: dict[int, str], vocab: Vocabulary) -> str:
    """What a subtotal row of a packed list names: the field the project column's header names
    in its brackets (the unit that spends the money, in Guangzhou's list), else the department."""
    for c in header:
        if roles.get(c.col) == "project_name" and (m := _BRACKETED.search(label_key(c.text))):
            unit = vocab.fields_of(m.group(1))
            if unit in (("implementing_unit",), ("department",)):
                return unit[0]
    return "department"


_BRACKETED = re.compile(r"\(([^()]+)\)$")


def _align_packed(rows: list[list[Cell]], table: ListTable, vocab: Vocabulary) -> None:
    """The rows of a packed list: one per project, each cell at its own column (a ruled table
    keeps its columns). A row with neither goal nor indicators is a subtotal (a unit's name and
    its money: the unit of the projects below it) or the table's total; a row without a name
    (a repeated header, a title or a label line between pages) is not the table's."""
    unit: Cell | None = None
    kept = {c for c, r in table.roles.items() if r in ("packed", "annual_goal")}
    header = [c.text for c in table.header]
    for row in rows:
        name = next((c for c in row if c.text and table.role(c) == "project_name"), None)
        if name is None or [c.text for c in row] == header or vocab.is_label(name.text):
            continue
        if not any(c.text for c in row if c.col in kept):
            unit = None if vocab.is_total_row(name.text) else name
            continue
        table.rows.append(row)
        if unit is not None:
            table.departments[len(table.rows) - 1] = unit


def _align(rows: list[list[Cell]], table: ListTable, vocab: Vocabulary) -> None:
    roles, out = table.roles, table.rows
    width = max(roles) + 1
    lead = min(roles)  # empty columns before the header's first (a ruled table's margin column)
    department: Cell | None = None
    unit: Cell | None = None  # the unit row above the projects (a paged table's own row)
    project: int | None = None  # the first row of the project being read
    drawn = False  # the row above lies under a project cell drawn in the table (its own or merged)
    for row in rows:
        if lead and row and len(row) == width - lead:  # the next page's table without the margin
            margin = [Cell("", "", row[0].line, k) for k in range(lead)]
            row = [
                *margin,
                *(Cell(c.text, c.raw, c.line, c.col + lead, c.repairs, c.merged) for c in row),
            ]
        cells = [c for c in row if c.text]
        if not cells:
            continue
        if vocab.is_trailer(cells[0].text):
            break
        if _subtotal(cells):
            department = cells[0]
            continue
        if all(vocab.is_label(c.text) for c in cells):
            continue  # the header printed again on the next page
        if len(row) >= width and all(c.col < table.first and not c.merged for c in cells):
            # A paged table's row with project columns only: the total (合计, no name) or the
            # row of the unit whose projects follow (its name in the project-name column).
            unit = next((c for c in cells if table.role(c) == "project_name"), unit)
            continue
        if len(cells) == 1 and out and not vocab.canonical_level(cells[0].text):
            out[-1] = _continued(out[-1], cells[0], roles, width)
            continue
        placed = _placed(row, cells, table, width, vocab)
        if drawn and _own_line(placed) == _own_line(out[-1]) + 1 and _no_cell(row, table):
            table.outside.add(_own_line(placed))  # the same table's next row, out of the cell
        drawn = any(c.text and table.role(c) == "project_name" for c in placed)
        out.append(placed)
        if not table.starts_project(out[-1]):
            continue
        if project is not None and _repeated(out[-1], out[project], table, vocab):
            out[project] = _completed(out[project], out[-1], table)
            out[-1] = [c if c.col >= table.first else _merged(c) for c in out[-1]]
            continue
        project = len(out) - 1
        if department is not None:
            table.departments[len(out) - 1] = department
        if unit is not None:
            table.units[len(out) - 1] = unit


def _placed(
    row: list[Cell], cells: list[Cell], table: ListTable, width: int, vocab: Vocabulary
) -> list[Cell]:
    """A row's cells at the header's columns, from where _start_column puts its first cell: a
    full row standing at its own place keeps the gaps between its cells (an empty unit cell before
    定性), any other row is packed from its start."""
    start = _start_column(row, cells, table.roles, table.first, width, vocab)
    own = len(row) >= width and start == row[0].col
    return [
        Cell(c.text, c.raw, c.line, c.col if own else start + k, c.repairs, c.merged)
        for k, c in enumerate(cells)
    ]


def _own_line(row: list[Cell]) -> int:
    """The source line a row is printed on (a cell merged down from above keeps its own line)."""
    return max(c.line for c in row)


def _no_cell(row: list[Cell], table: ListTable) -> bool:
    """A full row whose project columns are empty cells of its own, not the cells of a project
    merged down over it: in a table that merges each project's cells down its rows, the row lies
    under no project cell drawn in the table."""
    project = [c for c in row if c.col < table.first and table.role(c) == "project_name"]
    return bool(project) and all(not c.text and not c.merged for c in project)


def _repeated(row: list[Cell], project: list[Cell], table: ListTable, vocab: Vocabulary) -> bool:
    """A project's first row printed again at the top of the next page: the same project
    columns as the project being read, its name and at least one more (the amount, the goal),
    the name no label (a header row printed among the rows is not read as a project here)."""
    own = _identity(row, table)
    name = next((c.text for c in row if table.role(c) == "project_name"), "")
    return len(own) >= 2 and own == _identity(project, table) and not vocab.is_label(name)


def _identity(row: list[Cell], table: ListTable) -> list[tuple[int, str]]:
    """(column, text) of a row's project name and amounts: what a repeated row repeats (its
    goal may be clipped on the page where the project starts)."""
    return [
        (c.col, c.text)
        for c in row
        if c.text
        and c.col < table.first
        and (table.role(c) == "project_name" or table.role(c).startswith("funding."))
    ]


def _completed(first: list[Cell], repeat: list[Cell], table: ListTable) -> list[Cell]:
    """The project's first row, a project cell clipped there (the goal cut at the page's foot)
    taken whole from the repeat on the next page."""
    longer = {c.col: c for c in repeat if c.col < table.first and c.text and not c.merged}
    return [
        longer[c.col]
        if c.col in longer
        and len(longer[c.col].text) > len(c.text)
        and longer[c.col].text.startswith(c.text)
        else c
        for c in first
    ]


def _amounts(row: list[Cell]) -> tuple[str, ...]:
    """The amounts a row prints side by side, a total then its parts (two or more, the first no
    smaller than the second): a project's amounts. Empty when it prints none (a target prints
    one number)."""
    texts = [c.text for c in row if c.text]
    for k in range(len(texts) - 1):
        run: list[Decimal] = []
        for text in texts[k:]:
            value = amount_value(parse_amount(text)[0]) if is_amount(text) else None
            if value is None:
                break
            run.append(value)
        if len(run) >= 2 and run[0] >= run[1] > 0:
            return tuple(str(v) for v in run)
    return ()


def _merged(cell: Cell) -> Cell:
    return Cell(cell.text, cell.raw, cell.line, cell.col, cell.repairs, merged=True)


def _subtotal(cells: list[Cell]) -> bool:
    """A department's subtotal row: a coded name and its total, nothing else."""
    if len(cells) != 2 or strip_code(cells[0].text) == cells[0].text:
        return False
    try:
        return parse_amount(cells[1].text)[0] is not None
    except ValueError:
        return False


def _start_column(
    row: list[Cell],
    cells: list[Cell],
    roles: dict[int, str],
    first: int,
    width: int,
    vocab: Vocabulary,
) -> int:
    """Where a row's first cell stands: a row that begins with a level name at that level's
    column (merged project cells are dropped before it, whatever empties follow); a full row at
    its own place; a short one at the indicator name's column."""
    name = vocab.canonical_level(cells[0].text)
    if name:
        second = vocab.canonical_level(cells[1].text) if len(cells) > 1 else None
        level1 = vocab.is_level1(name) and (name not in vocab.ambiguous_levels or bool(second))
        role = "level1" if level1 else "level2"
        return next((c for c, r in roles.items() if r == role), first)
    if len(row) >= width:
        return row[0].col
    if len(cells) >= width - 1:
        return 0
    return next((c for c, r in roles.items() if r == "name"), first)


def _continued(row: list[Cell], cell: Cell, roles: dict[int, str], width: int) -> list[Cell]:
    """A wrapped cell goes back into the row above: the target when it is still empty, else the
    weight column for a bare number, else the first empty column after the target."""
    taken = {c.col for c in row if c.text}
    col_of = {r: c for c, r in roles.items()}
    target = col_of.get("target", width - 1)
    if target in taken and "weight" in col_of and col_of["weight"] not in taken:
        col = col_of["weight"]
    else:
        col = next((c for c in range(target, width) if c not in taken), width)
    return [*row, Cell(cell.text, cell.raw, cell.line, col, cell.repairs)]
