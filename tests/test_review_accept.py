"""The reviewer's word is final (issue 20): a corrected value is attested, a finding can be
accepted with a reason, and both hold through `extract` again and `check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from structurer.cli import app
from structurer.io import read_records
from structurer.review.app import cookie_name, create_app
from structurer.review.corrections import read_corrections
from structurer.review.session import ReviewSession

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "shanghai-2024" / "source.md"
TOKEN = "t0ken-accept"
# form 1 prints 年度资金申请总额 5,900,000.00 = 0 + 0 + 5,900,000.00; planted: the OCR read 5,800,000
PRINTED = "| 年度资金申请总额 | 5,900,000.00 |"
MISREAD = "| 年度资金申请总额 | 5,800,000.00 |"
IDENTITY = "funding.annual_identity"
runner = CliRunner()


@pytest.fixture
def extracted(tmp_path: Path) -> tuple[Path, Path]:
    """The seed with form 1's total misread in the source, extracted: an identity error that is
    the source's own (the record holds what the source prints)."""
    text = SEED.read_text(encoding="utf-8")
    assert PRINTED in text
    source = tmp_path / "seed.md"
    source.write_text(text.replace(PRINTED, MISREAD, 1), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return source, out


def client_for(session: ReviewSession) -> TestClient:
    c = TestClient(create_app(session, TOKEN), base_url="http://127.0.0.1:8765")
    c.cookies.set(cookie_name(TOKEN), TOKEN)
    return c


def extract_again(source: Path, out: Path) -> str:
    result = runner.invoke(app, ["extract", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return " ".join(result.stderr.split())


def check(out: Path) -> int:
    return runner.invoke(app, ["check", str(out)]).exit_code


def codes(findings) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in findings}


def index_of(session: ReviewSession, number: int, code: str) -> int:
    found = session.state(number).record.findings
    return next(i for i, f in enumerate(found) if f.code == code)


# --- a correction is the reviewer's reading of the source ---


def test_correcting_the_planted_fault_leaves_no_error_and_extract_keeps_it(extracted) -> None:
    source, out = extracted
    session = ReviewSession(out, reviewer="li")
    assert session.state(1).status == "errors" and check(out) == 1
    r = client_for(session).post(
        "/form/1/edit",
        json={"path": "funding.annual_total", "old": "5800000.00", "new": "5,900,000.00"},
    )
    assert r.status_code == 200, r.text
    state = session.state(1)
    assert state.status == "clean"  # not grounding.wrong_label: the reviewer read the page
    assert not [f for f in state.record.findings if f.severity != "info"]
    (mark,) = [f for f in state.record.findings if f.code == "review.corrected"]
    assert mark.paths == ["funding.annual_total"]
    assert (mark.values["old"], mark.values["new"]) == ("5800000.00", "5900000.00")
    assert mark.values["log"] == "out.corrections.jsonl" and mark.values["time"].endswith("+00:00")

    said = extract_again(source, out)
    assert "1 applied" in said
    first = read_records(out)[0]
    assert first.funding.annual_total == "5900000.00"
    assert {f.severity for f in first.findings} <= {"info"} and "review.corrected" in codes(
        first.findings
    )
    assert check(out) == 0
    extract_again(source, out)  # and again: nothing accumulates
    codes_left = [f.code for f in read_records(out)[0].findings if f.code != "record.empty_fields"]
    assert codes_left == ["review.corrected"]


def test_arithmetic_still_runs_on_a_corrected_value(extracted) -> None:
    source, out = extracted
    session = ReviewSession(out, reviewer="li")
    session.edit(1, "funding.annual_total", "6,000,000.00")
    found = session.state(1).record.findings
    assert IDENTITY in codes(found)  # 6,000,000 is not 0 + 0 + 5,900,000
    assert not [f for f in found if f.code.startswith("grounding.")]
    extract_again(source, out)
    assert IDENTITY in codes(read_records(out)[0].findings) and check(out) == 1


def test_filling_a_missing_target_is_attested_not_ungrounded(extracted) -> None:
    source, out = extracted
    session = ReviewSession(out, reviewer="li")
    form = next(s.number for s in session.states() if s.status == "warnings")
    record = session.state(form).record
    (missing,) = [f for f in record.findings if f.code == "indicator.missing_target"]
    path = missing.paths[0]
    client_for(session).post(f"/form/{form}/edit", json={"path": path, "new": "≥95%"})
    state = session.state(form)
    assert state.status == "clean" and "grounding.ungrounded" not in codes(state.record.findings)
    extract_again(source, out)
    again = read_records(out)[form - 1]
    assert "grounding.ungrounded" not in codes(again.findings)
    assert {f.severity for f in again.findings} == {"info"}


def test_a_corrected_target_stays_attested_when_an_indicator_above_is_removed(extracted) -> None:
    _, out = extracted
    session = ReviewSession(out, reviewer="li")
    form = next(s.number for s in session.states() if s.status == "warnings")
    path = next(
        f.paths[0]
        for f in session.state(form).record.findings
        if f.code == "indicator.missing_target"
    )
    i = int(path.split("[")[1].split("]")[0])
    session.edit(form, path, "≥95%")
    session.indicators(form, "remove", 0)
    record = session.state(form).record
    assert record.indicators[i - 1].target == "≥95%"
    (mark,) = [f for f in record.findings if f.code == "review.corrected"]
    assert mark.paths == [f"indicators[{i - 1}].target"]
    assert "grounding.ungrounded" not in codes(record.findings)


# --- accepting a finding ---


def test_accepting_the_sources_own_fault_unflags_the_form_and_survives_extract(extracted) -> None:
    source, out = extracted
    session = ReviewSession(out, reviewer="li")
    client = client_for(session)
    index = index_of(session, 1, IDENTITY)
    r = client.post(
        "/form/1/accept", json={"index": index, "code": IDENTITY, "reason": "源表合计即如此"}
    )
    assert r.status_code == 200, r.text
    state = session.state(1)
    assert state.status == "clean" and state.counts["accepted"] == 1
    assert 1 not in session.neighbours(2) and session.queue()[0].number != 1
    (finding,) = [f for f in state.record.findings if f.code == IDENTITY]
    assert finding.accepted is not None and finding.accepted.reason == "源表合计即如此"
    assert finding.severity == "error"  # it stays what it is, in the record
    (c,) = read_corrections(session.log.path)
    assert c.op == "accept" and c.old["code"] == IDENTITY and c.new == "源表合计即如此"

    for _ in range(2):  # both survive a re-extract, and a second one
        result = runner.invoke(app, ["extract", str(source), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "accepted" in result.stderr  # counted apart in the summary
        (again,) = [f for f in read_records(out)[0].findings if f.code == IDENTITY]
        assert again.accepted is not None and again.accepted.reason == "源表合计即如此"
        assert check(out) == 0
    assert ReviewSession(out).state(1).status == "clean"


def test_an_acceptance_that_no_longer_applies_is_reported(extracted) -> None:
    source, out = extracted
    session = ReviewSession(out, reviewer="li")
    session.accept(1, index_of(session, 1, IDENTITY), IDENTITY, "源表如此")
    # then the reviewer corrects a part after all: the sum the acceptance was about is gone
    session.edit(1, "funding.annual_other", "5,800,000.00")
    state = session.state(1)
    assert IDENTITY not in codes(state.record.findings)
    assert any("no longer raised" in why for _, why in state.stale)
    said = extract_again(source, out)
    assert "1 applied, 1 no longer apply" in said and "no longer raised" in said
    assert not read_records(out)[0].meta.get("accepted")


def test_withdrawing_an_acceptance_flags_the_form_again(extracted) -> None:
    _, out = extracted
    session = ReviewSession(out, reviewer="li")
    index = index_of(session, 1, IDENTITY)
    session.accept(1, index, IDENTITY, "源表如此")
    assert session.state(1).status == "clean"
    assert session.accept(1, index, IDENTITY, None)
    assert session.state(1).status == "errors"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"index": 0, "code": IDENTITY, "reason": "  "}, 400),  # a reason is required
        ({"index": 0, "code": "grounding.ungrounded", "reason": "x"}, 409),  # not what is there
        ({"index": 99, "code": IDENTITY, "reason": "x"}, 409),
        ({"code": IDENTITY, "reason": "x"}, 400),
    ],
)
def test_an_acceptance_names_a_finding_that_is_there_with_a_reason(extracted, body, status):
    _, out = extracted
    session = ReviewSession(out, reviewer="li")
    assert index_of(session, 1, IDENTITY) == 0
    assert client_for(session).post("/form/1/accept", json=body).status_code == status
    assert read_corrections(session.log.path) == []


def test_an_info_finding_is_not_accepted(extracted) -> None:
    _, out = extracted
    session = ReviewSession(out, reviewer="li")
    form = next(
        s.number for s in session.states() if any(f.severity == "info" for f in s.record.findings)
    )
    index = next(
        i for i, f in enumerate(session.state(form).record.findings) if f.severity == "info"
    )
    code = session.state(form).record.findings[index].code
    r = client_for(session).post(
        f"/form/{form}/accept", json={"index": index, "code": code, "reason": "x"}
    )
    assert r.status_code == 400


def test_a_field_set_back_to_what_was_extracted_is_no_longer_a_correction(extracted) -> None:
    _, out = extracted
    session = ReviewSession(out, reviewer="li")
    session.edit(1, "funding.annual_total", "5,900,000.00")
    assert "review.corrected" in codes(session.state(1).record.findings)
    session.edit(1, "funding.annual_total", "5800000")  # the same number as extracted
    record = session.state(1).record
    assert "review.corrected" not in codes(record.findings) and "corrected" not in record.meta
    assert IDENTITY in codes(record.findings)
