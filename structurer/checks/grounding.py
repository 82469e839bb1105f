"""Grounding: is every value of a record really in its form's source text, where it belongs?

This is what catches a backend inventing data or moving it. The source is cleaned the way a record's values are
(tags, LaTeX, full-width forms, whitespace) and indexed once per chunk; each value is then looked
up as text (strings, targets, level names), as a number (amounts) or as a date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from itertools import pairwise

from ..models import (
    AMOUNT_FIELDS,
    CODE_FIELDS,
    GOAL_FIELDS,
    HEADER_FIELDS,
    Finding,
    FormRecord,
    Grid,
    Indicator,
)
from ..read.clean import collapse_repeats, latex_to_text, strip_html, to_halfwidth
from ..read.layouts import read_grid
from ..read.packed import packed_items, packed_text_cell
from ..read.structure import derived, grid_parts
from ..read.values import amount_unit, amount_value, parse_date
from ..vocab import Vocabulary, resolve
from .binding import INTERLEAVED, RUN_TOGETHER, bind_record
from .finding import finding
from .packed import check_packed

# Spellings of the comparison signs that mean the same thing; both sides are mapped to one.
_SIGNS = (
    (">=", "≥"),
    ("=>", "≥"),
    ("≧", "≥"),
    ("⩾", "≥"),
    ("<=", "≤"),
    ("=<", "≤"),
    ("≦", "≤"),
    ("⩽", "≤"),
)
_VARIANTS = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "—": "-", "–": "-", "・": "·"})
# In the second copy of the source, letter O next to digits is read as 0 (=1OO% -> =100%), the
# repair targets.parse_target and clean.parse_amount make.
_DIGIT_O = re.compile(r"(?<=[\d.])[Oo]+|[Oo]+(?=[\d.])")
_CELL_TAG = re.compile(r"</?t[dhr][^>]*>", re.I)
_SIGN_CHARS = re.compile("[=<>≧≦⩾⩽]")
_WS = re.compile(r"\s+")
_NUMBER = re.compile(r"[\dOo][\dOo.,，'’]*")
_DATE_LIKE = re.compile(r"\d{4}[-/.年]")
_BARE_O = re.compile(r"[Oo](?:[.,][Oo]+)?")
_NUMBER_NOISE = re.compile(r"[,，'’\s]")
# A value may be found in pieces: text wrapped onto extra rows or split by a page break. Each
# piece is at least _MIN_PIECE characters or a whole cell (the wrapped rest of a value stands on
# a line or in a cell of its own: `<name>干部人`, `数`), the pieces in order, each within _WINDOW
# rows after the one before (a PDF text layer puts the lines of the cells beside it in between),
# so that an invented sentence is not "found" by stitching characters together.
_MAX_PIECES = 8  # or as many as a long value (a goal in a narrow column) has pieces of 6
_MIN_PIECE = 6
_WINDOW = 4
_FIRST_ROWS = 4  # rows holding a first piece that are tried as the start
_MIN_LINE = 4  # a wrapped line merged glyph by glyph with the next: at least this long ...
_MAX_LINE = 30  # ... and at most as wide as a narrow column


@lru_cache(maxsize=8192)  # labels, level names and targets recur in every form
def normalize(text: str) -> str:
    """Text as grounding compares it: tags, LaTeX, full-width forms, quote and dash variants and
    whitespace gone (a backend may write "" for “” or - for —)."""
    text = to_halfwidth(latex_to_text(strip_html(text)), signs=True).translate(_VARIANTS)
    if _SIGN_CHARS.search(text):
        for old, new in _SIGNS:
            text = text.replace(old, new)
    return _WS.sub("", text)


@dataclass(frozen=True)
class SourceIndex:
    """One chunk's source text, prepared once for many look-ups. What only some look-ups need
    (the text run together, numbers, dates) is built on first use: the grid's index is asked
    for cells and rows only."""

    cells: tuple[tuple[str, ...], ...]  # normalized non-empty cells, row by row
    words: frozenset[str] = frozenset()  # the words of text lines, normalized: cells too

    @property
    def flat(self) -> list[str]:
        return [c for row in self.cells for c in row]

    @cached_property
    def rows(self) -> tuple[str, ...]:
        """One string per row, borders kept as "|"."""
        return tuple("|".join(row) for row in self.cells)

    @cached_property
    def text(self) -> str:
        """All cells, borders kept as "|"."""
        return "|".join(self.flat)

    @cached_property
    def _found_numbers(self) -> list[tuple[Decimal, str | None]]:
        # the words of a text line too: whitespace goes when a line is normalized, and two
        # amounts side by side (`76.640000 76.640000`) would run into one token that is no number
        return [pair for c in (*self.flat, *self.words) for pair in _numbers(c)]

    @cached_property
    def numbers(self) -> frozenset[Decimal]:
        return frozenset(n for n, raw in self._found_numbers if raw is None)

    @cached_property
    def repaired(self) -> dict[Decimal, str]:
        """Numbers found only with letter O read as 0 -> the raw token."""
        return {n: raw for n, raw in self._found_numbers if raw is not None}

    @cached_property
    def dates(self) -> frozenset[str]:
        return frozenset(
            d for c in self.flat if _DATE_LIKE.search(c) and _is_iso(d := parse_date(c) or "")
        )

    @cached_property
    def collapsed_rows(self) -> tuple[str, ...]:
        """Rows with text repeated inside a cell kept once and O beside digits read as 0: built
        only when a value is not found as is (collapsing is the costly part of indexing)."""
        return tuple(
            "|".join(_DIGIT_O.sub(_zeros, collapse_repeats(c) if len(c) >= 8 else c) for c in row)
            for row in self.cells
        )

    @cached_property
    def collapsed(self) -> str:
        return "|".join(self.collapsed_rows)

    @cached_property
    def wrapped(self) -> str:
        """Each row run into the next: a value wrapped at the end of a line, in a word or not
        (a title over two lines, cut inside a word: `…_机场公安综` / `合修缮改造…`), too short in its
        pieces to be found by them."""
        return "\n".join(a + b for a, b in pairwise(self.rows))

    @cached_property
    def rows_of_cell(self) -> dict[str, list[int]]:
        """Each normalized cell -> the rows holding it whole: an indicator's name is nearly
        always a cell of its own, so its rows are found without scanning every row."""
        out: dict[str, list[int]] = {}
        for i, row in enumerate(self.cells):
            for cell in row:
                rows = out.setdefault(cell, [])
                if not rows or rows[-1] != i:
                    rows.append(i)
        return out

    def row_has(self, i: int, needle: str) -> bool:
        return needle in self.rows[i] or needle in self.collapsed_rows[i]

    @cached_property
    def whole(self) -> frozenset[str]:
        """Every normalized cell (a text line, and each of its words)."""
        return frozenset(c for row in self.cells for c in row) | self.words

    def has_text(self, value: str, whole: frozenset[str] = frozenset()) -> bool:
        """Whether the source holds `value`: as is, with repeats collapsed, or in pieces wrapped
        over rows (`whole`: cells of the form's grid, which may split a line into words)."""
        needle = normalize(value)
        if not needle or needle in self.whole or needle in whole:
            return True  # a whole cell: a set look-up (a search of the text is linear in it)
        if needle in self.text or needle in self.collapsed or needle in self.wrapped:
            return True
        return _pieced(needle, self.rows, self.whole | whole)

    def has_unit(self, unit: str, units: tuple[str, ...]) -> bool:
        """元 vs 万元 is a factor of 10,000: ground it by the funding label (项目资金(万元)), else
        by the unit written after the amounts (`164万元`), else by its presence."""
        labelled = [u for u in units if f"({u})" in self.text or f"单位:{u}" in self.text]
        if labelled:
            return unit in labelled
        written = {u for c in self.flat if (u := amount_unit(c)) is not None}
        return unit in written if written else self.has_text(unit)

    def has_amount(self, value: str) -> bool:
        number = amount_value(value)
        return number is not None and (number in self.numbers or number in self.repaired)

    def repaired_raw(
        self, value: str, labels: tuple[str, ...] = (), rows: tuple[str, ...] = ()
    ) -> str | None:
        """The OCR text of an amount the source has with letter O for 0 (1,2OO,OOO.OO): when the
        number is nowhere else, or when it is on a row (of `rows`, else the source's lines)
        holding one of the field's labels."""
        number = amount_value(value)
        raw = self.repaired.get(number) if number is not None else None
        if raw is None or number not in self.numbers:
            return raw
        keys = [normalize(label) for label in labels]
        on_row = any(raw in row and any(k in row for k in keys) for row in rows or self.rows)
        return raw if on_row else None


@lru_cache(maxsize=128)
def index_source(source_text: str) -> SourceIndex:
    """The source's text lines (HTML rows apart) as rows of normalized cells: every value of a
    form is somewhere in here, tables or not. The words of a line of text are cells too (for
    pieces of a wrapped value: `whole`)."""
    lines = source_text.split("\n")
    rows = tuple(
        tuple(cells)
        for line in lines
        for row in re.split(r"<tr\b", line)
        if (cells := _row_cells(row))
    )
    words = frozenset(
        n
        for line in lines
        if "|" not in line and "<" not in line
        for w in line.split()
        if (n := normalize(w))
    )
    return SourceIndex(rows, words)


def index_grid(grid: Grid, vocab: Vocabulary) -> SourceIndex:
    """The form's cell grid as the layout reader built it: a row is a table row even where the
    text prints one cell per line (or a list table wraps a cell onto a line of its own), so "on
    its indicator's row" means the same in every layout. Built once per grid."""
    return derived(grid, "grounding_index", vocab, lambda: _index_grid(grid, vocab))


def _index_grid(grid: Grid, vocab: Vocabulary) -> SourceIndex:
    table = grid_parts(grid, vocab).table
    source = table.rows if table is not None else grid.rows
    rows = tuple(
        tuple(n for c in row if c.text and (n := normalize(c.raw or c.text))) for row in source
    )
    if (packed := packed_text_cell(grid, vocab)) is not None:  # its pieces are on many lines
        parts = (p for item in packed_items(packed.text, vocab)[0] for p in item.parts)
        rows += (tuple(n for p in parts if (n := normalize(p))),)
    return SourceIndex(tuple(r for r in rows if r))


def _zeros(m: re.Match[str]) -> str:
    return "0" * len(m.group(0))


@lru_cache(maxsize=4096)  # label rows recur in every form
def _row_cells(row: str) -> tuple[str, ...]:
    """The normalized, non-empty cells of a markdown line or an HTML row (or a text line)."""
    if "<t" in row:  # split on the cell tags before normalizing strips them
        return tuple(n for part in _CELL_TAG.split(row) if (n := normalize(part)))
    return tuple(c for c in normalize(row).split("|") if c)


@lru_cache(maxsize=8192)  # amounts and targets recur across forms
def _numbers(cell: str) -> tuple[tuple[Decimal, str | None], ...]:
    """Every number in a normalized cell, with its raw token when letter O had to be read as 0."""
    if _BARE_O.fullmatch(cell):  # an amount cell OCR read as letter O (0 -> O), nothing else
        return ((Decimal(0), cell),)
    found: list[tuple[Decimal, str | None]] = []
    for token in _NUMBER.findall(cell):
        token = token.rstrip(".,，'’")
        if not any(ch.isdigit() for ch in token):
            continue
        digits = _NUMBER_NOISE.sub("", token)
        fixed = re.sub("[Oo]", "0", digits)
        for part in fixed.split("..") if ".." in fixed else [fixed]:
            try:
                found.append((Decimal(part.strip(".")), token if fixed != digits else None))
            except InvalidOperation:
                continue
    return tuple(found)


def _is_iso(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def _pieced(needle: str, rows: tuple[str, ...], whole: frozenset[str]) -> bool:
    """Whether `needle` is pieces of `rows` in order: each piece long or a whole cell, each
    within _WINDOW rows after the one before. Every row holding a good first piece is tried,
    longest piece first (a longer match elsewhere may lead nowhere). Only when that fails, a
    piece may also be two wrapped lines of a cell merged glyph by glyph (_shuffled_prefix)."""
    limit = max(_MAX_PIECES, len(needle) // _MIN_PIECE)
    everywhere = range(len(rows))
    return _pieces_from(needle, rows, everywhere, whole, limit, _longest_prefix) or (
        _pieces_from(needle, rows, everywhere, whole, limit, _prefix_or_shuffled)
    )


def _pieces_from(
    rest: str,
    rows: tuple[str, ...],
    candidates: range,
    whole: frozenset[str],
    left: int,
    prefix: Callable[[str, str], int],
) -> bool:
    """`rest` in pieces from `candidates` on, at most `left` more; `prefix` measures how much
    of `rest` a row holds."""
    if not rest:
        return True
    if left == 0:
        return False
    found = [
        (k, r)
        for r in candidates
        if _piece_ok(rest[: (k := prefix(rest, rows[r]))], whole, last=k == len(rest))
    ]
    for k, r in sorted(found, key=lambda kr: -kr[0])[:_FIRST_ROWS]:
        after = range(r + 1, min(len(rows), r + 1 + _WINDOW))
        if _pieces_from(rest[k:], rows, after, whole, left - 1, prefix):
            return True
        # the longest prefix ran on into the next word of its row (a name's first piece beside
        # a text that repeats the name): the longest that is a word of its own, once
        word = next((j for j in range(k - 1, 1, -1) if rest[:j] in whole), 0)
        if (
            word
            and rest[:k] not in whole
            and _pieces_from(rest[word:], rows, after, whole, left - 1, prefix)
        ):
            return True
    return False


def _prefix_or_shuffled(needle: str, hay: str) -> int:
    return max(_longest_prefix(needle, hay), _shuffled_prefix(needle, hay))


def _shuffled_prefix(needle: str, hay: str) -> int:
    """Length of the longest prefix of needle that hay holds as two wrapped lines of one cell
    merged glyph by glyph: a PDF text layer puts lines whose heights overlap on one line and
    orders their characters by x (`民相生关实部事门调共查享数据与` is `民生实事调查数据与` and
    `相关部门共享`). Both lines are _MIN_LINE characters at least and fill a stretch of hay with
    nothing else, in order each, and both start at the column's left edge (their first glyphs
    side by side), so a value is not "found" in scattered characters."""
    best = 0
    if len(needle) < 2 * _MIN_LINE:
        return 0
    start = hay.find(needle[0])
    while 0 <= start < len(hay) - 1:
        second = hay[start + 1]  # the second line's first glyph
        for cut in range(_MIN_LINE, min(len(needle) - _MIN_LINE, _MAX_LINE) + 1):
            if needle[cut] == second:
                best = max(best, _merged_length(needle, cut, hay, start))
        start = hay.find(needle[0], start + 1)
    return best


def _merged_length(needle: str, cut: int, hay: str, start: int) -> int:
    """How much of needle hay[start:] holds as needle[:cut] merged with what follows it."""
    states = {(0, 0)}  # characters of the first line and of the second taken so far
    best = 0
    for ch in hay[start : start + 2 * _MAX_LINE]:
        states = {
            nxt
            for i, j in states
            for nxt in (
                (i + 1, j) if i < cut and needle[i] == ch else None,
                (i, j + 1) if cut + j < len(needle) and needle[cut + j] == ch else None,
            )
            if nxt is not None
        }
        if not states:
            break
        best = max([best] + [cut + j for i, j in states if i == cut and j >= _MIN_LINE])
    return best


def _piece_ok(piece: str, whole: frozenset[str], *, last: bool) -> bool:
    """A piece found: long enough to mean something, or a cell of its own: two characters at
    least, or one as a value's last piece (the tail a wrapped cell leaves on a line: `率`), so a
    label printed down the page, a character per line, is no value."""
    return len(piece) >= _MIN_PIECE or (len(piece) >= (1 if last else 2) and piece in whole)


def _longest_prefix(needle: str, hay: str) -> int:
    """Length of the longest prefix of needle found in hay (presence is monotone in length)."""
    lo, hi = 0, len(needle)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if needle[:mid] in hay:
            lo = mid
        else:
            hi = mid - 1
    return lo


def ground_record(
    record: FormRecord,
    source_text: str,
    vocab: Vocabulary | None = None,
    grid: Grid | None = None,
) -> list[Finding]:
    """Every value of `record` against its form's source: a grounding.ungrounded error per value
    not in `source_text`, or not on its indicator's row; a grounding.wrong_label error per value
    not under its own label (binding.py); one grounding.undecidable warning naming the values
    whose label the text leaves undecided. `grid` is the chunk's grid when the caller has it."""
    vocab = resolve(vocab)
    grid = grid if grid is not None else read_grid(source_text, vocab=vocab)
    src = index_source(source_text)
    table = index_grid(grid, vocab)
    missing = _missing(record, src, table, vocab)
    found = [_finding(path, value) for path, value in missing]
    flagged = frozenset(p for p, _ in missing)
    repairs = _repaired_amounts(record, src, table, vocab)
    bound = bind_record(record, grid, vocab, skip=flagged)
    parts = grid_parts(grid, vocab)
    if parts.interleaved or parts.run_together:
        # Rows and labels are cut and mixed, or run into each other: only an amount found under
        # another field's label while its own label is printed is still an error; every other
        # value is undecided.
        why = INTERLEAVED if parts.interleaved else RUN_TOGETHER
        kept = [f for f in bound.errors if _both_labels_printed(f)]
        packed = check_packed(record, grid, vocab)
        return found + repairs + kept + packed + [_undecidable(_all_paths(record, why))]
    misplaced = _misplaced_targets(record, table, flagged) + check_packed(record, grid, vocab)
    warning = [_undecidable(bound.undecided)] if bound.undecided else []
    return found + repairs + misplaced + bound.errors + warning


def _missing(
    record: FormRecord, src: SourceIndex, table: SourceIndex, vocab: Vocabulary
) -> list[tuple[str, str]]:
    """(path, value) of every value the source does not hold."""
    missing: list[tuple[str, str]] = []
    for path, value in _texts(record):
        if not src.has_text(value, table.whole) and not _target_in_parts(record, path, table):
            missing.append((path, value))
    for path, value in _amounts(record):
        if not src.has_amount(value):
            missing.append((path, value))
    for path in ("start_date", "end_date"):
        value = getattr(record, path)
        if value and value not in src.dates and not src.has_text(value):
            missing.append((path, value))
    unit = record.funding.unit
    if unit and not src.has_unit(unit, vocab.units):
        missing.append(("funding.unit", unit))
    missing.extend(_ungrounded_levels(record, src, table, vocab))
    return missing


def _both_labels_printed(f: Finding) -> bool:
    """An amount under another field's label, its own label printed too (binding's evidence)."""
    return (
        bool(f.values.get("found_under"))
        and bool(f.values.get("label"))
        and all(p.startswith("funding.") for p in f.paths)
    )


def _all_paths(record: FormRecord, why: str) -> dict[str, str]:
    """Every value of a form whose text interleaves wrapped cells or runs labels together: none
    of them can be checked against the label it stood under, nor for being cut short. All of
    them, flagged or not, so the warning stays the same finding while a reviewer corrects values
    one by one."""
    paths = [p for p, _ in _texts(record)] + [p for p, _ in _amounts(record)]
    paths += [f"indicators[{i}].{f}" for i, ind in enumerate(record.indicators)
              for f in ("level1", "level2") if getattr(ind, f)]  # fmt: skip
    # wrapped rows can swallow an indicator or split one in two: the list itself is undecided
    return dict.fromkeys([*paths, "indicators"], why)


def _undecidable(reasons: dict[str, str]) -> Finding:
    """One warning for the values whose label (or extent) the text cannot decide."""
    paths = list(reasons)
    why = "; ".join(dict.fromkeys(reasons.values()))
    shown = ", ".join(paths[:6]) + (f" and {len(paths) - 6} more" if len(paths) > 6 else "")
    return finding(
        "warning",
        "grounding.undecidable",
        f"which label {len(paths)} value(s) stand under cannot be decided from this "
        f"text ({why}): check {shown} against the page",
        paths,
        reasons=reasons,
    )


def _target_in_parts(record: FormRecord, path: str, src: SourceIndex) -> bool:
    """A target composed from operator, number and unit columns (`| ≥ | 500 | 人次 |`) is
    grounded when one row holds its number and unit (the operator may be written in words)."""
    m = re.fullmatch(r"indicators\[(\d+)\]\.target", path)
    ind = record.indicators[int(m.group(1))] if m else None
    return bool(ind and any(_parts_on_row(ind, row) for row in src.rows))


def _parts_on_row(ind: Indicator, row: str) -> bool:
    if ind.value is None:
        return False
    cells = row.split("|")
    unit_ok = ind.unit is None or normalize(ind.unit) in cells
    return unit_ok and normalize(ind.value) in cells


def _repaired_amounts(
    record: FormRecord, src: SourceIndex, table: SourceIndex, vocab: Vocabulary
) -> list[Finding]:
    """Amounts the source only has with letter O for 0: a warning, unless the backend already
    reported the repair in meta["repairs"] (the checker turns those into the same warning)."""
    repairs = record.meta.get("repairs")
    reported = {str(r.get("path")) for r in repairs or [] if isinstance(r, dict)}
    out = []
    for path, value in _amounts(record):
        raw = src.repaired_raw(value, vocab.labels(path), table.rows)
        if raw and path not in reported:
            out.append(
                Finding(
                    severity="warning",
                    code="funding.amount_repaired",
                    message=f"{path} = {value} reads the OCR text {raw!r} with letter O as 0: confirm it",
                    paths=[path],
                    values={"raw": raw, "repair": "letter O read as 0", "value": value},
                )
            )
    return out


def _misplaced_targets(record: FormRecord, src: SourceIndex, missing: set[str]) -> list[Finding]:
    """A target that is in the source, but not on any row holding its indicator's name: values
    moved between indicators. Skipped when the name is on no single row (wrapped by the OCR)."""
    out = []
    for i, ind in enumerate(record.indicators):
        path = f"indicators[{i}].target"
        if not (ind.name and ind.target) or path in missing or f"indicators[{i}].name" in missing:
            continue
        name, target = normalize(ind.name), normalize(ind.target)
        # the rows printing the name as a cell of its own: a name wrapped over cells, or met
        # only inside a longer text (a goal opening with it), has no row to hold a target to
        rows = src.rows_of_cell.get(name, [])
        on_row = any(src.row_has(r, target) or _parts_on_row(ind, src.rows[r]) for r in rows)
        if rows and not on_row:
            out.append(
                Finding(
                    severity="error",
                    code="grounding.ungrounded",
                    message=f"target {ind.target!r} is in the source, but not on the row of "
                    f"indicator {ind.name!r}",
                    paths=[path, f"indicators[{i}].name"],
                    values={"value": ind.target, "name": ind.name},
                )
            )
    return out


def _texts(record: FormRecord) -> list[tuple[str, str]]:
    """(path, text) of every string value; a goal is grounded paragraph by paragraph."""
    out = [(f, v) for f in HEADER_FIELDS if "date" not in f and (v := getattr(record, f))]
    out += [(f, v) for f in CODE_FIELDS if (v := getattr(record, f))]
    out += [(f"extra_fields.{k}", v) for k, v in record.extra_fields.items() if v]
    for f in GOAL_FIELDS:
        text = getattr(record, f) or ""
        out.extend((f, line) for line in text.split("\n") if line.strip())
    for i, ind in enumerate(record.indicators):
        out.extend(
            (f"indicators[{i}].{f}", v) for f in ("name", "target") if (v := getattr(ind, f))
        )
        if ind.value and not ind.target:
            out.append((f"indicators[{i}].value", ind.value))
    return out


def _amounts(record: FormRecord) -> list[tuple[str, str]]:
    fields = ((f, getattr(record.funding, f)) for f in AMOUNT_FIELDS)
    return [(f"funding.{f}", v) for f, v in fields if v is not None and amount_value(v) is not None]


def _ungrounded_levels(
    record: FormRecord, src: SourceIndex, table: SourceIndex, vocab: Vocabulary
) -> list[tuple[str, str]]:
    """A level name is grounded by its own spelling, its suffix-less form, or (level 1) by a
    grounded level 2 that implies it: OCR often lost the merged level-1 cell."""
    out = []
    for i, ind in enumerate(record.indicators):
        level2_ok = ind.level2 is None or _level_in(ind.level2, src, table, vocab)
        if not level2_ok:
            out.append((f"indicators[{i}].level2", ind.level2 or ""))
        if ind.level1 and not _level_in(ind.level1, src, table, vocab):
            implied = vocab.parent_of(vocab.canonical_level(ind.level2))
            if not (level2_ok and implied == vocab.canonical_level(ind.level1)):
                out.append((f"indicators[{i}].level1", ind.level1))
    return out


def _level_forms(name: str, vocab: Vocabulary) -> set[str]:
    canon = vocab.canonical_level(name) or name
    suffix = vocab.spec.level_suffix or ""
    return {name, canon, canon.removesuffix(suffix), name.removesuffix(suffix)} - {""}


def _level_in(name: str, src: SourceIndex, table: SourceIndex, vocab: Vocabulary) -> bool:
    return any(src.has_text(form, table.whole) for form in _level_forms(name, vocab))


def _finding(path: str, value: str) -> Finding:
    shown = value if len(value) <= 40 else value[:40] + "…"
    return Finding(
        severity="error",
        code="grounding.ungrounded",
        message=f"{path} = {shown!r} is not in the form's source text",
        paths=[path],
        values={"value": value},
    )
