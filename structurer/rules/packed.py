"""Indicators packed into one text cell per project (a Guangzhou department list; the item
grammar is read.packed's): each item becomes an indicator, its year's value the target (the
implementation-period value is not kept), its levels canonical. A project printed as a PDF text
layer is read from its packed cell's pieces; its interleaved name, amounts and goal are left
empty and named by an error finding.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from ..models import Cell, Chunk, Finding, FormRecord, Grid, Indicator
from ..read.packed import PackedItem, TextCell, packed_items
from ..read.values import parse_target
from ..vocab import Vocabulary
from .coverage import close_record
from .funding import _unit_of
from .header import set_unit
from .labels import Trace, inline_value


def read_packed(text: str, vocab: Vocabulary) -> tuple[list[tuple[int, Indicator]], list[str]]:
    """The indicators of one packed cell, in order, each with where its item starts in the
    cell's text (whitespace removed), and the pieces of text no item explains (kept for the
    reviewer: an item the grammar could not read is never dropped in silence)."""
    items, unplaced = packed_items(text, vocab)
    out = []
    for item in items:
        if (indicator := _indicator(item, vocab)) is None:
            unplaced.append(item.text)
        else:
            out.append((item.offset, indicator))
    return out, unplaced


# What a text layer's packed list leaves unread: the other columns' wrapped lines interleave
# (the project's name, its amounts and its goal), so no piece can be told to be one of them.
INTERLEAVED_FIELDS = (
    "project_name",
    "implementing_unit",
    "funding.annual_total",
    "funding.current_appropriation",
    "annual_goal",
)


def read_packed_text(chunk: Chunk, grid: Grid, cell: TextCell, vocab: Vocabulary) -> FormRecord:
    """A project of a packed list printed as a PDF text layer: its indicators from the packed
    cell's pieces (read.packed), the department from the line above the table; the name,
    amounts and goal, interleaved line by line with each other, are left empty and named by an
    error finding, so the form is looked at (a reviewer or the LLM fills them)."""
    record = FormRecord(form_index=chunk.index, year=chunk.year, backend="rules")
    trace = Trace()
    first = cell.pieces[0][0].line if cell.pieces else chunk.end_line
    if found := labelled_above(chunk, first, "department", vocab):
        set_unit(record, "department", found, trace)
    above = [
        t for t, n in zip(chunk.text.split("\n"), chunk.line_numbers, strict=False) if n < first
    ]
    record.funding.unit = next((u for t in above if (u := _unit_of(t, vocab))), None)
    items, unplaced = read_packed(cell.text, vocab)
    record.indicators = [indicator for _, indicator in items]
    ends = list(accumulate(len(text) for _, text in cell.pieces))
    for n, (offset, indicator) in enumerate(items):
        src = cell.pieces[min(bisect_right(ends, offset), len(ends) - 1)][0]
        for part in ("name", "target"):
            if getattr(indicator, part) is not None:
                trace.ref(f"indicators[{n}].{part}", src)
    record = close_record(record, chunk, grid, trace, [], unplaced)
    record.findings.append(
        Finding(
            severity="error",
            code="extract.interleaved",
            message="the text layer prints the project's name, amounts and goal line by line "
            "between each other's lines: the rules leave them empty",
            paths=list(INTERLEAVED_FIELDS),
        )
    )
    return record


def labelled_above(chunk: Chunk, before: int, path: str, vocab: Vocabulary) -> Cell | None:
    """`<label>：<value>` printed on a line above source line `before`, among other such parts
    (`<department label>：<department> <unit label>：<unit>`): the value as a cell of that line."""
    for line, number in zip(chunk.text.split("\n"), chunk.line_numbers, strict=False):
        if number >= before:
            break
        for part in line.split():
            if (found := inline_value(part)) and path in vocab.fields_of(found[0]):
                return Cell(found[1], found[1], number, 0)
    return None


def _indicator(item: PackedItem, vocab: Vocabulary) -> Indicator | None:
    """An item's indicator: canonical levels (level 1 always agrees with level 2 by the
    hierarchy), the name, and the year's value as the target."""
    level1, level2 = vocab.canonical_level(item.level1), vocab.canonical_level(item.level2)
    if level1 is None or level2 is None or item.annual is None:
        return None
    if not vocab.belongs(level1, level2):
        level1 = vocab.parent_of(level2) or level1
    target = parse_target(item.annual or None)
    return Indicator(
        level1=level1,
        level2=level2,
        name=item.name or None,
        target=target.target,
        op=target.op,
        value=target.value,
        unit=target.unit,
    )
