"""`structurer fixture add`: reviewed forms with their corrections become a new eval case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from structurer.cli import app
from structurer.quality.evaluate import load_case
from structurer.read.chunker import split_forms
from structurer.review.session import ReviewSession

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "shanghai-2024"

pytestmark = pytest.mark.skipif(not (SEED / "gold.jsonl").exists(), reason="seed gold missing")


@pytest.fixture
def reviewed(tmp_path: Path) -> tuple[Path, Path]:
    """Seed gold with two forms reviewed: form 11 (its missing target stays) and form 1, fixed."""
    records = tmp_path / "run.jsonl"
    shutil.copy(SEED / "gold.jsonl", records)
    source = tmp_path / "run.md"
    source.write_bytes((SEED / "source.md").read_bytes().replace(b"\n", b"\r\n"))
    session = ReviewSession(records, source, reviewer="r")
    session.edit(1, "annual_goal", "确保孵化基地安全、稳定运营。")
    session.mark_reviewed(1)
    session.mark_reviewed(11)
    return records, source


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["fixture", "add", *map(str, args)])


def test_reviewed_forms_become_a_case_that_eval_can_load(reviewed, tmp_path) -> None:
    records, source = reviewed
    fixtures = tmp_path / "fixtures"
    result = run(records, "--source", source, "--name", "from-review", "--fixtures", fixtures)
    assert result.exit_code == 0, result.output
    case = load_case(fixtures / "from-review")
    assert [g.project_name for g in case.gold] == [
        "孵化基地运营及创业孵化服务支出",
        "科技成果转化及相关政策服务工作",
    ]
    assert [g.form_index for g in case.gold] == [1, 2]
    assert case.gold[0].annual_goal == "确保孵化基地安全、稳定运营。"  # the correction applied
    line = json.loads((fixtures / "from-review/gold.jsonl").read_text().splitlines()[0])
    assert not {"findings", "meta", "source", "backend"} & set(line)
    codes = [[e.code for e in forms] for forms in case.expected_findings]
    assert codes == [[], ["indicator.missing_target"]]  # what the reviewer left standing
    _, chunks = split_forms(case.source_path.read_text(encoding="utf-8"))
    assert len(chunks) == 2  # the source holds exactly the reviewed forms


def test_an_existing_case_is_kept_unless_forced(reviewed, tmp_path) -> None:
    records, source = reviewed
    args = (records, "--source", source, "--name", "dup", "--fixtures", tmp_path)
    assert run(*args).exit_code == 0
    (tmp_path / "dup" / "gold.jsonl").write_text("mine\n")
    again = run(*args)
    assert again.exit_code == 2 and "--force" in again.output
    assert (tmp_path / "dup" / "gold.jsonl").read_text() == "mine\n"
    assert run(*args, "--force").exit_code == 0
    assert (tmp_path / "dup" / "gold.jsonl").read_text() != "mine\n"


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/b", "..", ".hidden", "", "x" * 80, "x\n"])
def test_unsafe_case_names_are_refused(reviewed, tmp_path, name) -> None:
    records, source = reviewed
    result = run(records, "--source", source, "--name", name, "--fixtures", tmp_path / "f")
    assert result.exit_code == 2 and "bad case name" in result.output
    assert not (tmp_path / "f").exists() and not (tmp_path / "escape").exists()


def test_nothing_reviewed_is_an_error(tmp_path) -> None:
    records = tmp_path / "run.jsonl"
    shutil.copy(SEED / "gold.jsonl", records)
    result = run(records, "--source", SEED / "source.md", "--name", "x", "--fixtures", tmp_path)
    assert result.exit_code == 2 and "marked reviewed" in result.output
    assert not (tmp_path / "x").exists()


def test_a_new_case_gets_case_toml_and_a_notes_stub(reviewed, tmp_path) -> None:
    import tomllib

    from structurer.quality.evaluate import case_info

    records, source = reviewed
    fixtures = tmp_path / "fixtures"
    result = run(records, "--source", source, "--name", "described", "--fixtures", fixtures)
    assert result.exit_code == 0, result.output
    folder = fixtures / "described"
    assert sorted(p.name for p in folder.iterdir()) == [
        "NOTES.md", "case.toml", "gold.jsonl", "source.md"]  # fmt: skip
    info = case_info(folder)
    assert (info["kind"], info["year"], info["forms"]) == ("real", 2024, 2)
    assert info["gate"] == {"forms": "all", "max_silent": 0}
    assert tomllib.loads((SEED / "case.toml").read_text()).keys() >= info.keys() - {"region"}
    notes = (folder / "NOTES.md").read_text(encoding="utf-8")
    assert notes.startswith("# described: labelling notes")
    assert "the 2 reviewed forms of `run.md`" in notes and "TO FILL IN" in notes
    assert "case.toml and NOTES.md" in result.output
    # --force replaces the source and gold, never the notes a person wrote since
    (folder / "NOTES.md").write_text("mine\n", encoding="utf-8")
    again = run(records, "--source", source, "--name", "described", "--fixtures", fixtures,
                "--force")  # fmt: skip
    assert again.exit_code == 0 and (folder / "NOTES.md").read_text() == "mine\n"


def test_a_case_is_never_written_over_its_own_inputs(tmp_path) -> None:
    """Issue 21 item 9: records extracted into the case folder itself, then `fixture add ...
    --name case1 --force` cut source.md from 447 lines to 22 and the records from 13 to 1."""
    fixtures = tmp_path / "fixtures"
    case = fixtures / "case1"
    case.mkdir(parents=True)
    source, records = case / "source.md", case / "gold.jsonl"
    source.write_bytes((SEED / "source.md").read_bytes())
    shutil.copy(SEED / "gold.jsonl", records)
    session = ReviewSession(records, source, reviewer="r")
    session.mark_reviewed(1)
    before = {p.name: p.read_bytes() for p in case.iterdir()}
    for force in ([], ["--force"]):
        args = (records, "--source", source, "--name", "case1", "--fixtures", fixtures, *force)
        result = run(*args)
        assert result.exit_code == 2, result.output
        [line] = result.stderr.splitlines()
        assert "refusing to write over it" in line
        assert {p.name: p.read_bytes() for p in case.iterdir()} == before  # nothing touched
