"""Rule-based extractor: a form's cell grid -> a FormRecord, deterministically and offline.

Everything is anchored on labels, never on positions: OCR shifts cells between columns, so a
label's value is the next non-empty, non-label cell to its right, wherever it landed. The grid is
read in two parts: the rows above the indicator table (header, funding, goals) and the indicator
rows (see `indicators.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .clean import parse_amount, parse_date, squash
from .indicators import is_indicator_header, read_indicators, starts_indicators
from .models import Cell, CellRef, Chunk, FormRecord, Funding, Grid, SourceRef

HEADER_LABELS: dict[str, tuple[str, ...]] = {
    "project_name": ("项目名称",),
    "project_nature": ("项目性质",),
    "project_category": ("项目类别", "项目类型"),
    "department": ("主管部门", "主管部门及代码", "主管单位", "预算主管部门"),
    "implementing_unit": ("实施单位", "项目实施单位", "预算单位"),
    "start_date": ("计划开始日期", "项目开始日期", "开始日期", "计划开始时间", "项目开始时间"),
    "end_date": (
        "计划完成日期",
        "项目完成日期",
        "完成日期",
        "计划结束日期",
        "计划完成时间",
        "结束日期",
        "项目完成时间",
    ),
}
FUNDING_LABELS: dict[str, str] = {
    "项目资金总额": "project_total",
    "项目总额": "project_total",
    "项目资金合计": "project_total",
    "财政资金": "project_fiscal",
    "财政性资金": "project_fiscal",
    "年度资金申请总额": "annual_total",
    "年度资金总额": "annual_total",
    "年度申请资金总额": "annual_total",
    "本年度资金申请总额": "annual_total",
    "当年财政拨款": "current_appropriation",
    "当年财政资金": "current_appropriation",
    "本年财政拨款": "current_appropriation",
    "财政拨款": "current_appropriation",
    "上年结转资金": "prior_carryover",
    "上年结转": "prior_carryover",
    "结转资金": "prior_carryover",
    "其他资金": "other",  # appears in both columns: resolved by position
}
# A period cell holds both dates (other provinces' forms): split into start_date and end_date.
PERIOD_LABELS = ("项目期限", "实施期限", "项目周期", "执行期限", "项目实施期限", "实施周期")
_LABEL_OF = {lab: f for f, labs in HEADER_LABELS.items() for lab in labs}
_LABEL_OF.update(dict.fromkeys(PERIOD_LABELS, "period"))
_PERIOD_SPLIT = re.compile(r"\s*(?:至|到|—|–|~|～|-(?=\s*\d{4}))\s*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FUNDING_BLOCK = re.compile(r"^(?:项目资金|资金情况|项目资金情况|资金来源)(?:[(（].*[)）])?$")
# 项目资金（元）, 项目资金(单位:万元), 资金情况（万元）, 金额单位：万元
_UNIT = re.compile(r"(?:资金|单位)(?:情况)?[(（]?(?:单位)?[:：]?(万元|元)[)）]?")
_OVERALL = re.compile(r"^(?:项目)?(?:总体?目标|中长期目标)(?:[(（].*[)）])?$")
_ANNUAL = re.compile(r"^(?:本?年度)(?:总体|绩效)?目标(?:[(（].*[)）])?$")
_SECTION = {"项目绩效目标", "绩效目标", "绩效指标", "项目绩效指标", "年度绩效指标"}
# Labels written inside a goal text: `总体目标：…` / `年度总体目标：…` start a new part.
_GOAL_PART = re.compile(r"(?:^|\n)\s*((?:项目)?总体目标|(?:本?年度)(?:总体|绩效)?目标)\s*[:：]")


def _key(text: str) -> str:
    """Label text as matched: no spaces, no `其中` prefix, no trailing colon."""
    return squash(text).removeprefix("其中").lstrip(":：").rstrip(":：")


def is_label(text: str) -> bool:
    k = _key(text)
    return bool(
        k in _LABEL_OF
        or k in FUNDING_LABELS
        or k in _SECTION
        or _FUNDING_BLOCK.match(k)
        or _OVERALL.match(k)
        or _ANNUAL.match(k)
        or is_indicator_header(k)
    )


@dataclass
class _Trace:
    """What the extractor learnt besides values: source cells, repairs, unreadable cells."""

    cells: dict[str, CellRef] = field(default_factory=dict)
    repairs: list[dict[str, str]] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)

    def ref(self, path: str, cell: Cell) -> None:
        self.cells[path] = CellRef(line=cell.line, col=cell.col)


def _value_right_of(row: list[Cell], i: int, *, skip_copies: bool = True) -> Cell | None:
    """The value of the label at row[i]: the next non-empty cell to its right, unless a label.
    Copies of the label right beside it (one merged cell the OCR spread over columns) are
    stepped over."""
    j = i + 1
    while skip_copies and j < len(row) and row[j].text == row[i].text:
        j += 1
    for cell in row[j:]:
        if cell.text and not cell.merged:
            return None if is_label(cell.text) else cell
    return None


def _is_copy(row: list[Cell], i: int) -> bool:
    """Whether row[i] repeats the cell just before it (one merged cell spread over two)."""
    return i > 0 and row[i - 1].text == row[i].text


def _inline_value(text: str) -> tuple[str, str] | None:
    """`项目名称：XX` written in one cell -> ("项目名称", "XX")."""
    m = re.match(r"^\s*([^:：]{2,10})\s*[:：]\s*(.+)$", text, re.S)
    if m and _key(m.group(1)) in _LABEL_OF:
        return _key(m.group(1)), m.group(2).strip()
    return None


def read_header(rows: list[list[Cell]], record: FormRecord, trace: _Trace) -> None:
    for r, row in enumerate(rows):
        for i, cell in enumerate(row):
            fld = _LABEL_OF.get(_key(cell.text))
            value: str | None = None
            if fld:
                found = _value_right_of(row, i) or _text_below(rows, r, cell.col)
                value = found.text if found else None
                src = found or cell
            elif inline := _inline_value(cell.text):
                fld, value, src = _LABEL_OF[inline[0]], inline[1], cell
            if fld == "period" and value:
                _set_period(record, value, src, trace)
            elif fld and value and getattr(record, fld) is None:
                setattr(record, fld, parse_date(value) if fld.endswith("_date") else value)
                trace.ref(fld, src)


def _set_period(record: FormRecord, value: str, src: Cell, trace: _Trace) -> None:
    """`项目期限 | 2023年1月1日-2023年12月31日`: one cell holding both planned dates. Only full
    dates are taken; a month range (2023年1月-12月) is left for the reviewer, not guessed."""
    parts = _PERIOD_SPLIT.split(value)
    dates = [parse_date(p) for p in parts] if len(parts) == 2 else []
    if len(dates) == 2 and all(d and _ISO_DATE.fullmatch(d) for d in dates):
        for fld, d in zip(("start_date", "end_date"), dates, strict=True):
            if getattr(record, fld) is None:
                setattr(record, fld, d)
                trace.ref(fld, src)


def project_name_of(grid: Grid) -> str | None:
    record = FormRecord(form_index=0)
    read_header(grid.rows, record, _Trace())
    return record.project_name


def read_funding(rows: list[list[Cell]], record: FormRecord, trace: _Trace) -> None:
    funding = record.funding
    others: list[tuple[Cell, Cell | None]] = []
    cols: dict[str, list[int]] = {"project": [], "annual": []}
    for r, row in enumerate(rows):
        for i, cell in enumerate(row):
            key = _key(cell.text)
            if funding.unit is None and (m := _UNIT.search(key)):
                funding.unit = m.group(1)
            fld = FUNDING_LABELS.get(key)
            if fld == "other":  # placed below, once the whole block is known
                value = _value_right_of(row, i, skip_copies=False)
                others.append((cell, value or _amount_below(rows, r, cell.col)))
                continue
            if not fld or _is_copy(row, i):
                continue
            value = _value_right_of(row, i) or _amount_below(rows, r, cell.col)
            cols["project" if fld.startswith("project") else "annual"].append(cell.col)
            _set_amount(funding, fld, value, trace)
    for fld, value in _place_others(others, cols):
        _set_amount(funding, fld, value, trace)


def _text_below(rows: list[list[Cell]], r: int, col: int) -> Cell | None:
    """Layouts with a row of labels over a row of values: the cell right below, unless a label
    (in the usual layout a label without a value has another label below it)."""
    if r + 1 >= len(rows):
        return None
    below = next((c for c in rows[r + 1] if c.col == col and c.text and not c.merged), None)
    return None if below is None or is_label(below.text) else below


def _amount_below(rows: list[list[Cell]], r: int, col: int) -> Cell | None:
    """Like `_text_below`, for an amount: only a number counts."""
    below = _text_below(rows, r, col)
    try:
        return below if below and parse_amount(below.text)[0] is not None else None
    except ValueError:
        return None


def _place_others(
    others: list[tuple[Cell, Cell | None]], cols: dict[str, list[int]]
) -> list[tuple[str, Cell | None]]:
    """其他资金 is in both columns. Several on one row split in halves, (project, annual), each
    half's value right of its last label: `其他资金 | 其他资金 | 0` (an empty column dropped)
    and a doubled grid's `其他资金 | 其他资金 | 0 | 其他资金 | 其他资金 | 0` both read right. A lone
    one goes to the column whose other labels stand nearest to it."""
    placed: list[tuple[str, Cell | None]] = []
    by_line: dict[int, list[tuple[Cell, Cell | None]]] = {}
    for label, value in others:
        by_line.setdefault(label.line, []).append((label, value))
    for row in by_line.values():
        if len(row) >= 2:
            placed += [("project_other", row[len(row) // 2 - 1][1]), ("annual_other", row[-1][1])]
            continue
        label, value = row[0]
        dist = {
            side: min((abs(label.col - c) for c in cs), default=99) for side, cs in cols.items()
        }
        side = "project_other" if dist["project"] < dist["annual"] else "annual_other"
        placed.append((side, value))
    return placed


def _set_amount(funding: Funding, fld: str, cell: Cell | None, trace: _Trace) -> None:
    path = f"funding.{fld}"
    if cell is None or getattr(funding, fld) is not None:
        return
    try:
        value, repairs = parse_amount(cell.text)
    except ValueError:
        trace.unreadable[path] = cell.raw
        trace.ref(path, cell)
        return
    setattr(funding, fld, value)
    trace.ref(path, cell)
    trace.repairs += [{"path": path, "raw": cell.raw, "repair": r} for r in repairs]


def read_goals(rows: list[list[Cell]], record: FormRecord, trace: _Trace) -> None:
    """Goal texts sit in the rows from the goal labels down to the indicator table, under (or
    right of) their label; each text goes to the label whose column is nearest."""
    label_cols: dict[str, int] = {}
    texts: list[Cell] = []
    started = False
    for row in rows:
        for cell in row:
            key = _key(cell.text)
            if _ANNUAL.match(key):
                label_cols.setdefault("annual_goal", cell.col)
                started = True
            elif _OVERALL.match(key):
                label_cols.setdefault("overall_goal", cell.col)
                started = True
            elif started and cell.text and not cell.merged and not is_label(cell.text):
                texts.append(cell)
            elif not started and _GOAL_PART.match(cell.text):
                texts.append(cell)
                started = True
    parts: dict[str, list[str]] = {"overall_goal": [], "annual_goal": []}
    for cell, home in _goal_homes(texts, label_cols):
        for fld, text in _split_goal(cell.text, home):
            if text not in parts[fld]:  # a goal the OCR printed in several cells is kept once
                parts[fld].append(text)
                trace.ref(fld, cell)
    for fld, chunks in parts.items():
        if chunks:
            setattr(record, fld, "\n".join(chunks))


def _goal_homes(texts: list[Cell], label_cols: dict[str, int]) -> list[tuple[Cell, str]]:
    """Which goal each text cell belongs to. A single text is the annual goal (the labelling
    convention for an unlabelled goal). Two different texts on one row under both labels are
    (overall, annual) in that order, whatever columns OCR shifted them to; other texts go to the
    nearest label."""
    if len({c.text for c in texts}) == 1:
        # one text alone is the annual goal by convention, whatever column OCR moved it to
        return [(c, "annual_goal") for c in texts]
    rows: dict[int, list[Cell]] = {}
    for cell in texts:
        rows.setdefault(cell.line, []).append(cell)
    homes = []
    for cells in rows.values():
        distinct = len({c.text for c in cells}) > 1
        for k, cell in enumerate(cells):
            if distinct and len(label_cols) == 2 and k in (0, len(cells) - 1):
                homes.append((cell, "overall_goal" if k == 0 else "annual_goal"))
            else:
                homes.append((cell, _nearest_goal(cell.col, label_cols)))
    return homes


def _nearest_goal(col: int, label_cols: dict[str, int]) -> str:
    if not label_cols:
        return "annual_goal"
    # ties go to the annual goal: an unlabelled text is the annual goal by convention
    return min(label_cols, key=lambda f: (abs(label_cols[f] - col), f != "annual_goal"))


def _split_goal(text: str, home: str) -> list[tuple[str, str]]:
    """Split a goal cell at `总体目标：` / `年度总体目标：` labels; text before any label stays home."""
    out: list[tuple[str, str]] = []
    pos, fld = 0, home
    for m in _GOAL_PART.finditer(text):
        if part := text[pos : m.start()].strip():
            out.append((fld, part))
        fld = "annual_goal" if "年度" in m.group(1) else "overall_goal"
        pos = m.end()
    if part := text[pos:].strip():
        out.append((fld, part))
    return out


def _indicator_start(rows: list[list[Cell]]) -> int:
    for n, row in enumerate(rows):
        if starts_indicators(row):
            return n
    return len(rows)


def extract_form(chunk: Chunk, grid: Grid) -> FormRecord:
    """One clean record from one form's grid. Never raises on odd input: what is missing is None."""
    record = FormRecord(form_index=chunk.index, year=chunk.year, backend="rules")
    trace = _Trace()
    split = _indicator_start(grid.rows)
    top, bottom = grid.rows[:split], grid.rows[split:]
    read_header(top, record, trace)
    read_funding(top, record, trace)
    read_goals(top, record, trace)
    record.indicators, unplaced = read_indicators(bottom, trace.cells, trace.repairs)
    record.source = SourceRef(
        start_line=chunk.start_line, end_line=chunk.end_line, cells=trace.cells
    )
    if trace.repairs:
        record.meta["repairs"] = trace.repairs
    if trace.unreadable:
        record.meta["unreadable"] = trace.unreadable
    if unplaced:
        record.meta["unplaced"] = unplaced
    return record
