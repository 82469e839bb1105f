"""structurer: text of Chinese budget performance-target forms -> clean, checked records.

The library in one screen:

    import structurer
    records = structurer.extract_file("budget.md")            # validated FormRecords, checked
    records = structurer.extract_text(text, name="budget.md") # the same from a string

and the stages beneath them:

    from structurer import load_documents, make_backend, extract_to_file, load_vocabulary
    vocab = load_vocabulary()                      # bundled labels (+ your TOML files)
    docs, errors = load_documents(["a.md"], vocab) # file -> text -> one chunk per form
    result = extract_to_file(docs, "out.jsonl", make_backend("rules", vocab=vocab))

Names are imported on first use, so `import structurer` (and `structurer --help`) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "extract_text": "api",
    "extract_file": "api",
    "StructurerError": "errors",
    "Chunk": "models",
    "Document": "models",
    "Finding": "models",
    "FormRecord": "models",
    "Funding": "models",
    "Indicator": "models",
    "Job": "models",
    "load_document": "read",
    "load_documents": "read",
    "load_vocabulary": "vocab",
    "make_backend": "backends",
    "extract_documents": "pipeline",
    "extract_to_file": "pipeline",
    "check_record": "checks",
    "read_records": "io",
    "write_records": "io",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'structurer' has no attribute {name!r}")
