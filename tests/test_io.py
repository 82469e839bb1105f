"""Inputs and outputs under hostile conditions (issue 16): an output over an input or a device, a
file that is not a file, a full disk, a killed writer. One line on stderr and exit 2, never a
traceback, and whatever was at the output path stays whole.

Failures the machine causes are made real where a test can: a full disk is a child process with
RLIMIT_FSIZE (the kernel refuses writes past the limit, as it does on a full disk, even for root),
a FIFO is a real FIFO. Permission errors cannot be had as root, so they are raised by a patch.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from structurer.cli import app
from structurer.errors import OutputError
from structurer.io import atomic_write_bytes, atomic_write_files, is_stream
from structurer.pipeline.journal import journal_path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "shanghai-2024" / "source.md"
runner = CliRunner()

ONE_FORM = """财政项目支出绩效目标申报表
| 项目名称 | 甲项目 |
|---|---|
| 主管部门 | 乙局 |
| 产出指标 | 数量指标 | 完成数 | =1(个) |
"""


def run(*args: object):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def one_line_exit_2(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def child(code: str, *args: object, fsize: int | None = None, timeout: float = 60):  # type: ignore[no-untyped-def]
    """Run `code` in a fresh interpreter; with `fsize`, writes past that many bytes fail as on a
    full disk (EFBIG)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error from write(), not a kill
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        cwd=ROOT,
    )


CLI = "import sys; from structurer.cli import app; app(sys.argv[1:], prog_name='structurer')"


# --- item 1: never over an input, never replacing a device ---


def test_extract_refuses_to_write_over_its_input(tmp_path: Path) -> None:
    doc = tmp_path / "same.md"
    doc.write_text(ONE_FORM, encoding="utf-8")
    line = one_line_exit_2(run("extract", doc, "-o", doc))
    assert "is the input" in line
    assert doc.read_text(encoding="utf-8") == ONE_FORM


def test_an_input_under_another_name_is_the_input(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(ONE_FORM, encoding="utf-8")
    (tmp_path / "hard.md").hardlink_to(doc)
    (tmp_path / "soft.md").symlink_to(doc)
    for out in ("hard.md", "soft.md"):
        assert "is the input" in one_line_exit_2(run("extract", doc, "-o", tmp_path / out))
    assert doc.read_text(encoding="utf-8") == ONE_FORM


def test_export_refuses_to_write_over_the_records(tmp_path: Path) -> None:
    records = tmp_path / "out.jsonl"
    assert run("extract", SEED, "-o", records).exit_code == 0
    before = records.read_bytes()
    assert "is the input" in one_line_exit_2(run("export", records, "-f", "xlsx", "-o", records))
    assert records.read_bytes() == before


def test_an_output_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in one_line_exit_2(run("extract", SEED, "-o", tmp_path))


def test_a_device_or_pipe_is_written_to_not_replaced(tmp_path: Path) -> None:
    """`-o /dev/null` as root replaced /dev/null with a regular file (the atomic rename). A FIFO
    stands in for the device here: renaming over it would replace it the same way."""
    assert is_stream("/dev/null") and not is_stream(SEED) and not is_stream(tmp_path / "new")
    doc = tmp_path / "doc.md"
    doc.write_text(ONE_FORM, encoding="utf-8")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open first, so the writer never waits
    try:
        assert run("extract", doc, "-o", fifo).exit_code == 0
        got = os.read(reader, 1 << 20).decode("utf-8")
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still the pipe
    assert '"project_name":"甲项目"' in got  # and the records went through it
    # nothing is created beside a device (as root, /dev/null.partial): the journal is elsewhere
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.md", "pipe"]
    assert journal_path(fifo).parent == Path(tempfile.gettempdir())


def test_a_symlinked_output_keeps_its_link(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new\n")
    assert link.is_symlink() and real.read_bytes() == b"new\n"


# --- items 7 and 9: inputs that are not documents ---


BAD_UTF16 = b"\xff\xfe" + "财政".encode("utf-16-le") + b"\x00\xd8"  # a BOM, then a lone surrogate


@pytest.mark.parametrize("command", ["split", "extract", "check", "export", "review"])
def test_a_utf16_bom_on_invalid_utf16_is_a_clear_error(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(BAD_UTF16)
    args = {
        "split": ["split", bad],
        "extract": ["extract", bad, "-o", tmp_path / "o.jsonl"],
        "check": ["check", bad],
        "export": ["export", bad, "-o", tmp_path / "o.csv"],
        "review": ["review", bad, "--source", bad, "--no-browser", "--port", "0"],
    }[command]
    assert "not valid UTF-16" in one_line_exit_2(run(*args))


def test_eval_reports_a_gold_file_with_a_broken_utf16_bom(tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    (case / "source.md").write_text(ONE_FORM, encoding="utf-8")
    (case / "gold.jsonl").write_bytes(BAD_UTF16)
    result = run("eval", case, "--no-history", "--report", tmp_path / "r")
    assert "not valid UTF-16" in one_line_exit_2(result)


def test_an_unreadable_file_among_good_ones_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked.md"
    locked.write_text(ONE_FORM, encoding="utf-8")
    real_open = Path.open

    def no_permission(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name == "locked.md":  # as root chmod 000 is no obstacle: refuse like the kernel
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", no_permission)
    out = tmp_path / "out.jsonl"
    result = run("extract", locked, SEED, "-o", out)
    assert result.exit_code == 1, result.output
    assert "skipped" in result.stderr and "Permission denied" in result.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 13


@pytest.mark.parametrize("command", ["split", "extract", "check"])
def test_a_fifo_with_no_writer_is_refused_not_waited_on(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "doc.md"
    os.mkfifo(fifo)
    args = [command, fifo] + (["-o", tmp_path / "o.jsonl"] if command == "extract" else [])
    done = child(CLI, *args, timeout=30)  # the old reader blocked in open() forever
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and "Traceback" not in done.stderr


# --- item 8 and the atomic-write promise: failed writes ---


def test_a_write_that_fails_midway_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """The promise a plain `write_bytes` breaks: it truncates the old file, then the disk fills."""
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old records\n")
    code = (
        "import sys\n"
        "from structurer.io import atomic_write_bytes\n"
        "from structurer.errors import OutputError\n"
        "try:\n"
        "    atomic_write_bytes(sys.argv[1], b'x' * 50_000)\n"
        "except OutputError as exc:\n"
        "    print(exc.reason)\n"
    )
    done = child(code, target, fsize=10_000)
    assert done.returncode == 0, done.stderr
    assert "File too large" in done.stdout
    assert target.read_bytes() == b"old records\n"
    assert not list(tmp_path.glob(".out.jsonl.*"))  # no temporary file left behind


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_full_disk_during_export_is_one_line_and_keeps_the_old_files(
    tmp_path: Path, fmt: str
) -> None:
    records = tmp_path / "out.jsonl"
    assert run("extract", SEED, "-o", records).exit_code == 0
    earlier = tmp_path / "earlier.jsonl"  # the files already there come from other records
    earlier.write_text(records.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    out = tmp_path / f"table.{fmt}"
    assert run("export", earlier, "-f", fmt, "-o", out).exit_code == 0
    before = {p: p.read_bytes() for p in tmp_path.glob("table*")}
    # forms.csv (~10 KB) fits under the limit, indicators.csv (~26 KB) and the xlsx do not
    done = child(CLI, "export", records, "-f", fmt, "-o", out, fsize=16_000)
    assert done.returncode == 2, done.stderr
    assert "File too large" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in tmp_path.glob("table*")} == before  # the pair, too


def test_a_full_disk_during_extract_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = child(CLI, "extract", SEED, "-o", out, fsize=16_000)
    assert done.returncode == 2, done.stderr
    assert "File too large" in done.stderr and "Traceback" not in done.stderr
    assert "out.jsonl.partial: File too large" in done.stderr  # names the file it could not write
    assert not out.exists()


def test_an_unwritable_output_folder_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def read_only(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.EROFS, "Read-only file system")

    out = tmp_path / "table.xlsx"
    out.write_bytes(b"old")
    records = tmp_path / "out.jsonl"
    assert run("extract", SEED, "-o", records).exit_code == 0
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    line = one_line_exit_2(run("export", records, "-f", "xlsx", "-o", out))
    assert "Read-only file system" in line and str(out) in line
    assert out.read_bytes() == b"old"


def test_an_output_under_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = one_line_exit_2(run("extract", SEED, "-o", blocker / "out.jsonl"))
    assert "Not a directory" in line or "File exists" in line


# --- Low: temporary files of killed writers; files written as a pair ---


def test_a_temp_file_left_by_a_killed_writer_is_swept_a_live_one_kept(tmp_path: Path) -> None:
    import fcntl

    target = tmp_path / "out.jsonl"
    dead = tmp_path / ".out.jsonl.dead1234.tmp"
    live = tmp_path / ".out.jsonl.live1234.tmp"
    for p in (dead, live):
        p.write_bytes(b"half a file")
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    with live.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another process still writing it
        atomic_write_bytes(target, b"records\n")
        assert not dead.exists() and live.exists()
    assert target.read_bytes() == b"records\n"


def test_files_written_as_a_pair_change_together_or_not_at_all(tmp_path: Path) -> None:
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_text("old small")
    large.write_text("old large")
    code = (
        "import sys\n"
        "from structurer.io import atomic_write_files\n"
        "from structurer.errors import OutputError\n"
        "try:\n"
        "    atomic_write_files({sys.argv[1]: b'new', sys.argv[2]: b'x' * 50_000})\n"
        "except OutputError as exc:\n"
        "    print('refused', exc.path)\n"
    )
    done = child(code, small, large, fsize=10_000)
    assert "refused" in done.stdout, done.stderr
    assert (small.read_text(), large.read_text()) == ("old small", "old large")
    atomic_write_files({small: b"new small", large: b"new large"})
    assert (small.read_text(), large.read_text()) == ("new small", "new large")


def test_fixture_add_force_replaces_source_and_gold_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while writing the second file of the case must not leave a new source.md
    beside the old gold.jsonl."""
    from structurer.review.fixture import add_fixture
    from structurer.review.session import ReviewSession

    records = tmp_path / "out.jsonl"
    assert run("extract", SEED, "-o", records).exit_code == 0
    ReviewSession(records, SEED).mark_reviewed(1)
    case = tmp_path / "fixtures" / "case"
    case.mkdir(parents=True)
    (case / "source.md").write_text("old source")
    (case / "gold.jsonl").write_text("old gold\n")
    real_fsync, calls = os.fsync, []

    def disk_full_on_second(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full_on_second)
    with pytest.raises(OutputError, match="No space left"):
        add_fixture(records, SEED, "case", fixtures=tmp_path / "fixtures", force=True)
    assert (case / "source.md").read_text() == "old source"
    assert (case / "gold.jsonl").read_text() == "old gold\n"
    assert sorted(p.name for p in case.iterdir()) == ["gold.jsonl", "source.md"]


def test_the_library_writer_refuses_an_input_too(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(ONE_FORM, encoding="utf-8")
    with pytest.raises(OutputError, match="is the input"):
        atomic_write_files({doc: b"x"}, inputs=[doc])
    assert doc.read_text(encoding="utf-8") == ONE_FORM
