"""Corrections under crashes, hand edits and other processes (issue 16, items 2 and 13 and the
promises no test guarded): a cut-off last line blocks nothing, a hand-edited value of the wrong
type is a correction that does not apply, `extract` re-applies a log from the command line, the
lock keeps two processes' saves apart, and a save over a value another process changed is
refused."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import planted_seed_records
from starlette.testclient import TestClient
from typer.testing import CliRunner

from structurer.cli import app
from structurer.io import read_records
from structurer.review.app import create_app, login_path
from structurer.review.corrections import (
    Correction,
    CorrectionLog,
    FormKey,
    corrections_path_for,
    read_corrections,
    read_log,
)
from structurer.review.session import ReviewSession

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "shanghai-2024"
SOURCE = SEED / "source.md"
TOKEN = "t0ken"
FIRST = "孵化基地运营及创业孵化服务支出"  # form 1's project name
CUT_OFF = '{"form": {"document": "source.md", "project_na'
runner = CliRunner()


@pytest.fixture
def extracted(tmp_path: Path) -> Path:
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["extract", str(SOURCE), "-o", str(out)]).exit_code == 0
    return out


def goal_fix(new: str, old: str | None = "确保孵化基地安全稳定运营。") -> Correction:
    key = FormKey(document="source.md", project_name=FIRST, form_index=1)
    return Correction(form=key, op="set", path="annual_goal", old=old, new=new, reviewer="t")


def with_cut_off_line(log: Path, *corrections: Correction) -> Path:
    CorrectionLog(log).append(*corrections)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(CUT_OFF)  # the process saving next was killed mid-line (or the disk filled)
    return log


# --- item 2: a cut-off last line ---


def test_a_cut_off_line_does_not_stop_the_review_app_from_saving(extracted: Path) -> None:
    log = with_cut_off_line(corrections_path_for(extracted), goal_fix("第一次修改"))
    session = ReviewSession(extracted, SOURCE, reviewer="r")
    client = TestClient(create_app(session, TOKEN), base_url="http://127.0.0.1:8765")
    assert client.get(login_path(TOKEN)).status_code == 200  # the printed link sets the cookie
    r = client.post("/form/1/edit", json={"path": "overall_goal", "new": "总目标"})
    assert r.status_code == 200, r.text
    r = client.post("/form/2/edit", json={"path": "overall_goal", "new": "又一个"})
    assert r.status_code == 200, r.text
    assert [c.new for c in read_corrections(log)] == ["第一次修改", "总目标", "又一个"]
    assert (log.parent / (log.name + ".torn")).read_text(encoding="utf-8") == CUT_OFF + "\n"
    assert session.state(1).record.annual_goal == "第一次修改"


def test_a_cut_off_line_does_not_stop_extract_which_reports_it(extracted: Path) -> None:
    log = with_cut_off_line(corrections_path_for(extracted), goal_fix("改过的目标"))
    result = runner.invoke(app, ["extract", str(SOURCE), "-o", str(extracted)])
    assert result.exit_code == 0, result.output
    assert read_records(extracted)[0].annual_goal == "改过的目标"
    said = " ".join(result.stderr.split())
    assert "1 applied" in said and "cut off" in said  # reported while it is there
    ReviewSession(extracted, SOURCE).mark_reviewed(2)  # reviewing goes on: the next save
    result = runner.invoke(app, ["extract", str(SOURCE), "-o", str(extracted)])
    assert result.exit_code == 0, result.output
    assert "2 applied" in " ".join(result.stderr.split())
    assert CUT_OFF in (log.parent / (log.name + ".torn")).read_text(encoding="utf-8")


def test_a_cut_off_line_does_not_stop_fixture_add(extracted: Path, tmp_path: Path) -> None:
    log = corrections_path_for(extracted)
    with_cut_off_line(log)
    ReviewSession(extracted, SOURCE).mark_reviewed(1)  # the save after the crash
    args = ["fixture", "add", str(extracted), "--source", str(SOURCE), "--name", "c"]
    result = runner.invoke(app, [*args, "--fixtures", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "f" / "c" / "gold.jsonl").read_text().splitlines()) == 1


# --- item 13: hand-edited corrections of the wrong type ---

HAND_EDITED = [
    {"op": "move", "path": "indicators", "index": 0, "new": "x"},
    {"op": "move", "path": "indicators", "index": 0, "new": True},
    {"op": "set", "path": "funding.annual_total", "old": "5900000.00", "new": {"a": 1}},
    {"op": "set", "path": "funding.annual_total", "old": "5900000.00", "new": "五百万"},
    {"op": "set", "path": "project_name", "old": FIRST, "new": ["a", "b"]},
    {"op": "set", "path": "year", "old": 2024, "new": "next year"},
    {"op": "set", "path": "indicators[0].target", "old": "=100.00(%)", "new": {"x": 1}},
    {"op": "add", "path": "indicators", "index": 0, "new": ["not", "an", "indicator"]},
    {"op": "add", "path": "indicators", "index": 0, "new": {"name": 7}},
    {"op": "remove", "path": "indicators", "index": 0, "old": "not an indicator"},
]


def test_hand_edited_corrections_of_the_wrong_type_are_reported_not_fatal(
    extracted: Path,
) -> None:
    log = corrections_path_for(extracted)
    form = {"document": "source.md", "project_name": FIRST, "form_index": 1}
    lines = [json.dumps({"form": form, **c}, ensure_ascii=False) for c in HAND_EDITED]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["extract", str(SOURCE), "-o", str(extracted)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert f"{len(HAND_EDITED)} no longer apply" in said
    assert "not a value" in said and "cannot move an indicator to 'x'" in said
    first = read_records(extracted)[0]
    assert first.funding.annual_total == "5900000.00" and first.project_name == FIRST
    session = ReviewSession(extracted, SOURCE)  # the review app replays them the same way
    assert len(session.state(1).stale) == len(HAND_EDITED)


# --- the CLI path of re-applying corrections ---


def test_extract_reapplies_the_log_beside_its_output(extracted: Path) -> None:
    CorrectionLog(corrections_path_for(extracted)).append(
        goal_fix("新的年度目标"), goal_fix("不会生效", old="别的目标")
    )
    result = runner.invoke(app, ["extract", str(SOURCE), "-o", str(extracted)])
    assert result.exit_code == 0, result.output
    assert read_records(extracted)[0].annual_goal == "新的年度目标"
    assert "1 applied, 1 no longer apply" in " ".join(result.stderr.split())


def test_extract_reapplies_a_log_given_with_corrections(extracted: Path, tmp_path: Path) -> None:
    log = tmp_path / "elsewhere.jsonl"
    CorrectionLog(log).append(goal_fix("另一个目标"))
    args = ["extract", str(SOURCE), "-o", str(extracted), "--corrections", str(log)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert read_records(extracted)[0].annual_goal == "另一个目标"


def test_a_missing_corrections_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ["extract", str(SOURCE), "-o", str(out), "--corrections", str(tmp_path / "no.jsonl")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "corrections file not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- two processes: the lock and the refused save ---


def _save_slowly(records: str, value: str, start, results) -> None:  # type: ignore[no-untyped-def]
    """A review server in another process saving form 1's goal over the value it showed. Its
    read-check-append is slowed down, so without the lock the two would surely overlap."""
    from structurer.review import session as review

    replay = review.ReviewSession._replay

    def slow_replay(self, corrections):  # type: ignore[no-untyped-def]
        states = replay(self, corrections)
        time.sleep(0.4)
        return states

    review.ReviewSession._replay = slow_replay  # type: ignore[method-assign]
    session = review.ReviewSession(records, str(SOURCE))
    shown = session.state(1).record.overall_goal or ""
    start.wait()
    try:
        session.edit(1, "overall_goal", value, old=shown)
        results.put(("saved", value))
    except review.Conflict:
        results.put(("refused", value))


def _processes(target, *args_each) -> list:  # type: ignore[no-untyped-def]
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(len(args_each)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, start, results)) for a in args_each]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    return got


def test_two_processes_saving_over_the_same_value_one_is_refused(tmp_path: Path) -> None:
    """The conflict check across processes: the second save was made over a value the first
    one changed, so it is refused (409 in the app), never a silent overwrite."""
    records = planted_seed_records(tmp_path)
    got = _processes(_save_slowly, (str(records), "甲的总目标"), (str(records), "乙的总目标"))
    assert sorted(outcome for outcome, _ in got) == ["refused", "saved"]
    (saved,) = [value for outcome, value in got if outcome == "saved"]
    assert [c.new for c in read_corrections(corrections_path_for(records))] == [saved]


def _append_slowly(log: str, value: str, start, results) -> None:  # type: ignore[no-untyped-def]
    """Append one correction while a cut-off line waits to be set aside; syncing is slowed down,
    so without the lock both processes would move the same line and cut the other's save."""
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(0.3)
        real_fsync(fd)

    os.fsync = slow_fsync  # type: ignore[assignment]
    start.wait()
    CorrectionLog(log).append(goal_fix(value))
    results.put(("saved", value))


def test_two_processes_appending_after_a_cut_off_line_both_land(tmp_path: Path) -> None:
    log = with_cut_off_line(tmp_path / "c.jsonl", goal_fix("之前"))
    _processes(_append_slowly, (str(log), "甲"), (str(log), "乙"), (str(log), "丙"))
    corrections, aside = read_log(log)
    assert sorted(c.new for c in corrections) == ["丙", "之前", "乙", "甲"]
    assert aside == []
    assert (tmp_path / "c.jsonl.torn").read_text(encoding="utf-8") == CUT_OFF + "\n"


def test_a_log_read_from_another_folder_works(tmp_path: Path, extracted: Path) -> None:
    """A copy of a run (records and log moved together) replays the same."""
    CorrectionLog(corrections_path_for(extracted)).append(goal_fix("搬家后"))
    moved = tmp_path / "moved"
    moved.mkdir()
    for p in (extracted, corrections_path_for(extracted)):
        shutil.copy(p, moved / p.name)
    assert ReviewSession(moved / extracted.name, SOURCE).state(1).record.annual_goal == "搬家后"
