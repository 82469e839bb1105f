"""Run totals for the summary (calls, tokens, cache hits, cost) and grounding of LLM values.

The model is not asked where it read each value (that would cost tokens); `locate_cells` finds
the grid cell holding each header value, goal, amount and indicator cell instead, so reviewers
can jump to the source as they can for rule records. It is a best guess by text equality.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..models import (
    AMOUNT_FIELDS,
    GOAL_FIELDS,
    HEADER_FIELDS,
    Cell,
    CellRef,
    FormRecord,
    Job,
    SourceRef,
)
from ..read.clean import squash
from ..read.values import amount_value, parse_amount
from .settings import LLMSettings


class Usage:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.forms = 0  # forms that went through the LLM backend (cache hits included)
        self.routed_rules = 0  # hybrid: forms the rules handled alone
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cache_hits = 0
        self.failed = 0

    def add(self, llm_meta: dict[str, Any], *, failed: bool) -> None:
        self.forms += 1
        self.calls += llm_meta["calls"]
        self.prompt_tokens += llm_meta["prompt_tokens"]
        self.completion_tokens += llm_meta["completion_tokens"]
        self.cache_hits += bool(llm_meta["cache_hit"])
        self.failed += failed

    @property
    def all_forms(self) -> int:
        return self.forms + self.routed_rules

    def cost(self) -> float | None:
        return self.settings.cost(self.prompt_tokens, self.completion_tokens)

    def rows(self) -> list[tuple[str, str]]:
        forms = max(self.all_forms, 1)
        rows = [
            ("model", f"{self.settings.model} ({self.settings.mode})"),
            ("forms", str(self.all_forms)),
            ("LLM calls", str(self.calls)),
            ("LLM calls per form", f"{self.calls / forms:.2f}"),
            ("cache hits", str(self.cache_hits)),
            ("prompt tokens", str(self.prompt_tokens)),
            ("completion tokens", str(self.completion_tokens)),
            ("failed forms", str(self.failed)),
        ]
        if self.routed_rules:
            rows.insert(2, ("sent to the LLM", f"{self.forms} of {self.all_forms}"))
        cost = self.cost()
        if cost is not None:
            rows.append(("cost", f"{cost:.4f}"))
        return rows

    def table(self, backend: str) -> Table:
        table = Table(title=f"{backend} usage", show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        for row in self.rows():
            table.add_row(*row)
        return table


def locate_cells(record: FormRecord, job: Job) -> None:
    """Fill record.source.cells with the first grid cell whose text is each value."""
    cells = [c for row in job.grid.rows for c in row if c.text]
    by_text: dict[str, Cell] = {}
    for cell in cells:
        by_text.setdefault(squash(cell.text), cell)
    found: dict[str, CellRef] = {}

    def put(path: str, value: str | None) -> None:
        cell = by_text.get(squash(value)) if value else None
        if cell is not None:
            found[path] = CellRef(line=cell.line, col=cell.col)

    for name in (*HEADER_FIELDS, *GOAL_FIELDS):
        put(name, getattr(record, name))
    for i, ind in enumerate(record.indicators):
        put(f"indicators[{i}].name", ind.name)
        put(f"indicators[{i}].target", ind.target)
    found.update(_amount_cells(record, cells))
    record.source = SourceRef(
        start_line=job.chunk.start_line, end_line=job.chunk.end_line, cells=found
    )


def _amount_cells(record: FormRecord, cells: list[Cell]) -> dict[str, CellRef]:
    """Each amount takes the next unused cell holding its number, in reading order: equal
    amounts (`0.00` twice) then land in form order, which is also the fields' order."""
    numbers: dict[Any, list[Cell]] = {}
    for cell in cells:
        try:
            value = amount_value(parse_amount(cell.text)[0])
        except ValueError:
            continue
        if value is not None:
            numbers.setdefault(value, []).append(cell)
    found = {}
    for name in AMOUNT_FIELDS:
        holders = numbers.get(amount_value(getattr(record.funding, name)))
        if holders:
            cell = holders.pop(0)
            found[f"funding.{name}"] = CellRef(line=cell.line, col=cell.col)
    return found
