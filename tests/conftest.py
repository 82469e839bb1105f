"""Shared test fixtures. Keep additions small and self-contained."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from structurer.models import FormRecord

ROOT = Path(__file__).resolve().parents[1]
SEED_CASE = ROOT / "fixtures" / "shanghai-2024"


def read_jsonl(path: Path) -> list[dict]:
    """A JSON Lines file as plain dicts (blank lines skipped)."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.fixture
def seed_source() -> Path:
    return SEED_CASE / "source.md"


@pytest.fixture
def seed_gold() -> list[FormRecord]:
    lines = (SEED_CASE / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [FormRecord.model_validate(json.loads(x)) for x in lines if x.strip()]


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's endpoint, model or key (the openai client reads OPENAI_*)."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "STRUCTURER_")):
            monkeypatch.delenv(name)


def planted_seed_records(folder: Path, annual_total: str = "5800000.00") -> Path:
    """The seed's gold as a records file with one planted fault: form 1's 年度资金申请总额 (in
    truth 5900000.00 = 0 + 0 + 5900000.00) set to `annual_total`, breaking its identity."""
    lines = (SEED_CASE / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["funding"]["annual_total"] = annual_total
    lines[0] = json.dumps(first, ensure_ascii=False)
    path = folder / "seed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def gap(folder: Path, what: str) -> str | None:
    """Why a case does not meet `what` yet (its case.toml `[gaps]`), None when it should."""
    from structurer.quality.evaluate import case_info

    why = (case_info(folder).get("gaps") or {}).get(what)
    return str(why) if why else None


def expect_gap(request: pytest.FixtureRequest, folder: Path, what: str) -> None:
    """Mark the running test an expected failure for a case with that gap: strict, so a gap
    that closes fails the test until the case.toml says so."""
    if why := gap(folder, what):
        request.applymarker(pytest.mark.xfail(reason=why, strict=True))


def readable_case(folder: Path) -> bool:
    """A fixture whose layout keeps its cells apart: not a real PDF or its text layer (wrapped
    cells interleave in a text layer; a real PDF's template may be one the rules do not read
    fully), nor text whose labels run into their values (no cell edges at all). The checker and
    the rules' shadow are held to these."""
    from structurer.quality.evaluate import case_info

    info = case_info(folder)
    pdf = info.get("layout") in ("pdf-text", "run-together") or (
        info.get("kind") == "real" and info.get("layout") == "pdf"
    )
    return (folder / "gold.jsonl").is_file() and not pdf
