"""What the pages show: the source grid, the record's fields with their findings and source cells.

Plain data for the templates; no web framework here. A field's source cell comes from
`record.source.cells`; when the extractor left none (gold, LLM records), the cell whose text means
the same value is searched, preferring the row of the field's label or indicator name. A field's
label is the form's own label for it, in its own column (the label left of its cell, else one that
names only this field, else the one on its side of the funding block), else the vocabulary's.
Findings carry their message in the page's language (messages.py) and their place in the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..models import (
    AMOUNT_FIELDS,
    ANNUAL_AMOUNTS,
    GOAL_FIELDS,
    HEADER_FIELDS,
    PROJECT_AMOUNTS,
    Cell,
    Finding,
    FormRecord,
    Grid,
)
from ..read.clean import squash
from ..read.layouts import chunk_grid
from ..read.values import amount_value, clean_target, parse_amount, parse_date
from ..vocab import Vocabulary, resolve
from .corrections import INDICATOR_FIELDS
from .messages import DEFAULT_LANG, Lang, messages
from .session import FormState

HEADER = (*HEADER_FIELDS, "year")
FUNDING_PROJECT = tuple(f"funding.{f}" for f in PROJECT_AMOUNTS)
FUNDING_ANNUAL = tuple(f"funding.{f}" for f in ANNUAL_AMOUNTS)
# the funding block's rows as the form prints them: project column | year column
FUNDING_ROWS = (
    ("funding.project_total", "funding.annual_total"),
    ("funding.project_fiscal", "funding.current_appropriation"),
    (None, "funding.prior_carryover"),
    ("funding.project_other", "funding.annual_other"),
)
_DERIVED = re.compile(r"^(indicators\[\d+\])\.(?:op|value|unit)$")


@dataclass
class FindingView:
    index: int  # its place in record.findings: how the page names it to accept it
    finding: Finding
    text: str  # the message, in the page's language
    at: str = ""  # the label of the field that shows it (for the other fields it marks)

    @property
    def open(self) -> bool:
        """A warning or error not accepted: it flags the form."""
        return self.finding.severity != "info" and self.finding.accepted is None


@dataclass
class FieldView:
    path: str
    label: str
    value: str
    kind: str = "text"  # text | amount | date | long
    cell: tuple[int, int] | None = None
    findings: list[FindingView] = field(default_factory=list)  # shown with their message here
    marks: list[FindingView] = field(default_factory=list)  # involved, message shown elsewhere

    @property
    def severity(self) -> str | None:
        sev = {f.finding.severity for f in self.findings + self.marks if f.open}
        sev |= {"info" for f in self.findings + self.marks if not f.open}
        return next((s for s in ("error", "warning", "info") if s in sev), None)


@dataclass
class IndicatorView:
    index: int
    fields: list[FieldView]
    derived: str  # op / value / unit parsed from the target
    findings: list[FindingView] = field(default_factory=list)


@dataclass
class FormView:
    state: FormState
    header: list[FieldView]
    unit: FieldView
    funding: list[tuple[FieldView | None, FieldView]]  # rows: project column | year column
    goals: list[FieldView]
    indicators: list[IndicatorView]
    general: list[FindingView]  # findings on no shown field
    grid: list[list[Cell | None]]
    width: int
    columns: list[str]  # the indicator table's column names

    @property
    def project(self) -> list[FieldView]:
        """The whole-project column's fields."""
        return [p for p, _ in self.funding if p is not None]

    @property
    def annual(self) -> list[FieldView]:
        """The year column's fields."""
        return [a for _, a in self.funding]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def build_form(
    state: FormState, vocab: Vocabulary | None = None, lang: Lang = DEFAULT_LANG
) -> FormView:
    vocab = resolve(vocab)
    record = state.record
    chunk = state.chunk
    grid = chunk_grid(chunk, vocab) if chunk else Grid()
    cells = locate_cells(record, grid, vocab)
    labels = form_labels(grid, vocab, cells)

    def fv(path: str, value: Any, kind: str = "text", label: str | None = None) -> FieldView:
        shown = label or labels.get(path) or vocab.display(path)
        return FieldView(path, shown, _text(value), kind, cells.get(path))

    header = [fv(k, getattr(record, k), "date" if k.endswith("_date") else "text") for k in HEADER]
    amounts = {p: fv(p, _get(record, p), "amount") for p in (*FUNDING_PROJECT, *FUNDING_ANNUAL)}
    funding = [(amounts[a] if a else None, amounts[b]) for a, b in FUNDING_ROWS]
    goals = [fv(k, getattr(record, k), "long") for k in GOAL_FIELDS]
    indicators = [
        IndicatorView(
            i,
            [
                fv(f"indicators[{i}].{k}", getattr(ind, k), label=vocab.display(k))
                for k in INDICATOR_FIELDS
            ],
            " ".join(x for x in (ind.op, ind.value, ind.unit) if x),
        )
        for i, ind in enumerate(record.indicators)
    ]
    unit = fv("funding.unit", record.funding.unit)
    fields = [*header, unit, *amounts.values(), *goals, *(f for r in indicators for f in r.fields)]
    table = messages()
    shown = [
        FindingView(n, f, table.finding(f, lang, vocab)) for n, f in enumerate(record.findings)
    ]
    general = _attach(shown, fields, indicators)
    width = max((len(r) for r in grid.rows), default=0)
    rows = [[*r, *[None] * (width - len(r))] for r in grid.rows]
    columns = [vocab.display(k) for k in INDICATOR_FIELDS]
    return FormView(state, header, unit, funding, goals, indicators, general, rows, width, columns)


def _attach(
    findings: list[FindingView], fields: list[FieldView], rows: list[IndicatorView]
) -> list[FindingView]:
    """Put each finding on its first field (message) and mark its other fields; return the rest."""
    by_path = {f.path: f for f in fields}
    by_row = {f"indicators[{r.index}]": r for r in rows}
    general = []
    for finding in findings:
        anchors = []
        for p in finding.finding.paths:
            m = _DERIVED.match(p)
            p = f"{m[1]}.target" if m else p
            if p in by_path and by_path[p] not in anchors:
                anchors.append(by_path[p])
        if anchors:
            anchors[0].findings.append(finding)
            finding.at = anchors[0].label
            for a in anchors[1:]:
                a.marks.append(finding)
        elif finding.finding.paths and finding.finding.paths[0] in by_row:
            by_row[finding.finding.paths[0]].findings.append(finding)
        else:
            general.append(finding)
    return general


# --- finding the source cell of a field ---


def _get(record: FormRecord, path: str) -> Any:
    return getattr(record.funding, path.removeprefix("funding."))


def form_labels(
    grid: Grid, vocab: Vocabulary, cells: dict[str, tuple[int, int]] | None = None
) -> dict[str, str]:
    """Each field's label as this form prints it, so the reviewer sees the form's own words
    whichever province's spelling it uses. A label printed for two fields (the whole-project
    column's fiscal-funds label is a spelling of this year's appropriation too) is taken for the
    field in its own column: the nearest label left of the field's cell, else a
    label that names only this field, else the leftmost (project column) or rightmost (year
    column) of the first row that names it."""
    named: dict[str, list[Cell]] = {}
    for row in grid.rows:
        for cell in row:
            for path in vocab.fields_of(cell.text):
                named.setdefault(path, []).append(cell)
    return {path: _own_label(path, found, vocab, (cells or {}).get(path)).text.replace("\n", "")
            for path, found in named.items()}  # fmt: skip


def _own_label(path: str, found: list[Cell], vocab: Vocabulary, at: tuple[int, int] | None) -> Cell:
    if at is not None:
        left = [c for c in found if c.line == at[0] and c.col < at[1]]
        if left:
            return max(left, key=lambda c: c.col)
    only = [c for c in found if vocab.fields_of(c.text) == (path,)]
    if only:
        return only[0]
    first = [c for c in found if c.line == found[0].line]
    annual = path.removeprefix("funding.") in ANNUAL_AMOUNTS
    return max(first, key=lambda c: c.col) if annual else min(first, key=lambda c: c.col)


def locate_cells(
    record: FormRecord, grid: Grid, vocab: Vocabulary | None = None
) -> dict[str, tuple[int, int]]:
    vocab = resolve(vocab)
    found = {p: (c.line, c.col) for p, c in (record.source.cells if record.source else {}).items()}
    cells = [c for row in grid.rows for c in row if c.text and not c.merged]
    for path, value in _values(record):
        if path not in found and value not in (None, ""):
            cell = _search(cells, path, value, _hint_lines(cells, record, path, vocab))
            if cell:
                found[path] = (cell.line, cell.col)
    return found


def _values(record: FormRecord) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [(k, getattr(record, k)) for k in (*HEADER, *GOAL_FIELDS)]
    out += [(f"funding.{k}", getattr(record.funding, k)) for k in AMOUNT_FIELDS]
    for i, ind in enumerate(record.indicators):
        out += [(f"indicators[{i}].{k}", getattr(ind, k)) for k in INDICATOR_FIELDS]
    return out


def _matcher(path: str, value: Any) -> Callable[[str], bool]:
    want = str(value)
    if path.startswith("funding."):
        number = amount_value(want)
        return lambda t: number is not None and _amount(t) == number
    if path.endswith("_date"):
        return lambda t: parse_date(t) == want
    if path.endswith(".target"):
        return lambda t: clean_target(t) == want
    key = squash(want)
    return lambda t: squash(t) == key or (len(key) >= 6 and key in squash(t))


def _amount(text: str) -> Any:
    try:
        return amount_value(parse_amount(text)[0])
    except ValueError:
        return None


def _search(cells: list[Cell], path: str, value: Any, near: list[int]) -> Cell | None:
    match = _matcher(path, value)
    hits = [c for c in cells if match(c.text)]
    if not hits:
        return None
    for line in near:  # the label's / indicator's own row first, then the rows above it
        same = [c for c in hits if c.line == line]
        if same:
            return same[-1] if path.endswith("_other") else same[0]
    return hits[0]


def _hint_lines(cells: list[Cell], record: FormRecord, path: str, vocab: Vocabulary) -> list[int]:
    """The rows that hold the field's label (for an indicator: its name's row)."""
    m = re.match(r"^indicators\[(\d+)\]\.", path)
    if m:
        return _indicator_lines(cells, record, int(m[1]))
    return sorted({c.line for c in cells if path in vocab.fields_of(c.text)})


def _indicator_lines(cells: list[Cell], record: FormRecord, i: int) -> list[int]:
    """The row of indicator i's name (the k-th cell of that name), then the rows above it."""
    name = record.indicators[i].name
    if not name:
        return []
    k = sum(1 for ind in record.indicators[:i] if ind.name == name)
    rows = [c.line for c in cells if squash(c.text) == squash(name)]
    if k >= len(rows):
        return []
    return sorted({line for line in (c.line for c in cells) if line <= rows[k]}, reverse=True)
