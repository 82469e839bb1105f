"""One run at a time on an output: a second `extract` on the same OUT is refused at once, naming
the first, and nothing but the run's own lines can reach a finished output (issue 21, item 8:
two runs 0.8 s apart once left 661 lines for 390 forms)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import read_jsonl
from typer.testing import CliRunner

from structurer.cli import app
from structurer.pipeline.forms import FormResult
from structurer.pipeline.journal import Journal, journal_path, lock_path

runner = CliRunner()

HOLD = """
import sys, time
from structurer.pipeline.journal import Journal, journal_path
journal = Journal(journal_path(sys.argv[1]), {"backend": "rules"})
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
journal.close()
"""


def extract(seed: Path, out: Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["extract", str(seed), "-o", str(out), "-b", "rules"])


def test_a_second_run_on_the_same_output_is_refused_naming_the_first(
    seed_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None and first.stdout.readline() == "held\n"
        result = extract(seed_source, out)
        assert result.exit_code == 2
        [line] = result.stderr.splitlines()
        assert line.startswith(f"structurer: error: {out}: another run is writing it")
        assert f"pid {first.pid} " in line
        assert not out.exists()
    finally:
        first.communicate("")
    assert not lock_path(journal_path(out)).exists()  # released and removed by its holder
    again = extract(seed_source, out)  # the first one is gone: this one runs
    assert again.exit_code == 0, again.output
    assert len(read_jsonl(out)) == 13
    assert not lock_path(journal_path(out)).exists()


def test_a_killed_run_leaves_no_lock_in_the_way(seed_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    lock_path(journal_path(out)).write_text("pid 1 on elsewhere since long ago: structurer")
    result = extract(seed_source, out)  # the file is there, nobody holds it
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(out)) == 13


def _line(key: str) -> FormResult:
    line = f'{{"meta": {{"job": "{key}"}}}}'
    return FormResult(key, "doc", 1, None, 0, line=line)


def test_lines_another_writer_appended_never_reach_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    journal = Journal(journal_path(out), {"backend": "rules"})
    for key in ("a", "b"):
        journal.append(_line(key))
    with journal_path(out).open("ab") as stranger:  # a writer that took no lock
        stranger.write(b'{"meta": {"job": "a"}}\n')
    journal.finish(out, [("a", None), ("b", None)])
    journal.close()
    assert out.read_text().splitlines() == ['{"meta": {"job": "a"}}', '{"meta": {"job": "b"}}']
    assert not os.path.exists(journal_path(out))
