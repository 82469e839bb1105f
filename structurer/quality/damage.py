"""Render gold records as OCR-style markdown forms, then damage them the way OCR does.

A form is built as a `Sheet` (title, year line, tables of typed cells), so each damage operation
knows what it touches (an amount, a target, a level label...). Operations are small functions
`op(sheet, rng, rate)`; `rate` is the probability per applicable unit (cell, row, table part or
form, see `DAMAGES`). All randomness comes from one `random.Random(seed)`: the same records,
damages and seed always give the same text. Every operation only does what a careful human can
undo from the text alone; each one's docstring says the assumption that makes it recoverable.

Layouts: `seed` (the 6-column Shanghai table), `grid8` (8 columns, every value cell spanning two
columns so one column of each pair is empty) and `nolevel1` (the seed layout with the level-1 cells
left empty: level 1 follows from level 2 by the hierarchy).
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..models import FormRecord, Indicator
from ..read.values import amount_value, parse_target
from ..vocab import default_vocabulary

# The forms are printed as the Shanghai template prints them: the vocabulary's first spellings.
VOCAB = default_vocabulary()
TITLE = VOCAB.titles[0]
LAYOUTS = ("seed", "grid8", "nolevel1")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef“”]")


@dataclass
class RCell:
    """A rendered cell: its text and what it holds (drives which damages apply)."""

    text: str = ""
    kind: str = "blank"  # label section value amount date target name level1 level2 goal blank


@dataclass
class Row:
    cells: list[RCell]
    part: str  # header | funding | goals | indicators


@dataclass
class Sheet:
    """One form as OCR would print it: title, year line, then tables and lines between them."""

    title: str
    year_line: str | None
    blocks: list[list[Row] | str] = field(default_factory=list)

    def tables(self) -> list[list[Row]]:
        return [b for b in self.blocks if isinstance(b, list)]

    def rows(self) -> Iterable[Row]:
        for table in self.tables():
            yield from table

    def cells(self, *kinds: str) -> Iterable[RCell]:
        for row in self.rows():
            yield from (c for c in row.cells if c.text and (not kinds or c.kind in kinds))


# --- rendering --------------------------------------------------------------------------------


def _c(text: str | None, kind: str) -> RCell:
    return RCell(text or "", kind if text else "blank")


def format_amount(text: str | None) -> str:
    """`5900000.00` -> `5,900,000.00`: amounts are printed with thousands separators."""
    value = amount_value(text)
    if value is None or text is None:
        return text or ""
    whole, _, frac = text.lstrip("-").partition(".")
    sign = "-" if text.startswith("-") else ""
    return sign + f"{int(whole):,}" + (f".{frac}" if frac else "")


def _label(path: str, kind: str = "label") -> RCell:
    return _c(VOCAB.printed(path), kind)


def _header_rows(r: FormRecord, spread: Callable[[list[RCell]], list[RCell]]) -> list[Row]:
    rows = [
        [_label("project_name"), _c(r.project_name, "value"), _label("project_nature"),
         _c(r.project_nature, "value"), _label("project_category"), _c(r.project_category, "value")],
        [_label("department"), _c(r.department, "value"), _label("implementing_unit"),
         _c(r.implementing_unit, "value")],
        [_label("start_date"), _c(r.start_date, "date"), _label("end_date"),
         _c(r.end_date, "date")],
    ]  # fmt: skip
    return [Row(spread(cells), "header") for cells in rows]


def _funding_rows(r: FormRecord, spread: Callable[[list[RCell]], list[RCell]]) -> list[Row]:
    f = r.funding
    block = VOCAB.block_label("funding") + (f"({f.unit})" if f.unit else "")

    def amt(v: str | None) -> RCell:
        return _c(format_amount(v), "amount")

    rows = [
        [_c(block, "section"), _label("funding.project_total"), amt(f.project_total),
         _label("funding.annual_total"), amt(f.annual_total)],
        [RCell(), _label("funding.project_fiscal"), amt(f.project_fiscal),
         _label("funding.current_appropriation"), amt(f.current_appropriation)],
        [RCell(), RCell(), RCell(), _label("funding.prior_carryover"), amt(f.prior_carryover)],
        [RCell(), _label("funding.project_other"), amt(f.project_other),
         _label("funding.annual_other"), amt(f.annual_other)],
    ]  # fmt: skip
    return [Row(spread(cells), "funding") for cells in rows]


def _goal_text(text: str | None) -> str | None:
    return text.replace("\n", "<br>") if text else text


def _goal_rows(r: FormRecord, spread: Callable[[list[RCell]], list[RCell]]) -> list[Row]:
    rows = [
        [_c(VOCAB.block_label("goals"), "section"), _label("overall_goal"), RCell(),
         _label("annual_goal")],
        [RCell(), _c(_goal_text(r.overall_goal), "goal"), RCell(),
         _c(_goal_text(r.annual_goal), "goal")],
    ]  # fmt: skip
    return [Row(spread(cells), "goals") for cells in rows]


def _indicator_rows(
    indicators: list[Indicator], spread: Callable[[list[RCell]], list[RCell]], *, level1: bool
) -> list[Row]:
    head = [RCell(), *(_label(col) for col in ("level1", "level2", "name", "target"))]
    rows = [Row(spread(head), "indicators")]
    prev: tuple[str | None, str | None] = ("\0", "\0")
    for n, ind in enumerate(indicators):
        new1 = ind.level1 != prev[0]
        new2 = new1 or ind.level2 != prev[1]
        cells = [
            _c(VOCAB.block_label("indicators") if n == 0 else None, "section"),
            _c(ind.level1 if new1 and level1 else None, "level1"),
            _c(ind.level2 if new2 else None, "level2"),
            _c(ind.name, "name"),
            _c(ind.target, "target"),
        ]
        rows.append(Row(spread(cells), "indicators"))
        prev = (ind.level1, ind.level2)
    return rows


def _seed_spread(cells: list[RCell]) -> list[RCell]:
    return cells + [RCell() for _ in range(6 - len(cells))]


def _grid8_spread(cells: list[RCell]) -> list[RCell]:
    """Eight columns: label cells take one column, the cells after them two (one left empty)."""
    out: list[RCell] = []
    for i, cell in enumerate(cells):
        out.append(cell)
        if i in (1, 3):  # a value/level column spanning two columns
            out.append(RCell())
    return out + [RCell() for _ in range(8 - len(out))]


def build_sheet(record: FormRecord, layout: str = "seed") -> Sheet:
    """The clean form of a gold record, as a sheet ready to damage or print."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    spread = _grid8_spread if layout == "grid8" else _seed_spread
    rows = (
        _header_rows(record, spread)
        + _funding_rows(record, spread)
        + _goal_rows(record, spread)
        + _indicator_rows(record.indicators, spread, level1=layout != "nolevel1")
    )
    year = f"({record.year}年度)" if record.year else None
    return Sheet(TITLE, year, [rows])


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def table_markdown(rows: list[Row]) -> list[str]:
    """A pipe table with an empty header row, as MinerU writes the seed's tables."""
    width = max((len(r.cells) for r in rows), default=1)
    lines = ["|" + " |" * width, "|" + "---|" * width]
    lines += ["| " + " | ".join(_md_cell(c.text) for c in r.cells) + " |" for r in rows]
    return lines


def sheet_markdown(sheet: Sheet) -> str:
    lines = [sheet.title, ""]
    if sheet.year_line:
        lines += [sheet.year_line, ""]
    for block in sheet.blocks:
        lines += [*table_markdown(block), ""] if isinstance(block, list) else [block, ""]
    return "\n".join(lines)


def render_form(record: FormRecord, layout: str = "seed") -> str:
    return sheet_markdown(build_sheet(record, layout))


def render_document(
    records: Iterable[FormRecord],
    *,
    layout: str = "seed",
    damages: Mapping[str, float] | None = None,
    seed: int = 0,
    heading: str | None = None,
) -> str:
    """Markdown of all `records` as one OCR document, each form damaged with the same rng."""
    rng = random.Random(seed)
    parts = [heading, ""] if heading else []
    for record in records:
        sheet = build_sheet(record, layout)
        if damages:
            apply_damages(sheet, damages, rng)
        parts.append(sheet_markdown(sheet))
    return "\n".join(parts)


# --- damage operations ------------------------------------------------------------------------

TEXT_KINDS = ("label", "section", "value", "name", "level1", "level2", "goal", "target")


def _hit(rng: random.Random, rate: float) -> bool:
    return rate > 0 and rng.random() < rate


def shift_cells(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per row: the row's cells move one column left (dropping an empty first cell) or right
    (dropping an empty last cell). Recoverable: the order of the non-empty cells is kept, and
    labels, levels, names and values are told apart by what they say, not where they are. Rows
    with a level name that is both a level 1 and a level 2 (the cost and satisfaction levels) stay put: only
    their column tells which level they are."""
    for row in sheet.rows():
        if not _hit(rng, rate) or any(c.text in VOCAB.ambiguous_levels for c in row.cells):
            continue
        cells = row.cells
        left = rng.random() < 0.5
        if left and not cells[0].text:
            row.cells = [*cells[1:], RCell()]
        elif not cells[-1].text:
            row.cells = [RCell(), *cells[:-1]]
        elif not cells[0].text:
            row.cells = [*cells[1:], RCell()]


def blank_merged(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per merged cell: the section labels (项目绩效目标, 绩效指标, 项目资金 when it names no unit)
    and the level 1 of a row whose level 2 implies it are left empty. Recoverable: the sections
    are known by their labels, and level 1 follows from level 2 by the hierarchy (only blanked
    where it does). `项目资金(元)` is kept: the unit is written nowhere else."""
    for row in sheet.rows():
        level2 = next((c.text for c in row.cells if c.kind == "level2" and c.text), None)
        implied = VOCAB.parent_of(VOCAB.canonical_level(level2))
        for cell in row.cells:
            mergeable = (cell.kind == "section" and "(" not in cell.text) or (
                cell.kind == "level1" and cell.text == implied
            )
            if mergeable and _hit(rng, rate):
                cell.text, cell.kind = "", "blank"


def _parts(table: list[Row]) -> list[list[Row]]:
    groups: list[list[Row]] = []
    for row in table:
        if groups and groups[-1][0].part == row.part:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def drop_empty_column(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per table part (header, funding, goals, indicators): one column empty in every row of the
    part is dropped, moving the cells right of it one column left. Recoverable: nothing is lost,
    and values are read next to their labels, not by column number."""
    for table in sheet.tables():
        for group in _parts(table):
            width = max(len(r.cells) for r in group)
            empty = [
                c
                for c in range(width)
                if all(c >= len(r.cells) or not r.cells[c].text for r in group)
            ]
            if empty and _hit(rng, rate):
                col = rng.choice(empty)
                for r in group:
                    if col < len(r.cells):
                        del r.cells[col]


def _split(sheet: Sheet, rng: random.Random, rate: float, *, header: bool) -> None:
    blocks: list[list[Row] | str] = []
    for block in sheet.blocks:
        if not isinstance(block, list) or len(block) < 4 or not _hit(rng, rate):
            blocks.append(block)
            continue
        cut = rng.randrange(3, len(block))
        first, rest = block[:cut], block[cut:]
        head = next((r for r in first if r.part == "indicators"), None)
        if header and head is not None and rest[0].part == "indicators":
            rest = [copy.deepcopy(head), *rest]
        page = rng.randint(1, 8)
        blocks += [first, f"第 {page} 页 共 {page + rng.randint(1, 5)} 页", rest]
    sheet.blocks = blocks


def split_pages(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per table: split at a random row into two tables with a page footer between them, no
    header row repeated. Recoverable: a table without a title continues the form above it, and
    blank level cells at its top continue the levels of the row before the break."""
    _split(sheet, rng, rate, header=False)


def split_pages_header(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """As split_pages, but a break inside the indicators repeats the indicator header row on the
    new page. Recoverable: a header row is not an indicator."""
    _split(sheet, rng, rate, header=True)


def _cjk_gaps(text: str) -> list[int]:
    return [
        i
        for i in range(1, len(text))
        if (_CJK.match(text[i - 1]) or _CJK.match(text[i])) and "\n" not in text[i - 1 : i + 1]
    ]


def wrap_text(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per text cell: 1-3 spaces put inside it where the cell wrapped (`阶段 性项 目`).
    Recoverable: spaces are put only next to a Chinese character, where the clean text has none
    (a space between two Latin letters or digits could be real)."""
    for cell in sheet.cells(*TEXT_KINDS):
        gaps = _cjk_gaps(cell.text)
        if gaps and _hit(rng, rate):
            for i in sorted(rng.sample(gaps, min(len(gaps), rng.randint(1, 3))), reverse=True):
                cell.text = cell.text[:i] + " " + cell.text[i:]


def repeat_text(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per cell of 4-80 characters (names, values, targets, levels): the text printed 2-3 times.
    Recoverable: a text repeated verbatim back to back is kept once; shorter texts are left alone
    because a repeat like `提高提高` could be real."""
    for cell in sheet.cells("name", "value", "target", "level1", "level2"):
        if 4 <= len(cell.text) <= 80 and "\n" not in cell.text and _hit(rng, rate):
            cell.text *= rng.randint(2, 3)


def duplicate_row(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per row: the row printed twice in a row. Recoverable: a row repeated verbatim is kept once
    (the labelling convention; real forms do not list the same indicator twice in a row)."""
    for table in sheet.tables():
        i = 0
        while i < len(table):
            if _hit(rng, rate):
                table.insert(i + 1, copy.deepcopy(table[i]))
                i += 1
            i += 1


_LATEX_OPS = {"≥": r"\geq ", "≤": r"\leq ", "=": "= ", ">": "> ", "<": "< "}


def latex_targets(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per quantitative target: written as MinerU's inline math, `$\\geq 90.00\\%$`.
    Recoverable: the LaTeX commands map one to one onto ≥ ≤ %; the unit's parentheses are lost
    for %, which changes the text but not (op, value, unit), which is how targets are scored."""
    for cell in sheet.cells("target"):
        t = parse_target(cell.text)
        if t.value is None or not _hit(rng, rate):
            continue
        op = _LATEX_OPS.get(t.op or "", "")
        if t.unit == "%":
            cell.text = f"${op}{t.value}\\%$"
        else:
            cell.text = f"${op}{t.value}$" + (f"({t.unit})" if t.unit else "")


_FW_ALL = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}
_FW_DIGITS = {c: c + 0xFEE0 for c in range(0x30, 0x3A)}


def fullwidth(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per cell with digits: digits become full-width (０-９); in amounts, dates and targets the
    signs and brackets too (`＝１００．００（％）`). Recoverable: full-width digits are never real;
    full-width brackets are real in names and goals, so those keep their signs half-width."""
    for cell in sheet.cells():
        if not re.search(r"\d", cell.text) or not _hit(rng, rate):
            continue
        signs = cell.kind in ("amount", "date", "target")
        cell.text = cell.text.translate(_FW_ALL if signs else _FW_DIGITS)


def letter_o(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per amount with a zero: some zeros (at least one) printed as the letter O (`5,9OO,OOO.OO`).
    Recoverable: an amount holds only digits, so an O in it can only be a zero."""
    for cell in sheet.cells("amount"):
        zeros = [i for i, ch in enumerate(cell.text) if ch == "0"]
        if zeros and _hit(rng, rate):
            pick = set(rng.sample(zeros, rng.randint(1, len(zeros))))
            cell.text = "".join("O" if i in pick else ch for i, ch in enumerate(cell.text))


def p_tags(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per text cell: wrapped in `<p>…</p>` (one per paragraph), as HTML-minded OCR does.
    Recoverable: tags are markup, never content."""
    for cell in sheet.cells(*TEXT_KINDS):
        if _hit(rng, rate):
            paras = cell.text.split("<br>")
            cell.text = " ".join(f"<p>{p}</p>" for p in paras)


def title_spaces(sheet: Sheet, rng: random.Random, rate: float) -> None:
    """Per form: 1-4 spaces inside the title and the year line, sometimes a `#` in front.
    Recoverable: the title is a fixed phrase; spaces inside Chinese text are OCR's."""
    if not _hit(rng, rate):
        return
    title = sheet.title
    for i in sorted(rng.sample(range(1, len(title)), rng.randint(1, 4)), reverse=True):
        title = title[:i] + " " + title[i:]
    sheet.title = ("# " if rng.random() < 0.3 else "") + title
    if sheet.year_line:
        sheet.year_line = re.sub(r"(\d{4})", r" \1 ", sheet.year_line)


@dataclass(frozen=True)
class Damage:
    name: str
    op: Callable[[Sheet, random.Random, float], None]
    default_rate: float
    per: str  # what the rate is a probability of


# In application order: cell text first, then rows and columns, then page layout.
DAMAGES: dict[str, Damage] = {
    d.name: d
    for d in (
        Damage("wrap_text", wrap_text, 0.1, "text cell"),
        Damage("repeat_text", repeat_text, 0.1, "cell of 4-80 chars"),
        Damage("latex", latex_targets, 0.25, "quantitative target"),
        Damage("fullwidth", fullwidth, 0.1, "cell with digits"),
        Damage("letter_o", letter_o, 0.25, "amount with a zero"),
        Damage("p_tags", p_tags, 0.1, "text cell"),
        Damage("blank_merged", blank_merged, 0.25, "merged label cell"),
        Damage("duplicate_row", duplicate_row, 0.1, "row"),
        Damage("shift_cells", shift_cells, 0.1, "row"),
        Damage("drop_empty_column", drop_empty_column, 0.25, "table part"),
        Damage("split_pages", split_pages, 0.5, "table"),
        Damage("split_pages_header", split_pages_header, 0.5, "table"),
        Damage("title_spaces", title_spaces, 0.5, "form"),
    )
}


def apply_damages(sheet: Sheet, damages: Mapping[str, float], rng: random.Random) -> Sheet:
    """Apply the named damages at their rates, in `DAMAGES` order, in place."""
    unknown = set(damages) - set(DAMAGES)
    if unknown:
        raise ValueError(f"unknown damage {sorted(unknown)}; choose from {', '.join(DAMAGES)}")
    for name, damage in DAMAGES.items():
        if name in damages:
            damage.op(sheet, rng, damages[name])
    return sheet
