"""Reading documents and records, writing output files atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from .errors import InputError, RecordsError
from .models import FormRecord

# Tried in order. GB18030 is a superset of GBK and GB2312, so it decodes all three.
ENCODINGS = ("utf-8-sig", "gb18030")


def read_text(path: str | Path) -> tuple[str, str]:
    """Return (text, encoding) of a text document, or raise InputError saying why not."""
    p = Path(path)
    if not p.exists():
        raise InputError(str(path), "no such file")
    if p.is_dir():
        raise InputError(str(path), "is a directory, not a document")
    data = p.read_bytes()
    if not data.strip():
        raise InputError(str(path), "file is empty")
    return decode(data, str(path))


def decode(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:4096]:
        raise InputError(name, "looks like a binary file, not OCR markdown")
    for enc in ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _control_ratio(text) > 0.01:
            break  # decodes, but is mostly not text (a PDF, an image with no NUL early on)
        return text.replace("\r\n", "\n").replace("\r", "\n"), enc
    else:
        raise InputError(name, "cannot decode as UTF-8 or GB18030/GBK text")
    raise InputError(name, "looks like a binary file, not OCR markdown")


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls / max(1, len(sample))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are shared files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def records_jsonl(records: Iterable[FormRecord]) -> str:
    return "".join(r.model_dump_json(exclude_none=False) + "\n" for r in records)


def write_records(path: str | Path, records: Iterable[FormRecord]) -> None:
    atomic_write_text(path, records_jsonl(records))


def read_records(path: str | Path) -> list[FormRecord]:
    """Load a JSONL file of form records; a bad line raises RecordsError naming the line."""
    text, _ = read_text(path)
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(FormRecord.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            reason = str(exc).splitlines()[0]
            raise RecordsError(str(path), n, f"not a form record: {reason}") from None
    return records
