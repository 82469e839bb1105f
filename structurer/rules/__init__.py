"""Rule-based extractor: a form's cell grid -> a FormRecord, deterministically and offline.

The grid is read in two parts: the rows above the indicator table (header, funding and goal
blocks: `header.py`, `funding.py`, `goals.py`) and the indicator rows (`indicators.py`). Labels
come from the template vocabulary; how a label finds its value is `labels.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import Chunk, FormRecord, Grid, Job, OnRecord
from ..read.packed import packed_text_cell
from ..read.structure import grid_parts
from ..vocab import Vocabulary, resolve
from .coverage import close_record, likeness_findings, unread_cells
from .funding import read_funding
from .goals import read_goals
from .header import project_name_of, read_header
from .indicators import IndicatorTable
from .labels import Trace
from .listtable import read_list
from .packed import read_packed_text
from .title import read_title_name

__all__ = ["RulesBackend", "extract_form", "project_name_of"]


def extract_form(chunk: Chunk, grid: Grid, vocab: Vocabulary | None = None) -> FormRecord:
    """One clean record from one form's grid. Never raises on odd input: what is missing is None."""
    vocab = resolve(vocab).for_form(chunk.text)  # the hierarchy of the form's template family
    if (packed := packed_text_cell(grid, vocab)) is not None:
        return read_packed_text(chunk, grid, packed, vocab)
    parts = grid_parts(grid, vocab)
    if parts.table is not None:
        return read_list(chunk, grid, parts.table, vocab)
    vocab = parts.vocab or vocab  # with the labels this grid prints that are like known ones
    record = FormRecord(form_index=chunk.index, year=chunk.year, backend="rules")
    trace = Trace()
    top, bottom = parts.top(grid), parts.bottom(grid)
    read_header(top, record, trace, vocab)
    read_title_name(chunk.text, grid, record, vocab)
    read_funding(top, record, trace, vocab)
    read_goals(top, record, trace, vocab)
    weights = parts.interleaved and _prints_weights(grid, vocab)
    table = IndicatorTable(vocab, pieces_alone=parts.interleaved, weights_printed=weights)
    record.indicators, unplaced = table.read(bottom, trace.cells, trace.repairs)
    record.findings += likeness_findings(parts.likeness, trace)
    return close_record(record, chunk, grid, trace, unread_cells(top, trace, vocab), unplaced)


def _prints_weights(grid: Grid, vocab: Vocabulary) -> bool:
    """The form prints a weight column's header somewhere (in a text layer, maybe on a line of
    its own above the header row, cut by wrapping: `<label>（90` over `分）`)."""
    info = vocab.info
    return any(c.text and info(c.text).column == "weight" for row in grid.rows for c in row)


class RulesBackend:
    """The deterministic extractor as a backend: offline, no network, the default."""

    name = "rules"
    parallel = True  # pure and picklable: the pipeline may run it in worker processes

    def __init__(self, vocab: Vocabulary | None = None) -> None:
        self.vocab = resolve(vocab)

    def run(self, jobs: Sequence[Job], on_record: OnRecord) -> None:
        for job in jobs:
            on_record(job, extract_form(job.chunk, job.grid, self.vocab))
