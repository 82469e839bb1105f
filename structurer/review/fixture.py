"""`structurer fixture add`: reviewed forms (corrections applied) -> a new eval case.

The case folder gets `source.md` (UTF-8; only the reviewed forms' chunks when not every form was
reviewed, so source and gold describe the same forms) and `gold.jsonl` with the contract fields
only, plus `expected_findings`: the errors and warnings the reviewer left standing, which the
source itself causes (a genuinely missing target), so an extractor must raise them too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..checks import BACKEND_PREFIXES
from ..errors import StructurerError
from ..io import atomic_write_files
from ..models import FormRecord
from ..read import read_source
from ..read.chunker import split_forms
from .session import FormState, ReviewSession

_CASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # whole name: fullmatch, not `$`
# Not part of a gold record: they describe a run, not the form.
RUN_FIELDS = {"findings", "meta", "source", "backend"}


@dataclass
class FixtureResult:
    folder: Path
    forms: int
    of: int

    def __str__(self) -> str:
        part = "" if self.forms == self.of else f" (the reviewed {self.forms} of {self.of})"
        return f"wrote {self.folder}/source.md and gold.jsonl: {self.forms} forms{part}"


def check_case_name(name: str) -> str:
    if not _CASE.fullmatch(name) or ".." in name:
        raise StructurerError(
            f"bad case name {name!r}: use letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (no paths)"
        )
    return name


def add_fixture(
    records: str | Path,
    source: str | Path,
    name: str,
    *,
    corrections: str | Path | None = None,
    fixtures: str | Path = "fixtures",
    force: bool = False,
) -> FixtureResult:
    folder = Path(fixtures) / check_case_name(name)
    if folder.exists() and not force:
        raise StructurerError(f"{folder} exists; use --force to replace its source and gold")
    session = ReviewSession(records, source, corrections_path=corrections)
    states = session.states()
    reviewed = [s for s in states if s.status == "reviewed"]
    if not reviewed:
        raise StructurerError(
            f"no form of {records} is marked reviewed: mark forms in `structurer review` first"
        )
    text = _source_text(session, reviewed, len(states))
    gold = [_gold_line(s, n) for n, s in enumerate(reviewed, 1)]
    # as a pair: a failure (or --force over a case) never leaves a new source with an old gold
    atomic_write_files(
        {folder / "source.md": text.encode("utf-8"), folder / "gold.jsonl": "".join(gold).encode()}
    )
    return FixtureResult(folder, len(reviewed), len(states))


def _source_text(session: ReviewSession, reviewed: list[FormState], total: int) -> str:
    full = read_source(session.document.path).text  # a PDF/sheet/JSON source: its lines as read
    if len(reviewed) == total:
        return full
    if any(s.chunk is None for s in reviewed):
        raise StructurerError("a reviewed form has no source chunk; cannot cut the source")
    parts = [session.document.title or ""] + [s.chunk.text for s in reviewed if s.chunk]
    text = "\n\n".join(p for p in parts if p) + "\n"
    if len(split_forms(text)[1]) != len(reviewed):  # the cut must re-split into the same forms
        raise StructurerError("the reviewed forms' source does not split back into those forms")
    return text


def _gold_line(state: FormState, index: int) -> str:
    record = state.record
    data = record.model_dump(include=set(FormRecord.model_fields) - RUN_FIELDS)
    data["form_index"] = index
    expected = [
        {"code": f.code, "paths": f.paths}
        for f in record.findings
        if f.severity in ("error", "warning")
        and not f.code.startswith((*BACKEND_PREFIXES, "grounding."))
    ]
    if expected:
        data["expected_findings"] = expected
    return json.dumps(data, ensure_ascii=False) + "\n"
