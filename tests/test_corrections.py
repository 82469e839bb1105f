"""The corrections log: durable appends, replay, and re-applying to a fresh extraction."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from structurer.io import read_records, write_records
from structurer.models import Finding, FormRecord, Funding, Indicator, SourceRef
from structurer.review.corrections import (
    Correction,
    CorrectionLog,
    CorrectionsError,
    FormKey,
    corrections_path_for,
    normalize,
    read_corrections,
    read_log,
    reapply_to_file,
    replay,
    set_value,
)


def form(index: int, name: str | None, annual: str = "100.00", doc: str = "a.md") -> FormRecord:
    return FormRecord(
        form_index=index,
        project_name=name,
        funding=Funding(unit="元", annual_total=annual, current_appropriation="100.00"),
        indicators=[
            Indicator(level1="产出指标", level2="数量指标", name="完成率", target="=100.00(%)"),
            Indicator(level1="满意度指标", level2="服务对象满意度指标", name="满意度", target="高"),
        ],
        source=SourceRef(document=doc, start_line=1, end_line=2),
    )


def fix(record: FormRecord, path: str, old, new, op: str = "set", index=None) -> Correction:
    return Correction(
        form=FormKey.of(record), op=op, path=path, old=old, new=new, index=index, reviewer="t"
    )


def test_log_path_sits_beside_the_records() -> None:
    assert corrections_path_for("out/run.jsonl") == Path("out/run.corrections.jsonl")


def test_append_is_json_lines_and_a_torn_line_is_set_aside_not_swallowing(tmp_path) -> None:
    log = CorrectionLog(tmp_path / "c.jsonl")
    rec = form(1, "甲")
    log.append(fix(rec, "funding.annual_total", "100.00", "200.00"))
    with log.path.open("a", encoding="utf-8") as fh:
        fh.write('{"form": {"form_index"')  # a writer that died mid-line
    corrections, aside = read_log(log.path)
    assert len(corrections) == 1 and [(a.line, a.why[:7]) for a in aside] == [(2, "cut off")]
    moved = log.append(fix(rec, "project_name", "甲", "乙"))
    assert [m.text for m in moved] == ['{"form": {"form_index"']
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["path"] for x in lines] == ["funding.annual_total", "project_name"]
    torn = tmp_path / "c.jsonl.torn"
    assert torn.read_text(encoding="utf-8") == '{"form": {"form_index"\n'  # kept
    assert read_log(log.path) == (log.read(), [])  # and the log is clean JSON Lines again


def test_a_broken_complete_line_is_set_aside_with_its_number_not_fatal(tmp_path) -> None:
    p = tmp_path / "c.jsonl"
    good = fix(form(1, "甲"), "annual_goal", None, "目标").model_dump_json()
    p.write_text(f'{good}\n{{"form": 1}}\nnot json\n{good}\n', encoding="utf-8")
    corrections, aside = read_log(p)
    assert len(corrections) == 2
    assert [(a.line, a.why.split(" (")[0]) for a in aside] == [
        (2, "not a correction"),
        (3, "not a correction"),
    ]
    assert "form: Input should be an object" in aside[0].why  # names the field


def _append_many(args: tuple[str, int]) -> None:
    path, worker = args
    log = CorrectionLog(path)
    rec = form(1, "甲")
    for n in range(40):
        log.append(fix(rec, "annual_goal", None, f"w{worker}-{n}"))


def test_concurrent_appends_from_processes_lose_nothing(tmp_path) -> None:
    path = str(tmp_path / "c.jsonl")
    with ProcessPoolExecutor(4) as pool:
        list(pool.map(_append_many, [(path, w) for w in range(4)]))
    got = {c.new for c in read_corrections(path)}
    assert got == {f"w{w}-{n}" for w in range(4) for n in range(40)}


def test_values_are_normalised_as_the_contract_stores_them() -> None:
    assert normalize("funding.annual_total", " 5,9OO,000.00 ") == "5900000.00"
    assert normalize("start_date", "2024/1/1") == "2024-01-01"
    assert normalize("indicators[0].target", "≥ 90.00 (%)") == "≥90.00(%)"
    assert normalize("annual_goal", "  ") is None
    with pytest.raises(CorrectionsError, match="not an amount"):
        normalize("funding.annual_total", "five")
    with pytest.raises(CorrectionsError, match="not an editable field"):
        normalize("meta", "x")


def test_editing_a_target_reparses_op_value_unit() -> None:
    rec = form(1, "甲")
    set_value(rec, "indicators[1].target", "≥95.5(%)")
    ind = rec.indicators[1]
    assert (ind.target, ind.op, ind.value, ind.unit) == ("≥95.5(%)", "≥", "95.5", "%")


def test_strict_replay_matches_by_project_and_reports_what_no_longer_applies() -> None:
    old = [form(1, "甲"), form(2, "乙"), form(3, "丙")]
    log = [
        fix(old[1], "funding.annual_total", "100.00", "150.00"),
        fix(old[0], "funding.annual_total", "100.00", "120.00"),
        fix(old[2], "project_name", "丙", "丙项目"),
        fix(old[1], "indicators", None, {"name": "新增", "target": "≥3(个)"}, "add", 2),
    ]
    # the fresh extraction: forms reordered, 甲's amount now reads differently, 丙 gone
    fresh = [form(1, "乙"), form(2, "甲", annual="101.00")]
    result = replay(fresh, log, strict=True)
    assert fresh[0].funding.annual_total == "150.00"
    assert fresh[0].indicators[2].value == "3"
    assert fresh[1].funding.annual_total == "101.00"  # not overwritten
    assert len(result.applied) == 2
    reasons = {c.form.project_name: why for c, why in result.stale}
    assert "value changed in the source" in reasons["甲"]
    assert reasons["丙"] == "form gone"
    report = str(result)
    assert "2 applied" in report and "2 no longer apply" in report
    assert "甲" in report and "丙" in report


def test_a_form_without_project_name_is_matched_by_position_in_its_document() -> None:
    old = form(2, None)
    fresh = [form(1, None, doc="b.md"), form(2, None, doc="b.md"), form(2, None)]
    result = replay(fresh, [fix(old, "annual_goal", None, "目标")], strict=True)
    assert not result.stale
    assert [r.annual_goal for r in fresh] == [None, None, "目标"]


def test_indicator_remove_and_move_check_the_indicator_is_still_the_same() -> None:
    rec = form(1, "甲")
    first = rec.indicators[0].model_dump()
    moved = [fix(rec, "indicators", first, 1, "move", 0)]
    fresh = form(1, "甲")
    assert not replay([fresh], moved, strict=True).stale
    assert [i.name for i in fresh.indicators] == ["满意度", "完成率"]
    changed = form(1, "甲")
    changed.indicators[0].name = "别的指标"
    result = replay([changed], [fix(rec, "indicators", first, None, "remove", 0)], strict=True)
    assert "changed in the source" in result.stale[0][1]
    assert len(changed.indicators) == 2


def test_reapply_to_file_rewrites_records_rechecks_and_keeps_the_log(tmp_path) -> None:
    records = tmp_path / "out.jsonl"
    bad = form(1, "甲", annual="900.00")  # 900 != 100 + nothing: an identity error
    bad.findings = [Finding(severity="error", code="funding.annual_identity", message="x")]
    write_records(records, [bad, form(2, "乙")])
    log = corrections_path_for(records)
    CorrectionLog(log).append(
        fix(bad, "funding.annual_total", "900.00", "100.00"),
        fix(form(2, "乙"), "project_name", "旧名", "新名"),  # 乙's name is not 旧名 any more
    )
    before = log.read_bytes()
    report = reapply_to_file(records, log)
    got = read_records(records)
    assert got[0].funding.annual_total == "100.00"
    assert "funding.annual_identity" not in {f.code for f in got[0].findings}
    assert got[1].project_name == "乙"
    assert "1 applied" in str(report) and "1 no longer apply" in str(report)
    assert log.read_bytes() == before
