"""A department list table: one row per indicator, the project's columns filled on its first row.

The project's fields come from its first row, column by column (the header names them); the
department from the subtotal row above the project, when the table prints one; the money unit
from the lines above the table (`金额单位：元`). The indicator columns are read by the same
IndicatorTable as any form's indicator table, header included, so composed targets (kind |
value | unit), weights and remarks are handled alike.
"""

from __future__ import annotations

from ..models import Cell, CellRef, Chunk, Finding, FormRecord, Grid
from ..read.structure import ListTable, grid_parts
from ..read.values import strip_code
from ..vocab import Vocabulary
from .coverage import close_record
from .funding import _set_amount, _unit_of
from .header import _extra, _value, read_header, set_unit
from .indicators import IndicatorTable
from .labels import Trace
from .packed import labelled_above, read_packed


def read_list(chunk: Chunk, grid: Grid, table: ListTable, vocab: Vocabulary) -> FormRecord:
    record = FormRecord(form_index=chunk.index, year=chunk.year, backend="rules")
    trace = Trace()
    department, rows = table.projects()[0]
    for cell in rows[0]:
        _set_field(record, table.role(cell), cell, trace)
    _keep_name_code(record, table, rows[0], trace)
    if department is not None and getattr(record, table.unit_role) is None:
        set_unit(record, table.unit_role, department, trace)
    unit = table.units.get(0)
    if unit is not None and record.implementing_unit is None:
        set_unit(record, "implementing_unit", unit, trace)
    read_header(_lines_above(chunk, table), record, trace, vocab)
    record.funding.unit = record.funding.unit or _unit_above(chunk, grid, table, vocab)
    if table.packed is not None:
        return _read_packed(record, chunk, grid, table, rows[0], trace, vocab)
    header = [c for c in table.header if c.col >= table.first]
    indicator_rows = [[c for c in row if c.col >= table.first] for row in rows]
    table_reader = IndicatorTable(vocab, pieces_alone=grid_parts(grid, vocab).interleaved)
    record.indicators, unplaced = table_reader.read(
        [header, *indicator_rows], trace.cells, trace.repairs
    )
    record = close_record(record, chunk, grid, trace, [], unplaced)
    if table.starts_outside(rows[0]):
        record.findings.append(_outside_finding(table))
    return record


def _outside_finding(table: ListTable) -> Finding:
    """A project whose rows lie under no project cell of the table: its cell was left open at a
    page's foot (ruled tables over page breaks), and its name, amounts and goal are printed as
    text outside the table's cells, among each other's lines: the rules leave them empty."""
    kept = ("project_name", "funding.", "annual_goal")
    paths = [r for c, r in sorted(table.roles.items()) if c < table.first and r.startswith(kept)]
    return Finding(
        severity="error",
        code="extract.outside_table",
        message="the project's cells are printed outside the table (its cell is left open at a "
        "page's foot): the rules leave its name, amounts and goal empty",
        paths=paths,
    )


def _read_packed(
    record: FormRecord,
    chunk: Chunk,
    grid: Grid,
    table: ListTable,
    row: list[Cell],
    trace: Trace,
    vocab: Vocabulary,
) -> FormRecord:
    """A project whose indicators are packed into one cell (rules/packed.py); the department is
    printed above the table (`<department label>：…`) when no subtotal row names it."""
    above = table.header[0].line
    if record.department is None and (found := labelled_above(chunk, above, "department", vocab)):
        set_unit(record, "department", found, trace)
    cell = table.packed_cell(row)
    unplaced: list[str] = []
    if cell is not None:
        items, unplaced = read_packed(cell.text, vocab)
        record.indicators = [indicator for _, indicator in items]
        trace.use(cell)
        for n, indicator in enumerate(record.indicators):
            for part in ("name", "target"):
                if getattr(indicator, part) is not None:
                    trace.cells[f"indicators[{n}].{part}"] = CellRef(line=cell.line, col=cell.col)
    return close_record(record, chunk, grid, trace, [], unplaced)


def _set_field(record: FormRecord, role: str, cell: Cell, trace: Trace) -> None:
    if not cell.text or not role or role in ("ignored",):
        return
    if role.startswith("funding."):
        _set_amount(record.funding, role.removeprefix("funding."), cell, trace)
    elif role in ("department", "implementing_unit") and getattr(record, role) is None:
        set_unit(record, role, cell, trace)
    elif role in FormRecord.model_fields and getattr(record, role) is None:
        setattr(record, role, _value(role, cell.text))
        trace.ref(role, cell)


def _keep_name_code(record: FormRecord, table: ListTable, row: list[Cell], trace: Trace) -> None:
    """The project's name without the budget code printed before it (`11000021Y000000390843-
    <name>`): the code is another datum, kept with the name as printed under the column's
    label in extra_fields (the record has no project-code field; nothing printed is lost)."""
    cell = next((c for c in row if c.text and table.role(c) == "project_name"), None)
    if cell is None or strip_code(cell.text) == cell.text:
        return
    record.project_name = strip_code(cell.text)
    label = next((c.text for c in table.header if c.col == cell.col and c.text), "")
    _extra(record, label, cell.text, cell, trace)


def _unit_above(chunk: Chunk, grid: Grid, table: ListTable, vocab: Vocabulary) -> str | None:
    """`金额单位：元` or `单位:万元` printed above the table's header, in a row of the grid or on a
    line of its own outside the table, or in the header's amount column (`<total label>(万元)`)."""
    for row in grid.rows:
        for cell in row:
            if unit := _unit_of(cell.text, vocab):
                return unit
        if row is table.header:
            break
    for line, number in zip(chunk.text.split("\n"), chunk.line_numbers, strict=False):
        if number >= table.header[0].line:
            break
        if unit := _unit_of(line, vocab):
            return unit
    return None


def _lines_above(chunk: Chunk, table: ListTable) -> list[list[Cell]]:
    """The lines printed above the table's header outside it (`<department label>：<name>  单位：万元`), one
    row each, a cell per space-separated piece: read as a form's labelled header."""
    rows: list[list[Cell]] = []
    for line, number in zip(chunk.text.split("\n"), chunk.line_numbers, strict=False):
        if number >= table.header[0].line:
            break
        pieces = line.split()
        rows.append([Cell(p, p, number, k) for k, p in enumerate(pieces)])
    return rows
