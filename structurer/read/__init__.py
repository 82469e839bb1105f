"""Reading: a file -> SourceText (formats/) -> one chunk per form (chunker) -> a cell grid per
chunk (layouts/). `clean` undoes OCR damage in cell text."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from ..errors import NoFormsError, StructurerError
from ..models import Document, Place, SourceText
from ..vocab import Vocabulary
from .chunker import split_forms
from .formats import read_source
from .layouts import read_grid

__all__ = ["load_document", "load_documents", "read_grid", "read_source", "split_forms"]


def load_document(path: str | Path, vocab: Vocabulary | None = None) -> Document:
    """Read and chunk one document; raises InputError / NoFormsError with the reason."""
    source = read_source(path)
    heading, chunks = split_forms(source.text, vocab)
    if not chunks:
        raise NoFormsError(str(path))
    sha = hashlib.sha256(source.text.encode()).hexdigest()
    return Document(
        path=str(path),
        encoding=source.encoding or "",
        format=source.format,
        title=heading,
        sha256=sha,
        chunks=chunks,
        **places(source),
    )


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
