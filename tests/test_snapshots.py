"""Every fixture's records, byte for byte, as `structurer extract` writes them (rules backend).

A refactor (the grid index, cheaper cells, serialisation) must leave every record identical; a
change meant to alter what the rules read shows here as a diff of the snapshot files, committed
with the change that explains it. Regenerate them with:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_snapshots.py

Only what differs between checkouts is masked: the absolute path of the fixture and the hash of
the vocabulary (which changes with every spelling added, and is covered by tests/test_vocab.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from structurer.backends import make_backend
from structurer.errors import NoFormsError
from structurer.pipeline import extract_to_file
from structurer.quality.evaluate import discover_cases
from structurer.read import load_document

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
CASES = discover_cases(ROOT / "fixtures")
_VOCAB = re.compile(r'("vocabulary":")[^"]*(")')


def records_text(case: Path, out: Path) -> str:
    source = next(p for p in sorted(case.glob("source.*")) if p.is_file())
    backend = make_backend("rules")
    try:
        document = load_document(source, backend.vocab)
    except NoFormsError:
        return ""  # no form found: the snapshot says so by being empty
    extract_to_file([document], out, backend, jobs=1)
    text = out.read_text(encoding="utf-8")
    text = text.replace(str(source.resolve().parent), "<case>")
    return _VOCAB.sub(r"\1<vocabulary>\2", text)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_records_match_their_snapshot(case: Path, tmp_path: Path) -> None:
    got = records_text(case, tmp_path / "out.jsonl")
    snapshot = SNAPSHOTS / f"{case.name}.jsonl"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(got, encoding="utf-8")
    want = snapshot.read_text(encoding="utf-8")
    for n, (a, b) in enumerate(zip(want.splitlines(), got.splitlines(), strict=False), 1):
        assert a == b, f"form {n} of {case.name} differs from its snapshot"
    assert len(want.splitlines()) == len(got.splitlines())
