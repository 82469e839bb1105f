"""The source document of each record, for `review` and `fixture add`.

Records name their document by identity: `source.document` (the path relative to the root of
the extraction's inputs) and `source.sha256` (of its text), and `source.path` says where it was
read. With `--source FILE` the records of that one document are taken; without it every document
the records name is found (under `--source-root` when the documents moved, else where they were
read, else beside the records file) and must still hold the text that was extracted: a page never
shows one document's records beside another document's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import StructurerError
from ..models import Document, FormRecord
from ..read import load_document
from ..vocab import Vocabulary


def documents_for(
    records: list[FormRecord],
    *,
    source: str | Path | None = None,
    source_root: str | Path | None = None,
    records_path: str | Path = ".",
    vocab: Vocabulary | None = None,
) -> tuple[list[FormRecord], dict[str, Document]]:
    """The records to review and their documents by name (`Document.key`)."""
    if source is not None:
        return _one_source(records, Path(source), vocab)
    unnamed = [r for r in records if not (r.source and r.source.document)]
    if unnamed:
        raise StructurerError(
            f"{len(unnamed)} records name no source document (form {unnamed[0].form_index}): "
            "give the document they came from with --source FILE"
        )
    documents: dict[str, Document] = {}
    problems: list[str] = []
    for name, sha, path in _named(records):
        found = _locate(name, path, source_root, Path(records_path).parent)
        if found is None:
            problems.append(f"{name}: not found")
            continue
        document = load_document(found, vocab, name=name)
        if sha and document.sha256 != sha:
            problems.append(f"{name}: {found} holds other text than was extracted")
            continue
        documents[name] = document
    if problems:
        hint = "" if source_root else "; give --source-root DIR (the folder extracted)"
        raise StructurerError("cannot find the sources: " + "; ".join(problems[:5]) + hint)
    return records, documents


def _named(records: Iterable[FormRecord]) -> list[tuple[str, str | None, str | None]]:
    """(name, sha256, path) of each document the records name, in first-seen order."""
    seen: dict[str, tuple[str, str | None, str | None]] = {}
    for r in records:
        src = r.source
        if src and src.document and src.document not in seen:
            seen[src.document] = (src.document, src.sha256, src.path)
    return list(seen.values())


def _locate(name: str, path: str | None, root: str | Path | None, beside: Path) -> Path | None:
    candidates = [Path(root) / name] if root else [Path(p) for p in (path,) if p] + [beside / name]
    return next((p for p in candidates if p.is_file()), None)


def _one_source(
    records: list[FormRecord], path: Path, vocab: Vocabulary | None
) -> tuple[list[FormRecord], dict[str, Document]]:
    """The records that come from the document at `path`: by its content (sha256) first, then by
    name; all of them when the records name no document (gold files)."""
    document = load_document(path, vocab)
    named = [r for r in records if r.source and r.source.document]
    if not named:
        return records, {document.key: document}
    same_text = [r for r in named if r.source and r.source.sha256 == document.sha256]
    names = sorted({r.source.document for r in same_text if r.source and r.source.document})
    if len(names) > 1:  # byte-identical files at several paths: the path decides
        names = [n for n in names if path.absolute().as_posix().endswith("/" + n)] or names
    if len(names) > 1:
        raise StructurerError(
            f"{path} was extracted as {len(names)} documents ({', '.join(names)}): "
            "review without --source, or with --source-root"
        )
    # records without sha256 (older runs): by file name, or path suffix
    name = names[0] if names else _by_name(named, path)
    mine = [r for r in named if r.source and r.source.document == name]
    if any(r.source and r.source.sha256 not in (None, document.sha256) for r in mine):
        raise StructurerError(f"the records of {name} were extracted from other text than {path}")
    return mine, {name: document.model_copy(update={"name": name})}


def _by_name(named: list[FormRecord], path: Path) -> str:
    names = sorted({r.source.document for r in named if r.source and r.source.document})
    whole = path.absolute().as_posix()
    for name in names:
        if name == path.name or whole.endswith("/" + name):
            return name
    raise StructurerError(f"none of the records come from {path.name} (they come from {names})")
