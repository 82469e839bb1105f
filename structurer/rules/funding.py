"""The funding block: the whole-project column and the year column of 项目资金（元/万元）."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..models import Cell, FormRecord, Funding
from ..read.values import amount_unit, parse_amount
from ..vocab import Vocabulary
from .labels import Trace, amount_below, is_copy, scan_rows, value_right_of


def funding_fields(text: str, vocab: Vocabulary) -> tuple[str, ...]:
    """The funding fields (without the `funding.` prefix) a label names; two for a label printed
    in both columns (the other-funds label)."""
    return vocab.info(text).funding


def _unit_of(text: str, vocab: Vocabulary) -> str | None:
    """The money unit a cell states: `资金情况(万元)`, `金额单位：元`, any label's brackets, or
    those brackets alone (a text layer prints a wrapped label's `(万元)` on a line of its own)."""
    info = vocab.info(text)  # its key remembered: asked of every cell above the money
    key = info.key
    m = vocab.unit_pattern.search(key)
    if m is None and info.label:
        m = vocab.bracket_unit_pattern.search(key)
    if m is None:
        m = vocab.bracket_unit_pattern.fullmatch(key)
    return m.group(1) if m else None


@dataclass
class _Shared:
    """A label printed in both columns (or alone on a one-column form): placed once the whole
    block is known."""

    fields: tuple[str, ...]  # (project field, year field)
    row: int
    label: Cell
    value: Cell | None


def read_funding(
    rows: list[list[Cell]], record: FormRecord, trace: Trace, vocab: Vocabulary
) -> None:
    funding = record.funding
    shared: list[_Shared] = []
    cols: dict[str, list[int]] = {"project": [], "annual": []}
    exclusive: dict[int, set[str]] = {}  # row -> fields a label on it names alone
    scans = scan_rows(rows)
    for r, row in enumerate(rows):
        for i, cell in enumerate(row):
            if funding.unit is None and (unit := _unit_of(cell.text, vocab)):
                funding.unit = unit  # set once: a model's setattr is no plain assignment
            fields = funding_fields(cell.text, vocab)
            if len(fields) > 1:
                value = value_right_of(scans[r], i, vocab, skip_copies=False)
                value = value or amount_below(scans, r, cell.col, vocab)
                shared.append(_Shared(fields, r, cell, value))
                continue
            if not fields or is_copy(row, i):
                continue
            fld = fields[0]
            exclusive.setdefault(r, set()).add(fld)
            value = value_right_of(scans[r], i, vocab) or amount_below(scans, r, cell.col, vocab)
            cols["project" if fld.startswith("project") else "annual"].append(cell.col)
            _set_amount(funding, fld, value, trace)
    for fld, value in _place_shared(shared, cols, exclusive):
        _set_amount(funding, fld, value, trace)


def _place_shared(
    shared: list[_Shared], cols: dict[str, list[int]], exclusive: dict[int, set[str]]
) -> list[tuple[str, Cell | None]]:
    """Which column each shared label is in (a label, X, printed in both columns).

    - Beside a label of its own for the year field on the same row, every copy of X on the row
      is the project column's (a doubled grid repeats X: the last value read is kept), and the
      other way round.
    - Several X on one row split in halves, (project, annual), each half's value right of its
      last label: `X | X | 0` (an empty column dropped) and a doubled grid's `X | X | 0 | X | X |
      0` both read right.
    - A lone X is the project column's when the form names the year field with a label of its
      own, the year's when it so names the project field; otherwise it goes to the column whose
      other labels stand nearest, and on a form with no project column at all to the year's.
    """
    placed: list[tuple[str, Cell | None]] = []
    groups: dict[tuple[int, tuple[str, ...]], list[_Shared]] = {}
    for item in shared:
        groups.setdefault((item.row, item.fields), []).append(item)
    in_form = set().union(*exclusive.values()) if exclusive else set()
    sorted_cols = {side: sorted(set(cs)) for side, cs in cols.items()}  # nearest by bisection
    for (row, _), items in groups.items():
        project, annual = _sides(items[0].fields)
        on_row = exclusive.get(row, set())
        last = next((it.value for it in reversed(items) if it.value is not None), None)
        if annual in on_row and project not in on_row:
            placed.append((project, last))
        elif project in on_row and annual not in on_row:
            placed.append((annual, last))
        elif len(items) >= 2:
            placed += [(project, items[len(items) // 2 - 1].value), (annual, items[-1].value)]
        elif annual in in_form and project not in in_form:
            placed.append((project, items[0].value))
        elif project in in_form and annual not in in_form:
            placed.append((annual, items[0].value))
        else:
            item = items[0]
            dist = {side: _distance(item.label.col, cs) for side, cs in sorted_cols.items()}
            placed.append((project if dist["project"] < dist["annual"] else annual, item.value))
    return placed


def _distance(col: int, sorted_cols: list[int]) -> int:
    """How far `col` is from the nearest of `sorted_cols` (99 when there is none)."""
    k = bisect.bisect_left(sorted_cols, col)
    near = sorted_cols[max(0, k - 1) : k + 1]
    return min((abs(col - c) for c in near), default=99)


def _sides(fields: tuple[str, ...]) -> tuple[str, str]:
    """(project field, year field) of a label printed in both columns."""
    project = next(f for f in fields if f.startswith("project"))
    return project, next(f for f in fields if f != project)


def _set_amount(funding: Funding, fld: str, cell: Cell | None, trace: Trace) -> None:
    path = f"funding.{fld}"
    if cell is None or getattr(funding, fld) is not None:
        return
    try:
        value, repairs = parse_amount(cell.text)
    except ValueError:
        trace.unreadable[path] = cell.raw
        trace.ref(path, cell)
        return
    setattr(funding, fld, value)
    if funding.unit is None:  # a unit written after the number (`164万元`) when no label says
        funding.unit = amount_unit(cell.text)
    trace.ref(path, cell)
    trace.repairs += [{"path": path, "raw": cell.raw, "repair": r} for r in repairs]
