"""Reading documents and records, writing output files atomically.

Inputs: a path that is missing, a directory, a pipe or device (reading one with no writer would
hang), unreadable or undecodable is an InputError saying why. Outputs: every file the package
writes goes through `atomic_write_files`, which refuses a directory or one of the run's inputs,
writes a temporary file beside the target and renames it into place, so the old file stays whole
until the new one is complete; a failed write (no permission, read-only, disk full) is an
OutputError and leaves the old file as it was.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import UnionType
from typing import IO, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from .errors import InputError, OutputError, RecordsError
from .models import FormRecord

# Tried in order. GB18030 is a superset of GBK and GB2312, so it decodes all three.
ENCODINGS = ("utf-8-sig", "gb18030")
# A temporary output file older than this and not locked was left by a killed process.
STALE_TEMP_SECONDS = 10.0


def why(exc: OSError) -> str:
    """An OSError as one short reason: 'Permission denied', 'No space left on device'."""
    return exc.strerror or str(exc)


def check_input(path: str | Path) -> Path:
    """The path of a regular file to read, or InputError saying why it is not one."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except OSError as exc:
        raise InputError(str(path), why(exc)) from None
    if stat.S_ISDIR(mode):
        raise InputError(str(path), "is a directory, not a document")
    if not stat.S_ISREG(mode):  # a FIFO with no writer would block the read forever
        raise InputError(str(path), "not a regular file (a pipe or a device): save it to a file")
    return p


def read_bytes(path: str | Path, limit: int = -1) -> bytes:
    """The bytes of a regular file (the first `limit` of them), or InputError."""
    p = check_input(path)
    try:
        with p.open("rb") as fh:
            return fh.read(limit)
    except OSError as exc:
        raise InputError(str(path), why(exc)) from None


def read_text(path: str | Path) -> tuple[str, str]:
    """Return (text, encoding) of a text document, or raise InputError saying why not."""
    data = read_bytes(path)
    if not data.strip():
        raise InputError(str(path), "file is empty")
    return decode(data, str(path))


def decode(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _plain(data.decode("utf-16")), "utf-16"
        except UnicodeDecodeError:
            raise InputError(name, "starts like UTF-16 text but is not valid UTF-16") from None
    if b"\x00" in data[:4096]:
        raise InputError(name, "looks like a binary file, not OCR markdown")
    for enc in ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _control_ratio(text) > 0.01:
            break  # decodes, but is mostly not text (a PDF, an image with no NUL early on)
        return _plain(text), enc
    else:
        raise InputError(name, "cannot decode as UTF-8 or GB18030/GBK text")
    raise InputError(name, "looks like a binary file, not OCR markdown")


# Control characters are no text of a form: stray ones are dropped at reading, so they reach no
# cell, record or export (XLSX cannot hold them). A form feed or vertical tab (a PDF page break)
# becomes a space, so the words either side stay apart; tab and newline stay.
_CONTROLS = {c: None for c in [*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F]}
_CONTROLS.update({0x0B: " ", 0x0C: " "})
_ANY_CONTROL = re.compile("[" + "".join(re.escape(chr(c)) for c in _CONTROLS) + "]")


def _plain(text: str) -> str:
    """Lines end in \\n; stray control characters dropped. Searched for first: a translation
    looks up every character of the document (~60 µs a form), and nearly all have none."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_CONTROLS) if _ANY_CONTROL.search(text) else text


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls / max(1, len(sample))


# --- writing ---


def check_output(path: str | Path, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an output path that would destroy something: a directory, or one of the run's
    inputs under any name (compared as files: device and inode, so links count too)."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(str(path), "is a directory; give a file name")
    for source in inputs:
        if _same_file(target, source):
            raise OutputError(str(path), f"is the input {source}: refusing to write over it")


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (yet): not the same file
        return False


def is_stream(path: str | Path) -> bool:
    """An existing path that is not a regular file (/dev/null, /dev/stdout, a pipe): written to
    directly. Renaming a new file over it would replace the device (as root, /dev/null itself)."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode) and not Path(path).is_dir()
    except OSError:
        return False


def atomic_write_files(
    files: Mapping[str | Path, bytes], *, inputs: Iterable[str | Path] = ()
) -> None:
    """Write several files so that a failure leaves every one of them as it was: each is written
    to a temporary file beside it and synced; only when all are complete are they renamed into
    place (a crash between two renames can still leave one new and one old). Raises OutputError."""
    inputs = list(inputs)
    for path in files:
        check_output(path, inputs)
    staged: list[tuple[IO[bytes], Path, Path]] = []  # (open temp file, temp path, target)
    try:
        for path, data in files.items():
            if not is_stream(path):
                staged.append(_stage(_real_target(Path(path)), data, shown=path))
        for path, data in files.items():
            if is_stream(path):
                _write_through(Path(path), data)
        for _fh, tmp, target in staged:
            _replace(tmp, target)
    finally:
        for fh, tmp, _ in staged:
            fh.close()
            tmp.unlink(missing_ok=True)  # gone when renamed; a failed run leaves no temp file


def atomic_write_bytes(path: str | Path, data: bytes, *, inputs: Iterable[str | Path] = ()) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    atomic_write_files({path: data}, inputs=inputs)


def atomic_write_text(path: str | Path, text: str, *, inputs: Iterable[str | Path] = ()) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), inputs=inputs)


def publish(tmp: str | Path, target: str | Path) -> None:
    """Put a complete file, written beside `target`, in its place: renamed over a regular file
    (over the file a symlink points at, keeping the link), copied into a device or pipe (then
    removed). Raises OutputError; `tmp` is left for the caller when the move fails."""
    tmp, target = Path(tmp), Path(target)
    try:
        if is_stream(target):
            with tmp.open("rb") as src, target.open("wb") as dest:
                shutil.copyfileobj(src, dest)
            tmp.unlink()
            return
        real = _real_target(target)
        try:
            os.replace(tmp, real)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_into(tmp, real)  # the link points to another file system: copy, then rename
            tmp.unlink()
    except OSError as exc:
        raise OutputError(str(target), why(exc)) from None


def _copy_into(src: Path, target: Path) -> None:
    staged = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with src.open("rb") as fh, staged.open("wb") as dest:
            shutil.copyfileobj(fh, dest)
            dest.flush()
            os.fsync(dest.fileno())
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


def _real_target(target: Path) -> Path:
    """A symlink is kept and the file it points at replaced, not the link itself."""
    return target.resolve() if target.is_symlink() else target


def _stage(target: Path, data: bytes, *, shown: str | Path) -> tuple[IO[bytes], Path, Path]:
    """Write `data` to a new locked temporary file beside `target`; returns it still open."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale_temps(target)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(str(shown), why(exc)) from None
    import portalocker  # here: its import reads package metadata (tens of ms at start-up)

    tmp = Path(name)
    fh = os.fdopen(fd, "wb")
    try:
        portalocker.lock(fh, portalocker.LOCK_EX)  # alive: a sweep leaves it alone
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are shared files
    except BaseException as exc:
        fh.close()
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(str(shown), why(exc)) from None
        raise
    return fh, tmp, target


def _replace(tmp: Path, target: Path) -> None:
    try:
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(str(target), why(exc)) from None


def _write_through(target: Path, data: bytes) -> None:
    try:
        with target.open("wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise OutputError(str(target), why(exc)) from None


def _sweep_stale_temps(target: Path) -> None:
    """Remove temporary files of `target` that a killed process left behind: older than a few
    seconds and not locked by a live writer."""
    import portalocker

    for old in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            if time.time() - old.stat().st_mtime < STALE_TEMP_SECONDS:
                continue
            with old.open("rb") as fh:
                portalocker.lock(fh, portalocker.LOCK_EX | portalocker.LOCK_NB)
                old.unlink()
        except (OSError, portalocker.LockException):
            continue  # locked (being written), gone meanwhile, or not ours to remove


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- records ---


def records_jsonl(records: Iterable[FormRecord]) -> str:
    return "".join(r.model_dump_json(exclude_none=False) + "\n" for r in records)


def write_records(
    path: str | Path, records: Iterable[FormRecord], *, inputs: Iterable[str | Path] = ()
) -> None:
    atomic_write_text(path, records_jsonl(records), inputs=inputs)


def read_records(path: str | Path) -> list[FormRecord]:
    """Load a JSONL file of form records; a bad line raises RecordsError naming the line and
    the field."""
    text, _ = read_text(path)
    return [
        parse_line(FormRecord, line, str(path), n)
        for n, line in enumerate(text.split("\n"), 1)  # not splitlines(): a value may hold
        if line.strip()  # U+2028 or U+0085, which JSON writes raw and splitlines() splits at
    ]


M = TypeVar("M", bound=BaseModel)


def parse_line(model: type[M], line: str, path: str, n: int) -> M:
    """One JSON line as `model`. Parsed by pydantic's own JSON reader, which refuses what
    Python's json would crash on later (a 5,000-digit number, 3,000-deep nesting, a lone
    surrogate); RecordsError names the line and the field."""
    try:
        return model.model_validate_json(line)
    except ValidationError as exc:
        raise RecordsError(path, n, f"not a {_noun(model)}: {describe(exc)}") from None


def load_json(line: str, path: str, n: int) -> Any:
    """One JSON line as plain data, read as `parse_line` reads it; RecordsError if not JSON."""
    try:
        return from_json(line)
    except ValueError as exc:
        raise RecordsError(path, n, f"Invalid JSON: {exc}") from None


def describe(exc: ValidationError) -> str:
    """The first problem of a validation error as `field.path: message`, the path written as
    findings and corrections write it (`indicators[0].name`)."""
    err = exc.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    return f"{where}: {err['msg']}" if where else err["msg"]


def _noun(model: type[BaseModel]) -> str:
    return "form record" if model is FormRecord else model.__name__


def unknown_keys(data: Any, model: type[BaseModel], where: str = "") -> list[str]:
    """Paths of the keys in `data` that `model`, or a model it nests, has no field for: a
    misspelled key would otherwise be dropped, or kept as an extra, without a word."""
    if not isinstance(data, dict):
        return []
    found = []
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        info = model.model_fields.get(str(key))
        if info is None:
            found.append(path)
        else:
            found += _unknown_inside(value, info.annotation, path)
    return found


def _unknown_inside(value: Any, annotation: Any, path: str) -> list[str]:
    """Unknown keys in a field's value: a model, or a list or dict of models (`X | None` too)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return unknown_keys(value, annotation, path)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and isinstance(value, list) and args:
        return [k for i, v in enumerate(value) for k in _unknown_inside(v, args[0], f"{path}[{i}]")]
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return [k for key, v in value.items() for k in _unknown_inside(v, args[1], f"{path}.{key}")]
    if origin in (Union, UnionType):
        return [k for a in args if a is not type(None) for k in _unknown_inside(value, a, path)]
    return []
