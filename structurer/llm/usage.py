"""Run totals for the summary (calls, tokens, cache hits, cost) and grounding of LLM values.

The model is not asked where it read each value (that would cost tokens); `locate_cells` finds
the grid cell holding each header value, goal, amount and indicator cell instead, so reviewers
can jump to the source as they can for rule records. It is a best guess by text equality.
"""

from __future__ import annotations

from collections import Counter
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
        self.http_retries = 0
        self.escalated = 0  # forms sent to the fallback model too
        self.pauses = 0  # times the endpoint made every worker wait
        self.by_model: dict[str, Counter[str]] = {}  # model -> calls, prompt/completion tokens

    def add(self, llm_meta: dict[str, Any], *, failed: bool) -> None:
        self.forms += 1
        self.calls += llm_meta["calls"]
        self.prompt_tokens += llm_meta["prompt_tokens"]
        self.completion_tokens += llm_meta["completion_tokens"]
        self.cache_hits += bool(llm_meta["cache_hit"])
        self.http_retries += llm_meta.get("http_retries", 0)
        self.failed += failed
        self.escalated += "by_model" in llm_meta
        for model, used in _per_model(llm_meta).items():
            self.by_model.setdefault(model, Counter()).update(used)

    def note_transport(self, transport: Any) -> None:
        """What the run's transport saw: the endpoint's pauses."""
        self.pauses += transport.pause.count

    @property
    def all_forms(self) -> int:
        return self.forms + self.routed_rules

    def cost(self) -> float | None:
        """Summed over the models at each one's price; None if a model that was paid has none."""
        costs = [self.model_cost(m) for m, used in self.by_model.items() if used["calls"]]
        if not self.by_model:
            return self.settings.cost(0, 0)
        return None if None in costs else sum(c for c in costs if c is not None)

    def model_cost(self, model: str) -> float | None:
        used = self.by_model.get(model, Counter())
        return self.settings.cost(used["prompt_tokens"], used["completion_tokens"], model)

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
            ("HTTP retries", str(self.http_retries)),
            ("failed forms", str(self.failed)),
        ]
        if self.pauses:
            rows.append(("paused by the endpoint", f"{self.pauses}x"))
        if self.routed_rules:
            rows.insert(2, ("sent to the LLM", f"{self.forms} of {self.all_forms}"))
        if self.settings.fallback_model:
            rows.insert(1, ("fallback model", self.settings.fallback_model))
            rows.append(("escalated to the fallback", str(self.escalated)))
            rows += self._model_rows()
        cost = self.cost()
        if cost is not None:
            rows.append(("cost", f"{cost:.4f}"))
        return rows

    def _model_rows(self) -> list[tuple[str, str]]:
        rows = []
        for model in self.settings.models:
            used = self.by_model.get(model, Counter())
            cost = self.model_cost(model)
            spent = f", cost {cost:.4f}" if cost is not None else ""
            rows.append((f"calls / cost {model}", f"{used['calls']}{spent}"))
        return rows

    def table(self, backend: str) -> Table:
        table = Table(title=f"{backend} usage", show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        for row in self.rows():
            table.add_row(*row)
        return table


def _per_model(llm_meta: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Calls and tokens by model: a form asked of two models says so in `by_model`."""
    if "by_model" in llm_meta:
        return llm_meta["by_model"]
    keys = ("calls", "prompt_tokens", "completion_tokens")
    return {llm_meta["model"]: {k: llm_meta[k] for k in keys}}


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
    record.source = job.chunk.source_ref()
    record.source.cells = found


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
