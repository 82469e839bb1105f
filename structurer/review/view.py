"""What the pages show: the source grid, the record's fields with their findings and source cells.

Plain data for the templates; no web framework here. A field's source cell comes from
`record.source.cells`; when the extractor left none (gold, LLM records), the cell whose text means
the same value is searched, preferring the row of the field's label or indicator name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..clean import amount_value, parse_amount, parse_date, squash
from ..corrections import INDICATOR_FIELDS
from ..models import Cell, Finding, FormRecord, Grid
from ..tables import read_grid
from ..targets import clean_target
from .session import FormState

HEADER = (
    ("project_name", "项目名称"),
    ("project_nature", "项目性质"),
    ("project_category", "项目类别"),
    ("department", "主管部门"),
    ("implementing_unit", "实施单位"),
    ("start_date", "计划开始日期"),
    ("end_date", "计划完成日期"),
    ("year", "年度"),
)
FUNDING_PROJECT = (
    ("project_total", "项目资金总额"),
    ("project_fiscal", "其中：财政资金"),
    ("project_other", "其他资金"),
)
FUNDING_ANNUAL = (
    ("annual_total", "年度资金申请总额"),
    ("current_appropriation", "其中：当年财政拨款"),
    ("prior_carryover", "上年结转资金"),
    ("annual_other", "其他资金"),
)
GOALS = (("overall_goal", "项目总目标"), ("annual_goal", "年度总体目标"))
IND_LABELS = {"level1": "一级指标", "level2": "二级指标", "name": "三级指标", "target": "指标值"}
# Text near a value that says which field it is: the label in its row.
_HINTS = {
    **{
        f"funding.{k}": squash(v).removeprefix("其中：")
        for k, v in FUNDING_PROJECT + FUNDING_ANNUAL
    },
    **{k: v for k, v in HEADER},
}
_DERIVED = re.compile(r"^(indicators\[\d+\])\.(?:op|value|unit)$")


@dataclass
class FieldView:
    path: str
    label: str
    value: str
    kind: str = "text"  # text | amount | date | long
    cell: tuple[int, int] | None = None
    findings: list[Finding] = field(default_factory=list)  # shown with their message here
    marks: list[Finding] = field(default_factory=list)  # involved, message shown elsewhere

    @property
    def severity(self) -> str | None:
        sev = {f.severity for f in self.findings + self.marks}
        return next((s for s in ("error", "warning", "info") if s in sev), None)


@dataclass
class IndicatorView:
    index: int
    fields: list[FieldView]
    derived: str  # op / value / unit parsed from the target
    findings: list[Finding] = field(default_factory=list)


@dataclass
class FormView:
    state: FormState
    header: list[FieldView]
    unit: FieldView
    project: list[FieldView]
    annual: list[FieldView]
    goals: list[FieldView]
    indicators: list[IndicatorView]
    general: list[Finding]  # findings on no shown field
    grid: list[list[Cell | None]]
    width: int


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def build_form(state: FormState) -> FormView:
    record = state.record
    grid = read_grid(state.chunk.text, state.chunk.start_line) if state.chunk else Grid()
    cells = locate_cells(record, grid)

    def fv(path: str, label: str, value: Any, kind: str = "text") -> FieldView:
        return FieldView(path, label, _text(value), kind, cells.get(path))

    header = [
        fv(k, lab, getattr(record, k), "date" if k.endswith("_date") else "text")
        for k, lab in HEADER
    ]
    fund = record.funding
    project = [fv(f"funding.{k}", lab, getattr(fund, k), "amount") for k, lab in FUNDING_PROJECT]
    annual = [fv(f"funding.{k}", lab, getattr(fund, k), "amount") for k, lab in FUNDING_ANNUAL]
    goals = [fv(k, lab, getattr(record, k), "long") for k, lab in GOALS]
    indicators = [
        IndicatorView(
            i,
            [fv(f"indicators[{i}].{k}", IND_LABELS[k], getattr(ind, k)) for k in INDICATOR_FIELDS],
            " ".join(x for x in (ind.op, ind.value, ind.unit) if x),
        )
        for i, ind in enumerate(record.indicators)
    ]
    unit = fv("funding.unit", "金额单位", fund.unit)
    fields = [*header, unit, *project, *annual, *goals, *(f for r in indicators for f in r.fields)]
    general = _attach(record.findings, fields, indicators)
    width = max((len(r) for r in grid.rows), default=0)
    rows = [[*r, *[None] * (width - len(r))] for r in grid.rows]
    return FormView(state, header, unit, project, annual, goals, indicators, general, rows, width)


def _attach(
    findings: list[Finding], fields: list[FieldView], rows: list[IndicatorView]
) -> list[Finding]:
    """Put each finding on its first field (message) and mark its other fields; return the rest."""
    by_path = {f.path: f for f in fields}
    by_row = {f"indicators[{r.index}]": r for r in rows}
    general = []
    for finding in findings:
        anchors = []
        for p in finding.paths:
            m = _DERIVED.match(p)
            p = f"{m[1]}.target" if m else p
            if p in by_path and by_path[p] not in anchors:
                anchors.append(by_path[p])
        if anchors:
            anchors[0].findings.append(finding)
            for a in anchors[1:]:
                a.marks.append(finding)
        elif finding.paths and finding.paths[0] in by_row:
            by_row[finding.paths[0]].findings.append(finding)
        else:
            general.append(finding)
    return general


# --- finding the source cell of a field ---


def locate_cells(record: FormRecord, grid: Grid) -> dict[str, tuple[int, int]]:
    found = {p: (c.line, c.col) for p, c in (record.source.cells if record.source else {}).items()}
    cells = [c for row in grid.rows for c in row if c.text and not c.merged]
    for path, value in _values(record):
        if path not in found and value not in (None, ""):
            cell = _search(cells, path, value, _hint_lines(cells, record, path))
            if cell:
                found[path] = (cell.line, cell.col)
    return found


def _values(record: FormRecord) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [(k, getattr(record, k)) for k, _ in HEADER + GOALS]
    out += [
        (f"funding.{k}", getattr(record.funding, k)) for k, _ in FUNDING_PROJECT + FUNDING_ANNUAL
    ]
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


def _hint_lines(cells: list[Cell], record: FormRecord, path: str) -> list[int]:
    m = re.match(r"^indicators\[(\d+)\]\.", path)
    if m:
        return _indicator_lines(cells, record, int(m[1]))
    hint = _HINTS.get(path)
    return sorted({c.line for c in cells if hint and hint in squash(c.text)})


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
