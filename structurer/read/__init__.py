"""Reading: a file -> SourceText (formats/) -> one chunk per form (chunker) -> a cell grid per
chunk (layouts/). `clean` undoes OCR damage in cell text."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from ..errors import NoFormsError, StructurerError
from ..models import Chunk, Document, Place, SourceText
from ..vocab import Vocabulary, resolve
from .chunker import split_document, split_forms
from .formats import read_source
from .layouts import chunk_grid, read_grid
from .packed import may_hold_packed_text, text_cell_starts
from .structure import interleaved, list_table, may_hold_list_table

__all__ = ["load_document", "load_documents", "read_grid", "read_source", "split_forms"]


def load_document(
    path: str | Path, vocab: Vocabulary | None = None, *, name: str | None = None
) -> Document:
    """Read and chunk one document; raises InputError / NoFormsError with the reason. `name` is
    its identity in a run (default: the file name; a corpus names it relative to its root)."""
    source = read_source(path)
    heading, chunks, aside = split_document(source.text, vocab)
    chunks = split_list_projects(chunks, vocab)
    if not chunks:
        raise NoFormsError(str(path), aside)
    sha = hashlib.sha256(source.text.encode()).hexdigest()
    return Document(
        path=str(path),
        name=name or Path(path).name,
        encoding=source.encoding or "",
        format=source.format,
        title=heading,
        sha256=sha,
        chunks=chunks,
        set_aside=aside,
        unread=source.unread,
        **places(source),
    )


def split_list_projects(chunks: list[Chunk], vocab: Vocabulary | None = None) -> list[Chunk]:
    """A department list table holding several projects is one form per project: each chunk
    keeps the lines above the table's first row (title, unit, header) and gathers its project's
    rows (and the department's subtotal row above them). Forms are numbered again in order."""
    vocab = resolve(vocab)
    out: list[Chunk] = []
    for chunk in chunks:
        out += _projects_of(chunk, vocab) or [chunk]
    return [c.model_copy(update={"index": n}) for n, c in enumerate(out, 1)]


def _projects_of(chunk: Chunk, vocab: Vocabulary) -> list[Chunk]:
    packed = may_hold_packed_text(chunk.text)
    if packed and (starts := text_cell_starts(chunk.text.split("\n"), chunk.line_numbers, vocab)):
        # a packed list in a text layer: each form keeps the whole text (its lines interleave
        # the rows) and names the line its project's packed cell starts on
        return [chunk.model_copy(update={"project_line": n}) for n in starts]
    if not may_hold_list_table(chunk.text, vocab):
        return []
    grid = chunk_grid(chunk, vocab)
    table = list_table(grid.rows, vocab)
    if table is None:
        return []
    mixed = interleaved(grid, vocab)
    centred = table.centred_projects() if mixed else []
    if len(centred) >= 2:
        # project cells printed at the middle of their rows: each form keeps the whole table and
        # names the line its project's amounts are printed on
        return [chunk.model_copy(update={"project_line": lines[0]}) for lines in centred]
    projects = table.projects()
    if len(projects) < 2:
        return []
    numbers = chunk.line_numbers
    text_of = dict(zip(numbers, chunk.text.split("\n"), strict=True))
    header_line = table.header[0].line
    common = [n for n in numbers if n <= header_line]
    if mixed or any(c.merged for _, rows in projects for row in rows for c in row):
        # Cells merged across projects (one unit beside several projects), or a text layer that
        # prints the lines of neighbouring rows in between: a subset of the table's lines would
        # break the merges or cut values, so each form keeps the whole table and names the line
        # its own project starts on (the grid then reads that project alone).
        return [chunk.model_copy(update={"project_line": table.project_line(rows[0])})
                for _, rows in projects]  # fmt: skip
    row_lines = [{c.line for row in rows for c in row} for _, rows in projects]
    if any(a & b for k, a in enumerate(row_lines) for b in row_lines[k + 1 :]):
        return []  # rows share lines (one HTML line): no line split keeps them apart
    out = []
    for (department, _rows), lines in zip(projects, row_lines, strict=True):
        own = sorted(set(common) | lines | ({department.line} if department else set()))
        own = [n for n in own if n in text_of]
        out.append(
            chunk.model_copy(
                update={
                    "lines": own,
                    "start_line": own[0],
                    "end_line": own[-1],
                    "text": "\n".join(text_of[n] for n in own),
                }
            )
        )
    return out


def places(source: SourceText) -> dict[str, dict]:
    """The page places of a paged source's lines and cells, for the Document (the sheet/row
    origins of a spreadsheet are not carried: a record's cells name pages and boxes)."""
    lines = {n: Place(page=o.page, bbox=o.bbox) for n, o in source.lines.items() if o.page}
    cells: dict[int, dict[int, Place]] = {}
    for (line, col), o in source.cells.items():
        if o.page:
            cells.setdefault(line, {})[col] = Place(page=o.page, bbox=o.bbox)
    return {"line_places": lines, "cell_places": cells}


def load_documents(
    paths: Sequence[str | Path], vocab: Vocabulary | None = None
) -> tuple[list[Document], list[StructurerError]]:
    """Load every readable document; the others come back as errors, so one bad file among many
    does not stop the run (the caller decides what to do when none is readable)."""
    docs: list[Document] = []
    errors: list[StructurerError] = []
    for p in paths:
        try:
            docs.append(load_document(p, vocab))
        except StructurerError as exc:
            errors.append(exc)
    return docs, errors
