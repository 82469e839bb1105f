"""The funding block: the whole-project column and the year column of 项目资金（元/万元）."""

from __future__ import annotations

from ..models import Cell, FormRecord, Funding
from ..values import parse_amount
from ..vocab import Vocabulary, label_key
from .labels import Trace, amount_below, is_copy, value_right_of


def funding_fields(text: str, vocab: Vocabulary) -> tuple[str, ...]:
    """The funding fields (without the `funding.` prefix) a label names; two for a label printed
    in both columns (the other-funds label)."""
    return tuple(
        f.removeprefix("funding.") for f in vocab.fields_of(text) if f.startswith("funding.")
    )


def read_funding(
    rows: list[list[Cell]], record: FormRecord, trace: Trace, vocab: Vocabulary
) -> None:
    funding = record.funding
    shared: list[tuple[tuple[str, ...], Cell, Cell | None]] = []
    cols: dict[str, list[int]] = {"project": [], "annual": []}
    for r, row in enumerate(rows):
        for i, cell in enumerate(row):
            if funding.unit is None and (m := vocab.unit_pattern.search(label_key(cell.text))):
                funding.unit = m.group(1)
            fields = funding_fields(cell.text, vocab)
            if len(fields) > 1:  # placed below, once the whole block is known
                value = value_right_of(row, i, vocab, skip_copies=False)
                shared.append((fields, cell, value or amount_below(rows, r, cell.col, vocab)))
                continue
            if not fields or is_copy(row, i):
                continue
            fld = fields[0]
            value = value_right_of(row, i, vocab) or amount_below(rows, r, cell.col, vocab)
            cols["project" if fld.startswith("project") else "annual"].append(cell.col)
            _set_amount(funding, fld, value, trace)
    for fld, value in _place_shared(shared, cols):
        _set_amount(funding, fld, value, trace)


def _place_shared(
    shared: list[tuple[tuple[str, ...], Cell, Cell | None]], cols: dict[str, list[int]]
) -> list[tuple[str, Cell | None]]:
    """A label printed in both columns (other funds, `X`). Several on one row split in halves,
    (project, annual), each half's value right of its last label: `X | X | 0` (an empty column
    dropped) and a doubled grid's `X | X | 0 | X | X | 0` both read right. A lone one goes to the column whose other labels stand nearest to it."""
    placed: list[tuple[str, Cell | None]] = []
    by_line: dict[int, list[tuple[tuple[str, ...], Cell, Cell | None]]] = {}
    for item in shared:
        by_line.setdefault(item[1].line, []).append(item)
    for row in by_line.values():
        project, annual = _sides(row[0][0])
        if len(row) >= 2:
            placed += [(project, row[len(row) // 2 - 1][2]), (annual, row[-1][2])]
            continue
        _, label, value = row[0]
        dist = {
            side: min((abs(label.col - c) for c in cs), default=99) for side, cs in cols.items()
        }
        placed.append((project if dist["project"] < dist["annual"] else annual, value))
    return placed


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
    trace.ref(path, cell)
    trace.repairs += [{"path": path, "raw": cell.raw, "repair": r} for r in repairs]
