"""Malformed JSON Lines for `check`, `export` and `eval` (issue 16, item 10): one line on stderr
naming the file, the line and the field, exit 2, never a traceback; amounts that are strings but
not numbers are findings, not crashes; a gold file's misspelled key is an error, not a silently
dropped field that would make every extractor look wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from structurer.cli import app

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "shanghai-2024"
runner = CliRunner()


def good() -> dict:
    return json.loads((SEED / "gold.jsonl").read_text(encoding="utf-8").splitlines()[0])


def with_funding(**amounts: object) -> str:
    record = good()
    record["funding"].update(amounts)
    return json.dumps(record, ensure_ascii=False)


# the second line of the file; (its text, what the one-line error must say)
BROKEN = {
    "a 5,000-digit integer": ('{"form_index": ' + "9" * 5000 + "}", "number out of range"),
    "3,000-deep nesting": (
        '{"form_index": 1, "meta": {"x": ' + "[" * 3000 + "]" * 3000 + "}}",
        "recursion limit",
    ),
    "a lone surrogate": ('{"form_index": 1, "project_name": "a\\ud800b"}', "hex escape"),
    "a line that is an array": ("[1, 2, 3]", "should be an object"),
    "an amount given as an object": (with_funding(annual_total={"a": 1}), "funding.annual_total"),
    "an indicator name given as a number": (
        '{"form_index": 1, "indicators": [{"name": 7}]}',
        "indicators[0].name",
    ),
    "not JSON at all": ("{form_index: 1", "Invalid JSON"),
}


def records_with(tmp_path: Path, second_line: str) -> Path:
    path = tmp_path / "records.jsonl"
    first = json.dumps(good(), ensure_ascii=False)
    path.write_text(first + "\n" + second_line + "\n", encoding="utf-8")
    return path


def one_line_exit_2(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
@pytest.mark.parametrize("command", ["check", "export"])
def test_a_broken_line_names_its_line_and_field(tmp_path: Path, case: str, command: str) -> None:
    line, says = BROKEN[case]
    path = records_with(tmp_path, line)
    args = ["check", str(path)] if command == "check" else ["export", str(path), "-o", "x.csv"]
    message = one_line_exit_2(args)
    assert f"{path}:2:" in message and says in message


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_eval_names_the_broken_gold_line(tmp_path: Path, case: str) -> None:
    line, says = BROKEN[case]
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "source.md").write_bytes((SEED / "source.md").read_bytes())
    records_with(folder, line).rename(folder / "gold.jsonl")
    message = one_line_exit_2(["eval", str(folder), "--no-history", "--report", str(tmp_path)])
    assert "gold.jsonl:2:" in message and says in message


@pytest.mark.parametrize("amount", ["1e999999999", "NaN", "-Infinity", "9" * 100_000])
def test_an_amount_that_is_no_number_is_a_finding_not_a_crash(tmp_path: Path, amount: str) -> None:
    path = records_with(tmp_path, with_funding(annual_total=amount))
    result = runner.invoke(app, ["check", str(path), "--json", "--source", str(SEED / "source.md")])
    assert result.exit_code == 1, result.output  # an error finding, not a traceback
    forms = json.loads(result.stdout)["forms"]
    assert "funding.amount_unreadable" in {f["code"] for f in forms[1]["findings"]}
    out = tmp_path / "t.xlsx"
    assert runner.invoke(app, ["export", str(path), "-f", "xlsx", "-o", str(out)]).exit_code == 0


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda r: r.update(projct_name="x"), "projct_name"),
        (lambda r: r["funding"].update(anual_total="1.00"), "funding.anual_total"),
        (lambda r: r["indicators"][2].update(nmae="x"), "indicators[2].nmae"),
        (lambda r: r.update(expected_findings=[{"code": "x", "pahts": []}]), "pahts"),
    ],
)
def test_a_misspelled_key_in_gold_is_an_error_naming_it(tmp_path: Path, change, key) -> None:  # type: ignore[no-untyped-def]
    record = good()
    change(record)
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "source.md").write_bytes((SEED / "source.md").read_bytes())
    (folder / "gold.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    message = one_line_exit_2(["eval", str(folder), "--no-history", "--report", str(tmp_path)])
    assert "gold.jsonl:1:" in message and key in message and "unknown key" in message


def test_a_value_holding_a_unicode_line_separator_stays_on_its_line(tmp_path: Path) -> None:
    """JSON writes U+2028 and U+0085 raw; reading lines with splitlines() cut the record there."""
    from structurer.io import read_records, write_records
    from structurer.models import FormRecord

    record = FormRecord.model_validate(good())
    record.annual_goal = "第一段\u2028第二段\x85第三段"
    path = tmp_path / "records.jsonl"
    write_records(path, [record, record])
    assert [r.annual_goal for r in read_records(path)] == [record.annual_goal] * 2
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "source.md").write_bytes((SEED / "source.md").read_bytes())
    path.rename(folder / "gold.jsonl")
    args = ["eval", str(folder), "--no-history", "--report", str(tmp_path / "r")]
    assert runner.invoke(app, args).exit_code in (0, 1)  # scored, not "not JSON"
