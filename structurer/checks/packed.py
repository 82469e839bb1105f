"""Indicators against the items of a packed cell (read.packed): an indicator whose name is an
item's must carry that item's levels and year's value. A value moved between items (a target
swapped, an indicator put under a sibling level 2, levels relabelled) keeps every text in the
cell, so presence cannot see it; the item grammar can."""

from __future__ import annotations

from ..models import Finding, FormRecord, Grid, Indicator
from ..read.packed import PackedItem, packed_items, packed_text_cell
from ..read.structure import grid_parts
from ..read.values import clean_target
from ..vocab import Vocabulary
from .finding import finding


def check_packed(record: FormRecord, grid: Grid, vocab: Vocabulary) -> list[Finding]:
    """An error per indicator part that differs from the item of the same name."""
    text = _packed_text(grid, vocab)
    if not text:
        return []
    items: dict[str, list[PackedItem]] = {}
    for item in packed_items(text, vocab)[0]:
        items.setdefault(item.name, []).append(item)
    out = []
    for n, indicator in enumerate(record.indicators):
        found = items.get(indicator.name or "")
        if not found:
            continue  # a name the cell does not hold is grounding's to name
        wrong = min((_differs(indicator, item, vocab) for item in found), key=len)
        levels = [p for p in wrong if p != "target"]
        if levels:  # a level the item does not stand under: the binding's wrong label
            out.append(_finding("grounding.wrong_label", indicator.name, n, levels))
        if "target" in wrong:  # a value not in its item: not on its indicator's row
            out.append(_finding("grounding.ungrounded", indicator.name, n, ["target"]))
    return out


def _finding(code: str, name: str | None, n: int, parts: list[str]) -> Finding:
    return finding(
        "error",
        code,
        f"indicator {name!r}: its {' and '.join(parts)} differ from its item in the packed cell",
        [f"indicators[{n}].{part}" for part in parts],
        name=name or "",
    )


def _differs(indicator: Indicator, item: PackedItem, vocab: Vocabulary) -> list[str]:
    printed = {
        "level1": vocab.canonical_level(item.level1),
        "level2": vocab.canonical_level(item.level2),
        "target": clean_target(item.annual),
    }
    given = {
        "level1": indicator.level1,
        "level2": indicator.level2,
        "target": clean_target(indicator.target),
    }
    return [part for part in printed if printed[part] != given[part]]


def _packed_text(grid: Grid, vocab: Vocabulary) -> str | None:
    """The form's packed cell: from a text layer, or a packed list table's cell in the form's
    project row."""
    if (cell := packed_text_cell(grid, vocab)) is not None:
        return cell.text
    table = grid_parts(grid, vocab).table
    if table is None or table.packed is None or not table.rows:
        return None
    cell = table.packed_cell(table.projects()[0][1][0])
    return cell.text if cell is not None else None
