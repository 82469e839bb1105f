"""Evaluate a backend on labelled cases: load fixtures, extract, score, report, compare, record.

A case is a folder holding `source.*` (an OCR document) and `gold.jsonl` (one hand-labelled record
per form, optionally with `expected_findings: [{"code": ..., "paths": [...]}]`), and optionally
`case.toml` saying what the case is (`kind = "real" | "synthetic"`, `layout`, `region`): the report
scores real and synthetic cases separately and per layout. Scoring itself is in `scoring.py`,
the gates in `gates.py`, comparing two reports in `compare.py`, report.md in `report_md.py`, the
matrix of configurations in `matrix.py`; this module does the I/O around a run.
"""

from __future__ import annotations

import json
import subprocess
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InputError, NoFormsError, RecordsError, StructurerError
from ..io import (
    atomic_write_text,
    describe,
    load_json,
    read_bytes,
    read_records,
    read_text,
    unknown_keys,
)
from ..models import Finding, FormRecord
from .compare import Change
from .report_md import render_markdown
from .scoring import CaseScore, ExpectedFinding, pair_forms, score_case

HEADLINE = (
    "forms_found",
    "forms_expected",
    "forms_extra",
    "field_accuracy",
    "goal_mean",
    "goal_worst",
    "indicator_precision",
    "indicator_recall",
    "indicator_f1",
    "level1_accuracy",
    "level2_accuracy",
    "target_accuracy",
    "findings_raised",
    "findings_expected",
    "unexpected_errors",
    "forms_wrong",
    "silent_errors",
    "silent_error_rate",
    "values_wrong",
    "unflagged_wrong_values",
    "errors_on_gold",
)
# Per group (real / synthetic) in the history line.
GROUP_HEADLINE = (
    "forms_found",
    "forms_expected",
    "field_accuracy",
    "indicator_f1",
    "silent_errors",
    "silent_error_rate",
    "unflagged_wrong_values",
    "errors_on_gold",
)


FIRST_CONTACT = "first-contact.jsonl"


@dataclass
class Case:
    name: str
    source_path: Path
    gold: list[FormRecord]
    expected_findings: list[list[ExpectedFinding]]
    kind: str = "real"  # real (found in public, labelled by hand) or synthetic (written by us)
    layout: str = "?"  # how the document prints its tables: pipe, cell-per-line, pdf-text...
    gate: dict[str, Any] = field(default_factory=dict)  # what CI holds the case to
    origin: str = ""  # its document: case.toml generated_from or same_document_as, else its name
    # What the rules read when the case was first seen (first-contact.jsonl: the records, with
    # their findings, of the rules as they were before any rule was changed for it), or None.
    first_contact: list[FormRecord] | None = None


def load_case(directory: str | Path) -> Case:
    """Read a case folder; InputError when a file is missing, RecordsError for a bad gold line."""
    folder = Path(directory)
    gold_path = folder / "gold.jsonl"
    if not gold_path.is_file():
        raise InputError(str(folder), "no gold.jsonl: not an eval case")
    sources = sorted(p for p in folder.glob("source.*") if p.is_file())
    if not sources:
        raise InputError(str(folder), "no source.* document next to gold.jsonl")
    gold, expected = _read_gold(gold_path)
    info = case_info(folder)
    kind = str(info.get("kind") or ("synthetic" if folder.name.startswith("synthetic") else "real"))
    layout, gate = str(info.get("layout", "?")), dict(info.get("gate") or {})
    origin = str(info.get("generated_from") or info.get("same_document_as") or folder.name)
    first_contact = _first_contact(folder / FIRST_CONTACT)
    return Case(folder.name, sources[0], gold, expected, kind, layout, gate, origin, first_contact)


def _first_contact(path: Path) -> list[FormRecord] | None:
    """The first-contact records; an empty file is a first contact that found no form."""
    if not path.is_file():
        return None
    return read_records(path) if read_bytes(path).strip() else []


def case_info(folder: Path) -> dict[str, Any]:
    path = folder / "case.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(str(path), f"not a case description: {exc}") from None


def _read_gold(path: Path) -> tuple[list[FormRecord], list[list[ExpectedFinding]]]:
    """Gold records and their expected findings. A key the contract does not know is an error
    naming the line and the key: a misspelled key would be dropped, and every extractor would
    then look wrong on that field."""
    text, _ = read_text(path)
    gold, expected = [], []
    for n, line in enumerate(text.split("\n"), 1):  # not splitlines(): see io.read_records
        if not line.strip():
            continue
        data = load_json(line, str(path), n)
        if not isinstance(data, dict):
            raise RecordsError(str(path), n, "not a gold record: Input should be an object")
        expected.append(_expected_findings(data.pop("expected_findings", None), str(path), n))
        if unknown := unknown_keys(data, FormRecord):
            raise RecordsError(str(path), n, f"unknown key {unknown[0]!r} in a gold record")
        try:
            gold.append(FormRecord.model_validate(data))
        except ValidationError as exc:
            raise RecordsError(str(path), n, f"not a gold record: {describe(exc)}") from None
    return gold, expected


def _expected_findings(raw: Any, path: str, n: int) -> list[ExpectedFinding]:
    """`expected_findings: [{"code": ..., "paths": [...]}]`, checked as strictly as the record."""
    if raw is None:
        return []
    found = []
    for k, item in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"expected_findings[{k}]"
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise RecordsError(path, n, f"{where}: expected {{'code': ..., 'paths': [...]}}")
        if unknown := sorted(set(item) - {"code", "paths"}):
            raise RecordsError(path, n, f"unknown key {where}.{unknown[0]!r} in a gold record")
        paths = item.get("paths") or []
        if not isinstance(paths, list) or not all(isinstance(x, str) for x in paths):
            raise RecordsError(path, n, f"{where}.paths: expected a list of field paths")
        found.append(ExpectedFinding(item["code"], tuple(paths)))
    return found


def find_cases(folders: Sequence[Path] | None, root: Path | None) -> list[Path]:
    """The case folders named, else every case under `root`, else under the default root
    (`default_cases_root`). StructurerError when there is none."""
    if folders:
        return list(folders)
    base = root or default_cases_root()
    found = discover_cases(base) if base else []
    if not found:
        where = f"under {base}/" if base else "in ./fixtures or a structurer checkout"
        raise StructurerError(
            f"no eval cases (folders with a gold.jsonl) {where}: pass --cases DIR"
        )
    return found


def default_cases_root(cwd: Path | None = None) -> Path | None:
    """./fixtures when it holds cases, else the fixtures/ of the checkout this package runs from
    (so `eval` works from any folder), else None (an installed wheel carries no fixtures)."""
    here = (cwd or Path.cwd()) / "fixtures"
    checkout = Path(__file__).resolve().parents[2] / "fixtures"
    return next((p for p in (here, checkout) if discover_cases(p)), None)


def discover_cases(root: str | Path = "fixtures") -> list[Path]:
    """Every folder under `root` that holds a gold.jsonl, sorted by name."""
    base = Path(root)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if (p / "gold.jsonl").is_file())


def run_case(case: Case, backend: Any, document: Any = None) -> CaseScore:
    """Extract the case's source with `backend` (no journal) and score it against the gold;
    `document`: the source already loaded (`load_source`), for runs that score it many times."""
    from ..pipeline import extract_documents, vocab_of

    started = time.perf_counter()
    vocab = vocab_of(backend)
    if document is None:
        document = load_source(case, vocab)
    if document is None:  # every gold form is missing: scored, not a crash of the eval
        records, doc_findings = [], []
    else:
        result = extract_documents([document], backend)
        records, doc_findings = result.records, result.document_findings.get(document.path, [])
    score = score_case(
        case.name,
        case.gold,
        records,
        expected=case.expected_findings,
        document_findings=doc_findings,
        gold_findings=check_gold(case.gold, records, document, vocab),
    )
    score.seconds = time.perf_counter() - started
    score.kind, score.layout, score.origin = case.kind, case.layout, case.origin
    if case.first_contact is not None:
        # The checker of that day is gone, so errors on gold are not re-scored: the
        # first-contact score counts forms, values and what the records' own findings named.
        score.first_contact = score_case(
            case.name, case.gold, case.first_contact, expected=case.expected_findings
        )
    return score


def load_source(case: Case, vocab: Any) -> Any:
    """The case's source document, None when no form is found in it."""
    from ..read import load_document

    try:
        return load_document(case.source_path, vocab)
    except NoFormsError:
        return None


def check_gold(
    gold: list[FormRecord], records: list[FormRecord], document: Any, vocab: Any
) -> list[list[Finding]]:
    """The checker's findings on each gold record, checked against its own form in the source:
    the chunk its extracted partner was read from, else the chunk of its form number. A gold form
    whose chunk was not found is checked without the source (arithmetic and hierarchy only)."""
    from ..checks import check_record
    from ..read.layouts import chunk_grid

    chunks = {c.index: c for c in document.chunks} if document is not None else {}

    partner = dict(pair_forms(gold, records)[0])
    out = []
    for gi, record in enumerate(gold):
        src = records[partner[gi]].source if gi in partner else None
        own = [c for c in chunks.values() if src and c.is_source_of(src)]
        chunk = own[0] if own else chunks.get(record.form_index)
        copy = record.model_copy(deep=True)
        if chunk is None:
            out.append(check_record(copy, vocab=vocab))
            continue
        grid = chunk_grid(chunk, vocab)
        title = document.title
        out.append(check_record(copy, source_text=chunk.text, title=title, vocab=vocab, grid=grid))
    return out


@dataclass
class EvalReport:
    backend: str
    model: str | None
    cases: list[CaseScore]
    date: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    commit: str | None = field(default_factory=lambda: git_commit())

    def overall(self) -> CaseScore:
        return self._total("overall", self.cases)

    def groups(self) -> dict[str, CaseScore]:
        """Real and synthetic cases apart, then each layout: `real`, `synthetic`, `layout:pdf-text`."""
        keys = sorted({c.kind for c in self.cases}) + sorted(
            f"layout:{c.layout}" for c in self.cases
        )
        return {
            key: self._total(key, [c for c in self.cases if key in (c.kind, f"layout:{c.layout}")])
            for key in dict.fromkeys(keys)
        }

    def by_layout(self) -> dict[str, dict[str, CaseScore]]:
        """Each layout's real and synthetic cases apart: the README's layouts table."""
        out: dict[str, dict[str, CaseScore]] = {}
        for layout in sorted({c.layout for c in self.cases}):
            cases = [c for c in self.cases if c.layout == layout]
            out[layout] = {
                kind: self._total(f"{kind} {layout}", [c for c in cases if c.kind == kind])
                for kind in sorted({c.kind for c in cases})
            }
        return out

    @staticmethod
    def _total(name: str, cases: list[CaseScore]) -> CaseScore:
        total = CaseScore(name)
        for case in cases:
            total.add(case)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "commit": self.commit,
            "backend": self.backend,
            "model": self.model,
            "overall": self.overall().metrics(),
            "groups": {k: g.metrics() for k, g in self.groups().items()},
            "layouts": {
                layout: {kind: g.metrics() for kind, g in kinds.items()}
                for layout, kinds in self.by_layout().items()
            },
            "field_errors": self.overall().field_errors(),
            "first_contact": self.first_contact(),
            "cases": [c.to_dict() for c in self.cases],
        }

    def first_contact(self) -> dict[str, Any] | None:
        """The cases with a first-contact record: their totals then and now, side by side."""
        seen = [c for c in self.cases if c.first_contact is not None]
        if not seen:
            return None
        then = self._total("first contact", [c.first_contact for c in seen if c.first_contact])
        now = self._total("now", seen)
        return {"cases": len(seen), "then": then.metrics(), "now": now.metrics()}


def git_commit(cwd: str | Path | None = None) -> str | None:
    """Short hash of HEAD (with `+dirty` when the tree has changes), None outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head or None


# --- writing ---


def write_reports(
    report: EvalReport, directory: str | Path, changes: Sequence[Change] | None = None
) -> tuple[Path, Path]:
    """Write report.json and report.md into `directory`; returns their paths."""
    folder = Path(directory)
    data = report.to_dict()
    if changes is not None:
        data["changes"] = [c.__dict__ for c in changes]
    json_path, md_path = folder / "report.json", folder / "report.md"
    atomic_write_text(json_path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(md_path, render_markdown(data))
    return json_path, md_path


def history_line(report: EvalReport) -> dict[str, Any]:
    overall = report.overall().metrics()
    line = {"date": report.date, "commit": report.commit, "backend": report.backend}
    line["model"] = report.model
    line["cases"] = len(report.cases)
    line.update({k: overall.get(k) for k in HEADLINE})
    for key, group in report.groups().items():
        if not key.startswith("layout:"):
            metrics = group.metrics()
            line[key] = {k: metrics.get(k) for k in GROUP_HEADLINE}
    for key in ("calls", "prompt_tokens", "completion_tokens", "cache_hits"):
        if key in overall:
            line[key] = overall[key]
    return line


def append_history(report: EvalReport, path: str | Path) -> None:
    append_jsonl(history_line(report), path)


def append_jsonl(line: dict[str, Any], path: str | Path) -> None:
    """One JSON line appended to `path` (its folder made if need be)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")
