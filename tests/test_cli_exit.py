"""Exit status (issue 23, item 2): `extract --fail-on error|warning|never` says which findings make
the run exit 1; the default, never, keeps what extract did before (exit 1 only for a form that
failed or a document passed over with an error); the README states it all in one table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, SEED_CASE
from typer.testing import CliRunner

from structurer.cli import app

runner = CliRunner()


@pytest.fixture
def one_error(tmp_path: Path) -> Path:
    """The seed with form 1's 年度资金申请总额 off by 100,000: one funding error, one warning."""
    text = (SEED_CASE / "source.md").read_text(encoding="utf-8").split("\n")
    text[12] = text[12].replace("5,900,000.00", "5,800,000.00")
    path = tmp_path / "one-error.md"
    path.write_text("\n".join(text), encoding="utf-8")
    return path


def extract(source: Path, out: Path, *extra: str) -> int:
    result = runner.invoke(app, ["extract", str(source), "-o", str(out), "-b", "rules", *extra])
    return result.exit_code


@pytest.mark.parametrize(
    ("fail_on", "seed", "with_error"),
    [
        ([], 0, 0),  # the default: findings never fail the run, as before --fail-on
        (["--fail-on", "never"], 0, 0),
        (["--fail-on", "error"], 0, 1),  # what `check` does with the same records
        (["--fail-on", "warning"], 1, 1),  # the seed has one warning
    ],
)
def test_fail_on_decides_which_findings_exit_1(
    tmp_path: Path, one_error: Path, fail_on: list[str], seed: int, with_error: int
) -> None:
    assert extract(SEED_CASE / "source.md", tmp_path / "a.jsonl", *fail_on) == seed
    assert extract(one_error, tmp_path / "b.jsonl", *fail_on) == with_error


def test_fail_on_error_agrees_with_check(tmp_path: Path, one_error: Path) -> None:
    out = tmp_path / "out.jsonl"
    code = extract(one_error, out, "--fail-on", "error")
    assert runner.invoke(app, ["check", str(out)]).exit_code == code == 1


def test_the_default_is_stated_in_help() -> None:
    text = " ".join(runner.invoke(app, ["extract", "--help"]).stdout.split())
    assert "--fail-on [error|warning|never]" in text or "[default: never]" in text


def test_the_readme_has_one_exit_status_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tables = re.findall(r"^\| exit \|.*$", readme, flags=re.M)
    assert len(tables) == 1
    section = readme[readme.index(tables[0]) :].split("\n\n", 1)[0]
    for code in ("0", "1", "2", "3", "130", "141"):
        assert re.search(rf"^\| {code} \|", section, flags=re.M), code
    assert "--fail-on" in section
