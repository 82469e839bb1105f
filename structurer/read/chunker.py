"""Split a document into one chunk per 申报表.

A form starts at its title (one of the vocabulary's titles; OCR may put spaces inside it, a `#` in
front or make it the first row of the form's own table) and runs to the next title. Continuation tables
after a page break carry no title, so they stay with the form before them. A title that repeats
the one just above it, with no table in between, is the same form. A table row that opens a
second project-name label inside one chunk means the OCR lost a title: the chunk is split there.
"""

from __future__ import annotations

import re

from ..models import Chunk
from ..vocab import Vocabulary, resolve
from .clean import squash, to_halfwidth
from .layouts.markdown import is_table_line

_YEAR_RE = re.compile(r"[(（]\s*(\d{4})\s*年\s*度?\s*[)）]|(\d{4})\s*年度")


def _title_lines(lines: list[str], vocab: Vocabulary) -> list[int]:
    """0-based indexes of lines holding a form title, repeats of the same title merged."""
    found: list[int] = []
    table_since_last = True
    html_open: int | None = None  # line of an HTML <table> not yet closed
    for i, line in enumerate(lines):
        low = line.lower()
        if "<table" in low:
            html_open = i
        if vocab.title_pattern.search(line) and not vocab.is_heading(line):
            if table_since_last:
                # a title in a row of a multi-line HTML table: the form starts at its <table>
                found.append(html_open if html_open is not None and html_open > _last(found) else i)
            table_since_last = False
        elif is_table_line(line) and squash(line.replace("|", "")):
            table_since_last = True
        if "</table>" in low:
            html_open = None
    return found


def _last(found: list[int]) -> int:
    return found[-1] if found else -1


def _has_name_label(line: str, vocab: Vocabulary) -> bool:
    return is_table_line(line) and any(
        label in squash(line) for label in vocab.labels("project_name")
    )


def _lost_title_splits(lines: list[str], start: int, end: int, vocab: Vocabulary) -> list[int]:
    """Starts of forms whose title the OCR lost: each project-name row after the first."""
    starts = []
    seen_name = False
    previous_row = ""
    for i in range(start, end):
        row = squash(lines[i]) if is_table_line(lines[i]) else ""
        if not row.strip("|-: "):
            continue  # separator or empty row: not a row of the form
        if (
            _has_name_label(lines[i], vocab) and row != previous_row
        ):  # a row printed twice is one row
            if seen_name:
                starts.append(_table_start(lines, i, start))
            seen_name = True
        previous_row = row
    return starts


def _table_start(lines: list[str], i: int, floor: int) -> int:
    """First line of the table holding line i when i is its first data row, else i itself."""
    j = i
    while j - 1 > floor and is_table_line(lines[j - 1]):
        j -= 1
        if squash(lines[j].replace("|", "").replace("-", "").replace(":", "")):
            return i  # a data row above: the split is inside the table, at row i
    return j


def find_year(text: str) -> int | None:
    m = _YEAR_RE.search(to_halfwidth(text))
    return int(m.group(1) or m.group(2)) if m else None


def split_forms(text: str, vocab: Vocabulary | None = None) -> tuple[str | None, list[Chunk]]:
    """Return (document heading, chunks). Lines are 1-based and inclusive in each chunk."""
    vocab = resolve(vocab)
    lines = text.split("\n")
    starts = _title_lines(lines, vocab)
    if not starts:  # no title at all: forms start at their project-name rows
        first = next((i for i, ln in enumerate(lines) if _has_name_label(ln, vocab)), None)
        if first is None:
            return _heading(lines, len(lines)), []
        starts = [_table_start(lines, first, -1)]
    bounds = []
    for n, s in enumerate(starts):
        e = starts[n + 1] if n + 1 < len(starts) else len(lines)
        bounds.extend((a, b) for a, b in _split_lost_titles(lines, s, e, vocab))
    chunks = []
    for a, b in bounds:
        b = _trim_end(lines, a, b)
        body = "\n".join(lines[a:b])
        head = "\n".join(lines[a : min(b, a + 4)])
        chunks.append(
            Chunk(
                index=len(chunks) + 1, year=find_year(head), start_line=a + 1, end_line=b, text=body
            )
        )
    return _heading(lines, starts[0]), chunks


def _split_lost_titles(
    lines: list[str], s: int, e: int, vocab: Vocabulary
) -> list[tuple[int, int]]:
    cuts = [s, *_lost_title_splits(lines, s, e, vocab), e]
    return [(cuts[k], cuts[k + 1]) for k in range(len(cuts) - 1)]


def _trim_end(lines: list[str], a: int, b: int) -> int:
    while b > a + 1 and not lines[b - 1].strip():
        b -= 1
    return b


def _heading(lines: list[str], before: int) -> str | None:
    """The document's own heading (e.g. a unit's 项目绩效目标汇总表) above the first form."""
    for line in lines[:before]:
        s = line.strip().lstrip("#").strip()
        if s and not is_table_line(s):
            return re.sub(r"\s+", "", s)
    return None
