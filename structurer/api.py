"""The library in two calls: the text of a document, or a file, in; validated records out.

    import structurer
    records = structurer.extract_file("budget.md")              # rules: offline
    records = structurer.extract_text(text, name="budget.md")   # the same from a string
    records = structurer.extract_text(text, backend="llm", model="gpt-4o-mini")

Each record is a `FormRecord` (pydantic, validated), checked as `extract` checks it: its
`findings` say what looks wrong. A string is read as a file of that content would be (markdown,
HTML, text, or OCR JSON, chosen by content). A problem with the input or the settings raises a
`StructurerError` subclass naming it (`InputError`, `NoFormsError`, ...); one bad form never
raises: it is a record with an `extract.failed` finding. Nothing is written anywhere.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .backends import make_backend
from .errors import InputError, NoFormsError
from .models import Backend, Document, FormRecord
from .pipeline import extract_documents
from .read import load_document
from .read.corpus import find_inputs, iter_documents
from .vocab import Vocabulary, load_vocabulary


def extract_text(
    text: str,
    *,
    name: str = "text.md",
    backend: str | Backend = "rules",
    vocab: Vocabulary | None = None,
    **settings: Any,
) -> list[FormRecord]:
    """One record per form found in `text`, in order. `name` is the document's name in the
    records (`source.document`) and in errors. `backend`: rules (the default), llm, hybrid, auto,
    or a backend object; `settings` are the LLM options (model, base_url, mode, ...)."""
    words = vocab or load_vocabulary()
    run = _backend(backend, words, settings)  # first: bad settings cost no reading
    return _extract(_document_of_text(text, name, words), run)


def extract_file(
    path: str | Path,
    *,
    backend: str | Backend = "rules",
    vocab: Vocabulary | None = None,
    **settings: Any,
) -> list[FormRecord]:
    """One record per form of the document at `path` (any input format `extract` reads)."""
    words = vocab or load_vocabulary()
    run = _backend(backend, words, settings)
    return _extract(load_document(path, words), run)


def _backend(backend: str | Backend, vocab: Vocabulary, settings: dict[str, Any]) -> Backend:
    return make_backend(backend, vocab=vocab, **settings) if isinstance(backend, str) else backend


def _extract(document: Document, backend: Backend) -> list[FormRecord]:
    return extract_documents([document], backend).records


def _document_of_text(text: str, name: str, vocab: Vocabulary) -> Document:
    """`text` read as the command line reads standard input (every format, by content), under
    `name`."""
    stdin = find_inputs(["-"])
    data = io.BytesIO(text.encode("utf-8"))
    try:
        [document] = iter_documents(stdin, vocab, stdin=data)
    except InputError as exc:
        raise InputError(name, exc.reason) from None
    except NoFormsError:
        raise NoFormsError(name) from None
    return document.model_copy(update={"name": name})  # its path stays "-": no file behind it
