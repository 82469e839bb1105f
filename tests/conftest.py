"""Shared test fixtures. Keep additions small and self-contained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from structurer.models import FormRecord

ROOT = Path(__file__).resolve().parents[1]
SEED_CASE = ROOT / "fixtures" / "shanghai-2024"


@pytest.fixture
def seed_source() -> Path:
    return SEED_CASE / "source.md"


@pytest.fixture
def seed_gold() -> list[FormRecord]:
    lines = (SEED_CASE / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [FormRecord.model_validate(json.loads(x)) for x in lines if x.strip()]
