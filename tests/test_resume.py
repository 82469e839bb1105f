"""Resume through the CLI and one failing form never losing the others (issue 16, item 3).

An interrupted run leaves its journal, OUT.jsonl.partial: the records it finished, each stamped
with the run that made it (meta.run: backend, model, prompt version, vocabulary). Re-running the
same command reuses the journal's records of the same run, never those of another backend or
model, never failed ones, and drops a line the interruption cut off. To see whether a record was
reused or extracted again, the tests mark the journal's records (a project name no extraction
would produce).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_CASE
from pydantic import BaseModel, field_serializer
from typer.testing import CliRunner

from structurer import pipeline
from structurer.cli import app
from structurer.io import read_records
from structurer.models import FormRecord
from structurer.read import load_document
from structurer.rules import RulesBackend, extract_form

runner = CliRunner()
SOURCE = SEED_CASE / "source.md"
MARK = "FROM-THE-JOURNAL"


def extract(out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["extract", str(SOURCE), "-o", str(out), "-b", "rules", *extra])


def interrupted_journal(out: Path, forms: int, edit: Any = None) -> Path:
    """The journal a run interrupted after `forms` forms leaves: a full run's first lines, each
    marked (and changed by `edit`), then half a line cut off by the interruption."""
    assert extract(out).exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    out.unlink()
    journal = out.with_name(out.name + ".partial")
    kept = []
    for line in lines[:forms]:
        data = json.loads(line)
        data["project_name"] = MARK
        if edit:
            edit(data)
        kept.append(json.dumps(data, ensure_ascii=False))
    journal.write_text("\n".join(kept) + "\n" + lines[forms][:50], encoding="utf-8")
    return journal


def marked(out: Path) -> list[int]:
    return [r.form_index for r in read_records(out) if r.project_name == MARK]


def test_rerunning_the_same_command_resumes_from_the_journal(tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    journal = interrupted_journal(out, 5)
    result = extract(out)
    assert result.exit_code == 0, result.stderr
    assert "resumed: 5 forms" in result.stderr
    assert "1 line (cut off)" in result.stderr
    assert marked(out) == [1, 2, 3, 4, 5]  # reused, not extracted again
    assert [r.form_index for r in read_records(out)] == list(range(1, 14))
    assert not journal.exists()


@pytest.mark.parametrize(
    "run",
    [
        {"backend": "llm", "model": "gpt-x", "prompt_version": "extract-v1"},
        {"backend": "rules", "model": "another-model", "prompt_version": None},
        {"backend": "rules", "model": None, "prompt_version": None, "vocabulary": "other:0"},
    ],
    ids=["another-backend", "another-model", "another-vocabulary"],
)
def test_a_journal_of_another_run_is_not_reused(tmp_path, run: dict[str, Any]) -> None:
    out = tmp_path / "out.jsonl"

    def other_run(data: dict[str, Any]) -> None:
        data["meta"]["run"] = {**data["meta"]["run"], **run}

    interrupted_journal(out, 5, other_run)
    result = extract(out)
    assert result.exit_code == 0, result.stderr
    assert "resumed" not in result.stderr
    assert "5 lines (another backend, model or vocabulary)" in result.stderr
    assert marked(out) == []  # every form extracted by this run
    assert all(r.meta["run"]["backend"] == "rules" for r in read_records(out))


def test_failed_forms_are_retried_on_resume(tmp_path) -> None:
    out = tmp_path / "out.jsonl"

    def failed(data: dict[str, Any]) -> None:
        if data["form_index"] == 2:
            data["findings"].append(
                {"severity": "error", "code": "llm.failed", "message": "timeout", "paths": []}
            )

    interrupted_journal(out, 3, failed)
    result = extract(out)
    assert result.exit_code == 0, result.stderr
    assert "resumed: 2 forms" in result.stderr and "1 line (failed)" in result.stderr
    assert marked(out) == [1, 3]
    second = read_records(out)[1]
    assert second.project_name == "项目管理费" and not any(
        f.code.endswith(".failed") for f in second.findings
    )


class _Poisoned:
    """Rules, except that two forms come back holding what breaks the checks or the JSON."""

    name = "rules"

    def __init__(self, poison: dict[int, Any]) -> None:
        self.poison = poison

    def run(self, jobs, on_record):  # type: ignore[no-untyped-def]
        for job in jobs:
            record = extract_form(job.chunk, job.grid)
            if job.chunk.index in self.poison:
                self.poison[job.chunk.index](record)
            on_record(job, record)


def _overflow(record: FormRecord) -> None:
    # a buggy backend's amount of the wrong type: checking it raises. ("1e999999999" used to
    # overflow the decimal context; since issue 16 it is an unreadable amount, a finding.)
    record.funding.annual_total = 10**400  # type: ignore[assignment]


def _surrogate(record: FormRecord) -> None:
    record.project_name = "孵化\ud800基地"  # a lone surrogate: not encodable as UTF-8


def test_a_form_whose_checks_or_json_raise_fails_alone(tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    doc = load_document(SOURCE)
    result = pipeline.extract_to_file([doc], out, _Poisoned({4: _overflow, 9: _surrogate}))
    records = read_records(out)  # the output is valid UTF-8 JSON Lines, every form in it
    assert [r.form_index for r in records] == list(range(1, 14))
    failed = {
        r.form_index: r for r in records if any(f.code == "extract.failed" for f in r.findings)
    }
    assert sorted(failed) == [4, 9] and result.failed == 2
    assert "TypeError" in failed[4].findings[0].message
    assert failed[9].source is not None and failed[9].source.document == "source.md"
    assert records[4].project_name and not any(f.severity == "error" for f in records[4].findings)

    # the journal never takes the failures for done: a rerun extracts those two again
    journal = out.with_name(out.name + ".partial")
    journal.write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    out.unlink()
    again = pipeline.extract_to_file([doc], out, RulesBackend())
    assert again.resumed == 11 and again.failed == 0
    assert not any(f.code.endswith(".failed") for r in read_records(out) for f in r.findings)


def test_a_form_whose_layout_reader_raises_fails_alone(tmp_path, monkeypatch) -> None:
    from structurer.pipeline import forms

    real = forms.chunk_grid

    def flaky(chunk, vocab=None):  # type: ignore[no-untyped-def]
        if chunk.index == 7:
            raise RecursionError("maximum recursion depth exceeded")
        return real(chunk, vocab)

    monkeypatch.setattr(forms, "chunk_grid", flaky)
    result = runner.invoke(app, ["extract", str(SOURCE), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1  # a failed form is reported by the exit code
    records = read_records(tmp_path / "o.jsonl")
    assert len(records) == 13
    assert [
        r.form_index for r in records if r.findings and r.findings[0].code == "extract.failed"
    ] == [7]


@pytest.fixture(scope="module")
def long_document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 numbered forms: long enough to be stopped half way."""
    from structurer.quality.damage import render_document

    forms = read_records(SEED_CASE / "gold.jsonl")
    records = []
    for i in range(300):
        r = forms[i % len(forms)].model_copy(deep=True)
        r.project_name = f"{r.project_name}{i:03d}"
        records.append(r)
    path = tmp_path_factory.mktemp("long") / "long.md"
    path.write_text(render_document(records), encoding="utf-8")
    return path


# The command as a user runs it, held after its 20th finished form until the signal comes: half
# way whatever the machine's speed. Let go on, a run could finish before the signal on a busy
# machine, or be stopped before its first form on a slow one.
HELD_AT = 20
HOLD = f"""
import sys, time
from structurer.pipeline.journal import Journal
append = Journal.append
def held(self, result):
    append(self, result)
    while len(self.sequence) >= {HELD_AT}:
        time.sleep(0.01)
Journal.append = held
from structurer.cli import main
sys.argv[0] = "structurer"
main()
"""


def _ctrl_c_by_default() -> None:
    """In the child: SIGINT at its default, for Python to handle, even when the tests run as a
    background job of a shell, which has it ignored (and the child would inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_a_run_stopped_half_way_goes_on_when_the_command_is_run_again(
    long_document, tmp_path, sig: str
) -> None:
    """A real process, stopped by Ctrl-C or killed, then the very same command again."""
    import subprocess
    import sys
    import time

    out = tmp_path / "out.jsonl"
    journal = tmp_path / "out.jsonl.partial"
    args = ["extract", str(long_document), "-o", str(out), "-b", "rules", "-j", "1"]
    proc = subprocess.Popen([sys.executable, "-c", HOLD, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=_ctrl_c_by_default)  # fmt: skip
    deadline = time.monotonic() + 60
    while not (journal.exists() and journal.read_bytes().count(b"\n") >= HELD_AT):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run never got to form {HELD_AT}: {proc.communicate()[1]!r}")
        time.sleep(0.01)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert not out.exists()  # never a half-written output
    assert journal.read_bytes().count(b"\n") == HELD_AT  # every form done before the signal
    if sig == "SIGINT":
        assert proc.returncode == 130
        assert len(err.splitlines()) == 1 and b"run the same command again" in err, err
    again = subprocess.run([str(Path(sys.executable).parent / "structurer"), *args],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"resumed: {HELD_AT} forms" in again.stderr
    records = read_records(out)
    assert [r.form_index for r in records] == list(range(1, 301))
    assert len({r.project_name for r in records}) == 300
    assert not journal.exists()


class _CtrlCWhileSerialized(BaseModel):
    """Ctrl-C pressed as pydantic-core runs Python to serialize a record (it does for each of a
    record's `exclude_if` fields): it reports the KeyboardInterrupt as a ValueError of its own."""

    pressed: int = 0

    @field_serializer("pressed")
    def _press(self, value: int) -> int:
        signal.raise_signal(signal.SIGINT)
        return value


def _ctrl_c_while_serialized(record: FormRecord) -> None:
    record.meta["pressed"] = _CtrlCWhileSerialized()


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """SIGINT handled as Python does by default (a background job may have it ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_while_a_record_is_serialized_stops_the_run(tmp_path, ctrl_c) -> None:
    out = tmp_path / "out.jsonl"
    doc = load_document(SOURCE)
    with pytest.raises(KeyboardInterrupt):
        pipeline.extract_to_file([doc], out, _Poisoned({4: _ctrl_c_while_serialized}))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # as it was
    journal = read_records(out.with_name(out.name + ".partial"))
    assert [r.form_index for r in journal] == [1, 2, 3]  # form 4 not taken for a failed form
    assert not out.exists()
    again = pipeline.extract_to_file([doc], out, RulesBackend())
    assert again.resumed == 3 and again.failed == 0 and again.forms == 13


class _DiesInWorkers(RulesBackend):
    """Rules that kill the worker process they run in (as the OOM killer would) on form 5."""

    parallel = True

    def __init__(self, parent: int) -> None:
        super().__init__()
        self.parent = parent

    def run(self, jobs, on_record):  # type: ignore[no-untyped-def]
        import os

        if os.getpid() != self.parent and any(j.chunk.index == 5 for j in jobs):
            os._exit(1)
        super().run(jobs, on_record)


def test_a_dead_worker_process_loses_no_form(tmp_path) -> None:
    import os

    out = tmp_path / "out.jsonl"
    doc = load_document(SOURCE)
    result = pipeline.extract_to_file([doc], out, _DiesInWorkers(os.getpid()), jobs=2)
    assert result.forms == 13 and result.failed == 0
    expected = pipeline.extract_documents([doc], RulesBackend()).records
    assert [r.project_name for r in read_records(out)] == [r.project_name for r in expected]
