"""Read the tables of a chunk into one grid of cleaned cells.

Markdown pipe tables and HTML `<table>`s (MinerU/Docling write merged cells that way) both become
rows of `Cell`s that remember their source line and column. HTML rowspans are explicit merges, so
the merged text is copied into the rows below (marked `merged`), which is what fill-down would
infer; colspans leave the spanned columns empty, so "the next cell to the right" stays correct.
Spans are clamped to the table: never past its last row, and never adding more than a few cells
per cell the table holds (a hostile `colspan="1000000000"` would otherwise exhaust memory).
Empty rows, separator rows and rows repeated verbatim are dropped; footers are not table rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.parser import HTMLParser

from ...models import Cell, Grid
from ...vocab import Vocabulary
from ..clean import clean_text

# Possessive throughout: with backtracking, the spaces before and after an optional `|` could be
# split every way, so a long run of spaces inside a pipe row took quadratic time.
_SEPARATOR = re.compile(r"^\|?\s*+:?-{2,}+:?\s*+(?:\|\s*+:?-{2,}+:?\s*+)*+\|?\s*+$")
_PIPE = re.compile(r"(?<!\\)\|")


def is_table_line(line: str) -> bool:
    s = line.lstrip()
    return s.startswith("|") or s.lower().startswith(("<table", "<tr", "<td", "</t"))


def is_pipe_row(line: str) -> bool:
    """A table row written with pipes: two or more cells with text (`a | b`, `| a | b |`); a
    single cell followed by a pipe (`a |`) is the one-cell-per-line layout's, not a row."""
    if "|" not in line:
        return False
    parts = _PIPE.split(line) if "\\" in line else line.split("|")  # no escape: split plainly
    return sum(1 for part in parts if part.strip()) >= 2


def table_share(lines: Sequence[str]) -> tuple[float, float]:
    """(the markdown layout's score, the share of the text on lines no other layout counts:
    pipe rows and HTML table lines). One pass: the score is asked of every chunk."""
    total = hit = only = 0
    for line in lines:
        size = len(line.strip())
        if not size:
            continue
        total += size
        if is_pipe_row(line) or _is_html_line(line):
            hit += size
            only += size
        elif _SEPARATOR.match(line.strip()):
            hit += size
    return (hit / total, only / total) if total else (0.0, 0.0)


class Markdown:
    """Pipe tables and HTML tables: what MinerU, Marker, PaddleOCR and Docling write, and web
    pages' tables flattened to pipe rows (`label | value | ||||`)."""

    name = "markdown"

    def score(self, lines: Sequence[str]) -> float:
        """The share of the text on table rows (or separators, or HTML table lines)."""
        return table_share(lines)[0]

    def read(self, lines: Sequence[str], *, numbers: Sequence[int], vocab: Vocabulary) -> Grid:
        return Grid(rows=read_rows(lines, numbers), layout=self.name)


def _is_html_line(line: str) -> bool:
    return line.lstrip().lower().startswith(("<table", "<tr", "<td", "</t"))


def read_rows(lines: Sequence[str], numbers: Sequence[int] | None = None) -> list[list[Cell]]:
    """All table rows of `lines` (a chunk), in order; `numbers[i]` is the source line of
    `lines[i]` (default: 1, 2, 3...)."""
    numbers = numbers or range(1, len(lines) + 1)
    rows: list[list[Cell]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<table" in line.lower():
            end = _html_end(lines, i)
            html = "\n".join(lines[i : end + 1])
            rows.extend(_html_rows(html, numbers[i : end + 1]))
            i = end + 1
            continue
        if (line.lstrip().startswith("|") or is_pipe_row(line)) and not _SEPARATOR.match(
            line.strip()
        ):
            rows.append(_markdown_row(line, numbers[i]))
        i += 1
    return _drop_noise(rows)


def _markdown_row(line: str, lineno: int) -> list[Cell]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    # an escaped \| is part of a cell; rows without a backslash (nearly all) split plainly
    parts = re.split(r"(?<!\\)\|", body) if "\\" in body else body.split("|")
    # positional: keyword arguments cost twice as much, on every cell of every form
    return [Cell(clean_text(p), p.strip(), lineno, c) for c, p in enumerate(parts)]


# A page number printed between the rows of a table split over pages: `—29—`, `- 3 -`,
# `第 3 页 共 8 页`, `3/8`. It is no cell of the form (a PDF text layer read it as an indicator).
_PAGE_MARK = re.compile(
    r"[-—–－\s]*\d{1,4}[-—–－\s]*|第\s*\d+\s*页\s*(?:[,，/]?\s*共\s*\d+\s*页)?|\d{1,4}\s*/\s*\d{1,4}"
)


def _drop_noise(rows: list[list[Cell]]) -> list[list[Cell]]:
    """Drop empty rows, page numbers, and a row that repeats the row before it verbatim (OCR
    duplicated it)."""
    kept: list[list[Cell]] = []
    previous: tuple[str, ...] | None = None
    for row in rows:
        texts = tuple(c.text for c in row if c.text)
        if not texts or texts == previous or _is_page_mark(texts):
            continue
        kept.append(row)
        previous = texts
    return kept


def _is_page_mark(texts: tuple[str, ...]) -> bool:
    """A row holding nothing but a page number, dashes around it (`—`, `30`, `—`)."""
    joined = "".join(texts)
    return (
        len(joined) <= 16
        and any(ch.isdigit() for ch in joined)
        and bool(_PAGE_MARK.fullmatch(joined))
    )


def _html_end(lines: Sequence[str], start: int) -> int:
    for j in range(start, len(lines)):
        if "</table>" in lines[j].lower():
            return j
    return len(lines) - 1  # truncated table: read what is there


class _TableParser(HTMLParser):
    """Collects (row, text, raw, line, rowspan, colspan) from one HTML table."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[tuple[str, int, int, int]]] = []
        self._cell: list[str] | None = None
        self._span = (1, 1, 0)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            a = dict(attrs)
            self._cell = []
            self._span = (_int(a.get("rowspan")), _int(a.get("colspan")), self.getpos()[0])
            if not self.rows:
                self.rows.append([])
        elif tag in ("br", "p") and self._cell is not None:
            self._cell.append("<p>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(("".join(self._cell), *self._span))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def close(self) -> None:
        super().close()
        if self._cell is not None:  # cut off inside a cell
            self.handle_endtag("td")


def _int(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def _fill_pending(
    row: dict[int, Cell], pending: dict[int, tuple[Cell, int]], col: int, *, rest: bool = False
) -> int:
    """Copy rowspan cells from above into this row: the run of merged columns at `col`, or with
    `rest` (the row's own cells are used up) every merged column right of it. Returns next col."""
    if rest:
        cols = sorted(c for c in pending if c >= col)
    else:
        cols = []
        while col in pending:
            cols.append(col)
            col += 1
    for pc in cols:
        src, left = pending.pop(pc)
        row[pc] = Cell(src.text, src.raw, src.line, pc, src.repairs, merged=True)
        if left > 1:
            pending[pc] = (src, left - 1)
    return col


# Markup html.parser can finish inside its own `<…>`: a start tag whose quoted values close, an end
# tag, a comment, a declaration or processing instruction. Anything else (`<td colspan="2` cut
# off, `</td` or `<!--` with no end) made it rescan to the end of the table for every later `<`,
# quadratic on a broken table; and `<![x` or an unclosed `<script>` raised or swallowed the rest.
_MARKUP = re.compile(r"<(?=[a-zA-Z/!?])[^<>]*>?")
_UNCLOSED_VALUE = re.compile(r"""=\s*+(?:"[^"]*+"|'[^']*+'|(["']))""")
_CLOSED_OTHER = re.compile(r"</[^<>]*>|<!--[^<>]*-->|<![^<>\[-][^<>]*>|<\?[^<>]*>")
_RAW_TEXT_TAG = re.compile(r"<(?:script|style)\b", re.I)  # html.parser reads to their end tag


def _markup_as_text_unless_closed(html: str) -> str:
    """Escape the `<` of markup that does not close before the next `<`: OCR debris, kept as text."""

    def keep_or_escape(m: re.Match[str]) -> str:
        seg = m.group(0)
        if seg[1].isalpha():
            closed = seg.endswith(">") and not any(
                v.group(1) for v in _UNCLOSED_VALUE.finditer(seg)
            )
            closed = closed and not _RAW_TEXT_TAG.match(seg)
        else:
            closed = bool(_CLOSED_OTHER.fullmatch(seg))
        return seg if closed else "&lt;" + seg[1:]

    return _MARKUP.sub(keep_or_escape, html)


# Spans add cells (a rowspan copies its cell down, a colspan leaves blanks, a copy far right pads
# its row): a table may add at most this many per cell it holds, plus a floor for small tables.
# Real forms add fewer than one (the district fixture: 56 for 70 cells); `colspan="1000000000"`
# in a 32 KB file allocated until MemoryError.
SPAN_CELLS_PER_CELL = 4
SPAN_CELLS_FLOOR = 64


def _clamp_spans(rowspan: int, colspan: int, rows_below: int, budget: int) -> tuple[int, int]:
    """Spans within the table's real extent: a rowspan never reaches past the last row (those
    copies were never made anyway), and no span once the table's budget is spent."""
    budget = max(0, budget)
    return (min(rowspan, 1 + rows_below) if budget else 1), min(colspan, 1 + budget)


def _html_rows(html: str, numbers: Sequence[int]) -> list[list[Cell]]:
    parser = _TableParser()
    parser.feed(_markup_as_text_unless_closed(html))
    parser.close()
    grid: list[list[Cell]] = []
    pending: dict[int, tuple[Cell, int]] = {}  # column -> (cell copied down, rows left)
    budget = max(SPAN_CELLS_FLOOR, SPAN_CELLS_PER_CELL * sum(map(len, parser.rows)))
    for r, raw_row in enumerate(parser.rows):
        rows_below = len(parser.rows) - r - 1
        row: dict[int, Cell] = {}
        col = 0
        for own, (raw, asked_rowspan, asked_colspan, line) in enumerate(raw_row):
            added = len(row) - own  # cells spans put in this row so far
            rowspan, colspan = _clamp_spans(
                asked_rowspan, asked_colspan, rows_below, budget - added
            )
            col = _fill_pending(row, pending, col)
            cell = Cell(clean_text(raw), raw.strip(), numbers[min(line, len(numbers)) - 1], col)
            row[col] = cell
            if rowspan > 1:
                pending[col] = (cell, rowspan - 1)
            for k in range(1, colspan):
                row[col + k] = Cell("", "", cell.line, col + k)
                if rowspan > 1:  # a block merged both ways covers its columns in the rows below too
                    pending[col + k] = (row[col + k], rowspan - 1)
            col += colspan
        _fill_pending(row, pending, col, rest=True)
        width = max(row, default=-1) + 1
        budget -= width - len(raw_row)
        if budget <= 0:  # spent: the rest of the table is read without spans
            pending.clear()
        grid.append([row.get(c, Cell("", "", numbers[0], c)) for c in range(width)])
    return grid
