"""What the rules read and what they did not: the honest-failure signal.

Every non-empty cell of a form is either a label (of a field, a block, a period, an indicator
column, a level), a value some field took, the value of a label the record does not keep, a title
or unit statement, or text the extractor could not place. Text of the last kind means the record
may be incomplete or wrong in a way no other check can see: the form says something the record
does not. It becomes an `extract.unread` error, so the hybrid backend sends the form to the LLM
and a reviewer sees which text was not read. Cells above the form's first label (page headings,
publication lines) are not the form's.
"""

from __future__ import annotations

from ..models import Cell, Chunk, Finding, FormRecord, Grid, SourceRef
from ..read.chunker import find_year, is_title
from ..vocab import Vocabulary, label_key
from .labels import Trace

_SHOWN = 3  # texts quoted in the message


def unread_cells(rows: list[list[Cell]], trace: Trace, vocab: Vocabulary) -> list[Cell]:
    """Cells above the indicator table that no field took and no label explains."""
    out: list[Cell] = []
    started = False
    for row in rows:
        ignoring = False
        # copies of a cell read (one merged cell the OCR spread over several columns) are read
        read = {c.text for c in row if (c.line, c.col) in trace.used}
        for cell in row:
            if not cell.text or cell.merged:
                continue
            if vocab.is_label(cell.text) or vocab.canonical_level(cell.text):
                started = True
                ignoring = vocab.is_ignored(cell.text)
                continue
            if cell.text in read:
                ignoring = False
                continue
            if started and not ignoring and not _statement(cell.text, vocab):
                out.append(cell)
    return out


def _statement(text: str, vocab: Vocabulary) -> bool:
    """A title, a year line or a unit statement (`单位：万元`): said about the form, not in it."""
    key = label_key(text)
    return bool(
        is_title(text, vocab)
        or (find_year(text) is not None and len(key) <= 12)
        or vocab.unit_pattern.search(key)
    )


def close_record(
    record: FormRecord,
    chunk: Chunk,
    grid: Grid,
    trace: Trace,
    unread: list[str],
    unplaced: list[str],
) -> FormRecord:
    """What every rule-read form ends with, whatever its layout: its source map, what the rules
    repaired or could not read, and the error findings for text they could not place (`unread`,
    `unplaced` among it) and for cells the reader split by a guess."""
    record.source = SourceRef(
        start_line=chunk.start_line, end_line=chunk.end_line, cells=trace.cells
    )
    if trace.repairs:
        record.meta["repairs"] = trace.repairs
    if trace.unreadable:
        record.meta["unreadable"] = trace.unreadable
    if unplaced:
        record.meta["unplaced"] = unplaced
    if unread:
        record.findings.append(unread_finding(unread))
    if grid.guessed:
        record.findings.append(guessed_finding(grid.guessed))
    return record


def unread_finding(texts: list[str]) -> Finding:
    return _texts_finding(
        "extract.unread",
        "the rules could not place text of the form: {}; the record may be incomplete",
        texts,
    )


def guessed_finding(texts: list[str]) -> Finding:
    return _texts_finding(
        "extract.guessed",
        "cells printed with no separator were split by a guess: {}; check where each "
        "indicator's name ends and its target starts",
        texts,
    )


def _texts_finding(code: str, message: str, texts: list[str]) -> Finding:
    """An error quoting the first few texts it is about (all of them in `values`)."""
    shown = "; ".join(repr(t if len(t) <= 30 else t[:30] + "…") for t in texts[:_SHOWN])
    more = f" and {len(texts) - _SHOWN} more" if len(texts) > _SHOWN else ""
    return Finding(
        severity="error",
        code=code,
        message=message.format(shown + more),
        paths=[],
        values={"texts": texts},
    )
