"""Input formats: a file -> SourceText (text lines, each with where it came from in the file).

Readers are tried in order; the first whose `sniff` accepts the file's first bytes (and name)
reads it. Plain text (OCR markdown, HTML, a web page's text, a PDF's text layer saved as .txt) is
the last entry and accepts what the others do not, refusing binary data with a clear reason.
A reader imports its heavy library inside `read`, so `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ...errors import InputError
from ...io import check_input, read_bytes, why
from ...models import SourceText
from .layout_json import DoclingFormat, MinerUFormat, UnknownJsonFormat
from .pdf import PdfFormat
from .spreadsheet import XlsFormat, XlsxFormat
from .text import TextFormat

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
    MinerUFormat(),
    DoclingFormat(),
    UnknownJsonFormat(),
    TextFormat(),
)


def read_source(path: str | Path) -> SourceText:
    """Read any supported file; InputError (missing, a directory, empty, unreadable) says why not."""
    p = check_input(path)  # missing, a directory, a pipe: InputError (a FIFO would hang)
    head = read_bytes(p, HEAD_BYTES)
    for reader in FORMATS:
        if reader.sniff(p, head):
            try:
                return reader.read(p)
            except OSError as exc:  # unreadable (permissions) or gone meanwhile
                raise InputError(str(path), why(exc)) from None
    raise InputError(str(path), "not a format structurer reads")


def format_names() -> list[str]:
    return [f.name for f in FORMATS]
