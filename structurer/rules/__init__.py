"""Rule-based extractor: a form's cell grid -> a FormRecord, deterministically and offline.

The grid is read in two parts: the rows above the indicator table (header, funding and goal
blocks: `header.py`, `funding.py`, `goals.py`) and the indicator rows (`indicators.py`). Labels
come from the template vocabulary; how a label finds its value is `labels.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import Cell, Chunk, FormRecord, Grid, Job, OnRecord, SourceRef
from ..vocab import Vocabulary, resolve
from .funding import read_funding
from .goals import read_goals
from .header import project_name_of, read_header
from .indicators import IndicatorTable, starts_indicators
from .labels import Trace

__all__ = ["RulesBackend", "extract_form", "project_name_of"]


def _indicator_start(rows: list[list[Cell]], vocab: Vocabulary) -> int:
    for n, row in enumerate(rows):
        if starts_indicators(row, vocab):
            return n
    return len(rows)


def extract_form(chunk: Chunk, grid: Grid, vocab: Vocabulary | None = None) -> FormRecord:
    """One clean record from one form's grid. Never raises on odd input: what is missing is None."""
    vocab = resolve(vocab)
    record = FormRecord(form_index=chunk.index, year=chunk.year, backend="rules")
    trace = Trace()
    split = _indicator_start(grid.rows, vocab)
    top, bottom = grid.rows[:split], grid.rows[split:]
    read_header(top, record, trace, vocab)
    read_funding(top, record, trace, vocab)
    read_goals(top, record, trace, vocab)
    record.indicators, unplaced = IndicatorTable(vocab).read(bottom, trace.cells, trace.repairs)
    record.source = SourceRef(
        start_line=chunk.start_line, end_line=chunk.end_line, cells=trace.cells
    )
    if trace.repairs:
        record.meta["repairs"] = trace.repairs
    if trace.unreadable:
        record.meta["unreadable"] = trace.unreadable
    if unplaced:
        record.meta["unplaced"] = unplaced
    return record


class RulesBackend:
    """The deterministic extractor as a backend: offline, no network, the default."""

    name = "rules"

    def __init__(self, vocab: Vocabulary | None = None) -> None:
        self.vocab = resolve(vocab)

    def run(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        for job in jobs:
            on_record(job, extract_form(job.chunk, job.grid, self.vocab))
