"""`structurer fixture add`: reviewed forms (corrections applied) -> a new eval case.

The case folder gets `source.md` (UTF-8; only the reviewed forms' chunks when not every form was
reviewed, so source and gold describe the same forms) and `gold.jsonl` with the contract fields
only, plus `expected_findings`: the errors and warnings the reviewer left standing, which the
source itself causes (a genuinely missing target), so an extractor must raise them too. Like
every case it also gets `case.toml` (what it is, what CI holds it to) and a `NOTES.md` stub to
fill in; those two are written only where missing: `--force` replaces the source and gold, never
a person's notes. No file of the case may be one of the command's inputs (the records, the
source, the corrections log): that is refused before anything is read, `--force` or not.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import BACKEND_PREFIXES
from ..errors import StructurerError
from ..io import atomic_write_files, check_output
from ..models import FormRecord
from ..read import read_source
from ..read.chunker import split_forms
from .log import corrections_path_for
from .session import FormState, ReviewSession

_CASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # whole name: fullmatch, not `$`
# Not part of a gold record: they describe a run, not the form.
RUN_FIELDS = {"findings", "meta", "source", "backend"}


CASE_FILES = ("source.md", "gold.jsonl", "case.toml", "NOTES.md")


@dataclass
class FixtureResult:
    folder: Path
    forms: int
    of: int
    written: list[str] = field(default_factory=lambda: ["source.md", "gold.jsonl"])

    def __str__(self) -> str:
        part = "" if self.forms == self.of else f" (the reviewed {self.forms} of {self.of})"
        files = ", ".join(self.written[:-1]) + f" and {self.written[-1]}"
        return f"wrote {self.folder}/{files}: {self.forms} forms{part}"


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
    inputs = [Path(records), Path(source), Path(corrections or corrections_path_for(records))]
    for target in CASE_FILES:  # first: --force or not, a case is never written over its inputs
        check_output(folder / target, inputs)
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
    files = {
        folder / "source.md": text.encode("utf-8"),
        folder / "gold.jsonl": "".join(gold).encode(),
    }
    described = {
        "case.toml": _case_toml(reviewed, Path(source).name),
        "NOTES.md": _notes(name, reviewed, len(states), Path(source), Path(records)),
    }
    files.update({folder / f: t.encode("utf-8") for f, t in described.items()
                  if not (folder / f).exists()})  # fmt: skip
    # together: a failure (or --force over a case) never leaves a new source with an old gold
    atomic_write_files(files, inputs=inputs)
    return FixtureResult(folder, len(reviewed), len(states), [p.name for p in files])


def _case_toml(reviewed: list[FormState], source: str) -> str:
    """What the case is, as every case says it, and a first gate: every form found, and no
    wrong record without an error finding."""
    layouts = Counter(str(s.record.meta.get("layout") or "?") for s in reviewed)
    years = Counter(s.record.year for s in reviewed if s.record.year)
    lines = [
        "# What this case is, for the eval report (real vs synthetic, per layout).",
        f"# Written by `structurer fixture add` from the reviewed forms of {json.dumps(source)}:",
        '# check each line, and add region = "...".',
        'kind = "real"',
        f"layout = {json.dumps(layouts.most_common(1)[0][0])}",
        *([f"year = {years.most_common(1)[0][0]}"] if years else []),
        f"forms = {len(reviewed)}",
        "",
        "# What CI holds this case to (structurer eval --gate); raise it (min_fields, min_f1,",
        "# min_goals, findings) once the extractor reads this case as it should.",
        "[gate]",
        'forms = "all"',
        "max_silent = 0",
    ]
    return "\n".join(lines) + "\n"


def _notes(name: str, reviewed: list[FormState], total: int, source: Path, records: Path) -> str:
    part = f"all {total} forms" if len(reviewed) == total else f"the {len(reviewed)} reviewed forms"
    fixes = sum(s.fixes for s in reviewed)
    return f"""# {name}: labelling notes

Source: `source.md`, {part} of `{source.name}` as structurer read it (its text, in UTF-8).
Gold: `gold.jsonl`, the reviewed records of `{records.name}` with the reviewers' {fixes}
corrections applied, cut to the record contract; `expected_findings` are the errors and warnings
the reviewer left standing (the source itself causes them).

## Where it came from

TO FILL IN: who published the document, where (the address) and when it was fetched; the OCR
tool and its version, if one made the text.

## Decisions

TO FILL IN: every labelling decision a reader of the gold would otherwise have to guess.
"""


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
