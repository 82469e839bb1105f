"""The Python API (issue 23, item 6): extract_text and extract_file return validated records, and
the README's example runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, SEED_CASE, read_jsonl

import structurer
from structurer.errors import InputError, NoFormsError


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


def test_the_readme_example_runs_as_printed(monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)  # its paths are the checkout's
    names: dict = {}
    exec(compile(readme_example(), "README.md (Python API)", "exec"), names)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "13 孵化基地运营及创业孵化服务支出 5900000.00"
    assert printed[1] == "text.md: no project performance-target form found in this document"
    assert all(isinstance(r, structurer.FormRecord) for r in names["records"])
    assert names["errors"] == []


def test_the_records_are_what_extract_writes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from structurer.cli import app

    out = tmp_path / "out.jsonl"
    assert CliRunner().invoke(app, ["extract", str(SEED_CASE / "source.md"), "-o", str(out),
                                    "-b", "rules"]).exit_code == 0  # fmt: skip
    written = read_jsonl(out)
    from_file = structurer.extract_file(SEED_CASE / "source.md")
    from_text = structurer.extract_text((SEED_CASE / "source.md").read_text(encoding="utf-8"),
                                        name="source.md")  # fmt: skip

    def same(record: dict) -> dict:
        record = {k: v for k, v in record.items() if k != "meta"}
        return {**record, "source": {**record["source"], "path": None}}  # a string has no path

    for records in (from_file, from_text):
        assert [same(r.model_dump(mode="json")) for r in records] == [same(w) for w in written]
    assert from_text[0].source is not None and from_text[0].source.path is None


def test_bad_input_raises_the_package_errors(tmp_path: Path) -> None:
    with pytest.raises(NoFormsError, match=r"^notes\.md: no project"):
        structurer.extract_text("# 汇总表\n没有表格\n", name="notes.md")
    with pytest.raises(InputError, match="no such file"):
        structurer.extract_file(tmp_path / "missing.md")
    with pytest.raises(structurer.StructurerError, match="unknown backend"):
        structurer.extract_text("x", backend="nope")
