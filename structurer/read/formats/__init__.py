"""Input formats: a file -> SourceText (text lines, each with where it came from in the file).

Readers are tried in order; the first whose `sniff` accepts the file's first bytes (and name)
reads it. Plain text (OCR markdown, HTML, a web page's text, a PDF's text layer saved as .txt) is
the last entry and accepts what the others do not, refusing binary data with a clear reason.
A reader imports its heavy library inside `read`, so `--help` stays fast.

Every reader works within the budget of `limits` (LimitError), and whatever a library raises on a
damaged file becomes that file's one-line DamagedError: one bad document never stops a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ...errors import InputError
from ...io import check_input, read_bytes, why
from ...models import SourceText
from .block_json import MarkerFormat, PaddleFormat
from .layout_json import DoclingFormat, MinerUFormat, UnknownJsonFormat
from .limits import DamagedError, LimitError
from .pdf import PdfFormat
from .spreadsheet import XlsFormat
from .text import TextFormat
from .xlsx import XlsxFormat

# How many bytes `sniff` sees: enough for a zip directory entry, a PDF header or a JSON opening.
HEAD_BYTES = 4096


class FormatReader(Protocol):
    name: str

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def read(self, path: Path) -> SourceText: ...


# Binary containers first (by magic bytes), then JSON by its keys; plain text stays last.
FORMATS: tuple[FormatReader, ...] = (
    PdfFormat(),
    XlsxFormat(),
    XlsFormat(),
    PaddleFormat(),
    MarkerFormat(),
    MinerUFormat(),
    DoclingFormat(),
    UnknownJsonFormat(),
    TextFormat(),
)


def read_source(path: str | Path) -> SourceText:
    """Read any supported file; InputError (missing, a directory, empty, unreadable, damaged,
    over a limit) says why not."""
    p = check_input(path)  # missing, a directory, a pipe: InputError (a FIFO would hang)
    head = read_bytes(p, HEAD_BYTES)
    reader = next(r for r in FORMATS if r.sniff(p, head))  # plain text accepts the rest
    try:
        return reader.read(p)
    except InputError as exc:
        if exc.path:
            raise
        raise type(exc)(str(path), exc.reason) from None  # raised below the reader, unnamed
    except OSError as exc:  # unreadable (permissions) or gone meanwhile
        raise InputError(str(path), why(exc)) from None
    except RecursionError:
        raise LimitError(str(path), f"nested too deep to read as {reader.name}") from None
    except MemoryError:  # a last resort: the limits are meant to refuse first
        raise LimitError(str(path), f"ran out of memory reading it as {reader.name}") from None
    except Exception as exc:  # a library's own error on a damaged file: this file's note only
        raise DamagedError(
            str(path), f"not a readable {reader.name} file ({_short(exc)})"
        ) from None


def _short(exc: BaseException) -> str:
    """An exception as a short reason: its type, and its message's first line cut to 120."""
    text = str(exc).strip().split("\n", 1)[0][:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def format_names() -> list[str]:
    return [f.name for f in FORMATS]
