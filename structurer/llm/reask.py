"""What goes back to the model about its record against its form: the source checks, in the loop.

instructor hands the validation context to the reply model's validator on every reply; the backend
puts the form there (`FormSource`). A reply whose values are not where their labels point - the
checker's `grounding.*` errors, whatever the code, and the rules shadow's recall errors - goes back
in the re-ask, each with the cell its label points at, so the model can copy what the form says.
After `--max-reasks` the record keeps what the model said and carries the same findings as errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..checks.grounding import ground_record
from ..models import Chunk, Finding, FormRecord, Grid
from ..vocab import Vocabulary
from .prompt import row_holding
from .shadow import Shadow, recall_findings

_INDICATOR_PATH = re.compile(r"indicators\[(\d+)\]")


@dataclass(frozen=True)
class FormSource:
    """One form as the reply's validator needs it (passed through instructor's context)."""

    chunk: Chunk
    grid: Grid
    title: str | None
    vocab: Vocabulary
    shadow: Shadow | None = None


def source_problems(record: FormRecord, source: FormSource) -> list[str]:
    """Each error the record has against its source, as a line for the re-ask."""
    grounding = [
        f
        for f in ground_record(record, source.chunk.text, source.vocab, source.grid)
        if f.severity == "error" and f.code.startswith("grounding.")
    ]
    problems = [_with_cell(f, record, source) for f in grounding]
    if source.shadow is not None:
        flagged = {p for f in grounding for p in f.paths}
        recall = recall_findings(record, source.shadow)
        problems += [
            f.message for f in recall if f.severity == "error" and not flagged.intersection(f.paths)
        ]
    return problems


def _with_cell(finding: Finding, record: FormRecord, source: FormSource) -> str:
    """The finding's message and where the form has the value: the cell the field's label points
    at (as the rules read it), else the row of the indicator, else the field's labels."""
    path = finding.paths[0] if finding.paths else ""
    where = _pointer(path, record, source)
    text = finding.message if finding.message.startswith(path) else f"{path}: {finding.message}"
    return f"{text}; {where}" if where else text


def _pointer(path: str, record: FormRecord, source: FormSource) -> str | None:
    m = _INDICATOR_PATH.match(path)
    if m:
        i = int(m.group(1))
        name = record.indicators[i].name if i < len(record.indicators) else None
        row = row_holding(source.grid, name) if name else None
        return f"the row of indicator {name!r} is {row}: copy from that row" if row else None
    shadow = source.shadow
    cell = shadow.cell(path) if shadow else None
    if cell:
        return f"the cell its label points at is {cell}: copy what that cell says"
    read = shadow.record.value(path) if shadow and shadow.grounded(path) else None
    if read is not None:
        return f"read by its label the form has {read!r}"
    labels = source.vocab.labels(path)
    if labels:
        return f"read the cell after or below one of its labels: {' / '.join(labels)}"
    return None
