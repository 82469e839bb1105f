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

from collections.abc import Sequence

from ..models import Cell, Chunk, Finding, FormRecord, Grid
from ..read.chunker import find_year, is_title
from ..read.clean import squash
from ..read.likeness import Likeness
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
    unread: list[Cell],
    unplaced: list[str],
) -> FormRecord:
    """What every rule-read form ends with, whatever its layout: its source map, what the rules
    repaired or could not read, and the error findings for text they could not place (`unread`
    above the indicator table, `unplaced` in it) and for cells the reader split by a guess."""
    record.source = chunk.source_ref()
    record.source.cells = trace.cells
    if trace.repairs:
        record.meta["repairs"] = trace.repairs
    if trace.unreadable:
        record.meta["unreadable"] = trace.unreadable
    if unplaced:
        record.meta["unplaced"] = unplaced
    if unread or unplaced:
        paths = _beside_read(unread, trace) + (["indicators"] if unplaced else [])
        record.findings.append(unread_finding([c.text for c in unread] + unplaced, paths))
    if grid.guessed:
        record.findings.append(guessed_finding(grid.guessed, _from_guesses(grid, trace)))
    return record


def _beside_read(cells: list[Cell], trace: Trace) -> list[str]:
    """The fields read on the lines of unread cells, or on the line just above one (text left
    beside a value, or wrapped under it): those values may be cut short or belong elsewhere. A
    field left empty is named by the checker's own finding."""
    lines = {c.line for c in cells} | {c.line - 1 for c in cells}
    return sorted({path for path, ref in trace.cells.items() if ref.line in lines})


def likeness_findings(found: Sequence[Likeness], trace: Trace) -> list[Finding]:
    """An info finding for each printed label read by likeness whose field was read: the
    reviewer sees the spelling and the field it went to (and `vocab learn` can keep it)."""
    return [
        Finding(
            severity="info",
            code="extract.label_likeness",
            message=f"the printed label {item.text!r} was read as {item.field} "
            f"(like {item.like!r})",
            paths=[item.field],
            values={"label": item.text, "field": item.field, "like": item.like},
        )
        for item in found
        if item.field in trace.cells
    ]


def unread_finding(texts: list[str], paths: list[str] | None = None) -> Finding:
    """The rules could not place `texts`; `paths`: the fields they may belong to (`indicators`:
    the indicator list may miss some or hold wrong ones)."""
    return _texts_finding(
        "extract.unread",
        "the rules could not place text of the form: {}; the record may be incomplete",
        texts,
        paths or [],
    )


def _from_guesses(grid: Grid, trace: Trace) -> list[str]:
    """The fields read from a piece of a cell the reader split by a guess."""
    guessed = [squash(t) for t in grid.guessed]
    cells = {(c.line, c.col): c for row in grid.rows for c in row}
    out = []
    for path, ref in trace.cells.items():
        cell = cells.get((ref.line, ref.col))
        if cell is not None and (piece := squash(cell.text)) and any(piece in g for g in guessed):
            out.append(path)
    return sorted(out)


def guessed_finding(texts: list[str], paths: list[str] | None = None) -> Finding:
    return _texts_finding(
        "extract.guessed",
        "cells printed with no separator were split by a guess: {}; check where each "
        "indicator's name ends and its target starts",
        texts,
        paths or [],
    )


def _texts_finding(code: str, message: str, texts: list[str], paths: list[str]) -> Finding:
    """An error quoting the first few texts it is about (all of them in `values`)."""
    shown = "; ".join(repr(t if len(t) <= 30 else t[:30] + "…") for t in texts[:_SHOWN])
    more = f" and {len(texts) - _SHOWN} more" if len(texts) > _SHOWN else ""
    return Finding(
        severity="error",
        code=code,
        message=message.format(shown + more),
        paths=paths,
        values={"texts": texts},
    )
