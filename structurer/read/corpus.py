"""A corpus: what the command line names — files, folders (walked recursively) and `-` for
standard input — as documents, each with its identity.

A document's name is its path relative to the common root of the inputs: `extract 2024 2025`
names `2024/预算.md` and `2025/预算.md`, so two files called 预算.md never meet. A single file is
named by its file name. Together with the text's sha256 (`Document.sha256`) the name identifies a
document in records, corrections and the review; byte-identical files at two paths are two
documents. Documents are loaded one at a time as the run reaches them, so a corpus of any size
is never held in memory at once.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError, NoFormsError, StructurerError
from ..models import Document
from ..vocab import Vocabulary
from . import load_document
from .formats.limits import DamagedError, LimitError

STDIN = "-"
STDIN_NAME = "<stdin>"


class UnreadableError(InputError):
    """A file that exists but could not be read (no permission, an I/O error), or that vanished
    while the run went on: it may be a document, so it is never passed over as a mere
    non-document."""


GONE = "gone: deleted or moved while the run went on"


@dataclass(frozen=True)
class Input:
    """One document to read: a file, or standard input (`path` None)."""

    path: Path | None
    name: str
    named: bool  # given on the command line (unreadable: an error), not found in a folder (a note)
    size: int = 0


@dataclass
class Corpus:
    inputs: list[Input] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # files passed over while walking folders
    errors: list[StructurerError] = field(default_factory=list)  # named inputs that do not exist

    @property
    def size(self) -> int:
        """Bytes of input (standard input counts as unknown: 0)."""
        return sum(i.size for i in self.inputs)


def find_inputs(args: Sequence[str | Path], *, glob: str = "*") -> Corpus:
    """The documents `args` name, in order: files as given, folders walked recursively (hidden
    files and folders skipped; `glob` picks file names, or relative paths when it holds a `/`),
    `-` for standard input. A file named twice is read once."""
    corpus = Corpus()
    paths = [Path(os.path.abspath(a)) for a in args if str(a) != STDIN]
    root = _common_root([p for p in paths if p.exists()])
    seen: set[Path] = set()
    for arg in args:
        if str(arg) == STDIN:
            if not any(i.path is None for i in corpus.inputs):
                corpus.inputs.append(Input(None, STDIN_NAME, named=True))
            continue
        path = Path(os.path.abspath(arg))
        if path.is_dir():
            found = [(p, False) for p in _walk(path, glob)]
        elif path.exists() or path.is_symlink():
            found = [(path, True)]
        else:
            corpus.errors.append(InputError(str(arg), "no such file"))
            continue
        for p, named in found:
            if p not in seen:
                seen.add(p)
                corpus.inputs.append(Input(p, _name(p, root), named, _size(p)))
    return corpus


def _common_root(paths: list[Path]) -> Path | None:
    anchors = [p if p.is_dir() else p.parent for p in paths]
    return Path(os.path.commonpath(anchors)) if anchors else None


def _name(path: Path, root: Path | None) -> str:
    if root is None:
        return path.name
    return path.relative_to(root).as_posix()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _walk(folder: Path, glob: str) -> Iterator[Path]:
    """Files under `folder` in a stable order (sorted by name at every level), hidden ones out."""
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(here) / name
            rel = path.relative_to(folder).as_posix()
            if not name.startswith(".") and fnmatch.fnmatch(rel if "/" in glob else name, glob):
                yield path


@dataclass(frozen=True)
class Loader:
    """Loads one input when called. Picklable, so that a worker process can do the reading and
    splitting of a corpus's documents while the main process writes records; standard input
    (`local`) is read by the main process."""

    item: Input
    vocab: Vocabulary | None = None

    @property
    def local(self) -> bool:
        return self.item.path is None

    def __call__(self) -> Document:
        return _load(self.item, self.vocab, None)


def iter_documents(
    corpus: Corpus,
    vocab: Vocabulary | None = None,
    *,
    on_skip: Callable[[Input, StructurerError], None] | None = None,
    stdin: BinaryIO | None = None,
) -> Iterator[Document]:
    """Load the corpus's documents one at a time. One that cannot be read is passed to `on_skip`
    (with an error saying why) and the run goes on."""
    for item in corpus.inputs:
        try:
            yield _load(item, vocab, stdin)
        except StructurerError as exc:
            if on_skip is None:
                raise
            on_skip(item, exc)


def _load(item: Input, vocab: Vocabulary | None, stdin: BinaryIO | None) -> Document:
    if item.path is None:
        return _load_stdin(vocab, stdin or sys.stdin.buffer)
    try:
        return load_document(item.path, vocab, name=item.name)
    except OSError as exc:  # permission denied, a folder that vanished, a device error
        raise UnreadableError(item.name, exc.strerror or type(exc).__name__) from None
    except InputError:
        if not os.path.lexists(item.path):  # found when the run began, gone now
            raise UnreadableError(item.name, GONE) from None
        raise


def _load_stdin(vocab: Vocabulary | None, stream: BinaryIO) -> Document:
    """Standard input is read whole into a temporary file, so every input format's reader (which
    reads files) can read it; errors name `<stdin>`, never the temporary file."""
    data = stream.read()
    with tempfile.TemporaryDirectory(prefix="structurer-stdin-") as tmp:
        spool = Path(tmp) / "stdin"
        spool.write_bytes(data)
        try:
            document = load_document(spool, vocab, name=STDIN_NAME)
        except InputError as exc:
            raise InputError(STDIN_NAME, exc.reason) from None
        except NoFormsError:
            raise NoFormsError(STDIN_NAME) from None
    return document.model_copy(update={"path": STDIN})


def is_note(item: Input, exc: StructurerError) -> bool:
    """A file found in a folder that is not a document (binary, empty, no form) is passed over
    with a note; a file named on the command line, one that could not be read or vanished, and
    one of a format structurer reads that is damaged or over a reading limit (it may be a
    document) are errors: the run goes on and its exit status says so."""
    return not item.named and not isinstance(exc, UnreadableError | DamagedError | LimitError)
