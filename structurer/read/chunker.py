"""Split a document into one chunk per form, whatever its layout.

A form starts at its title: a line that ends with one of the vocabulary's titles (a project name
or a year may stand in front, a bracketed qualifier after; OCR may put spaces inside, a `#` in
front, or make it the first row of the form's own table). Titles with no form content between
them are one form: a title printed again (as the table's first row) repeats the form's start; a
different one (a page or document heading above the form's own title) gives way to it. A chunk runs to the next form's title; continuation tables after a
page break carry no title, so they stay with the form before them. A chunk holding no form
content at all (a narrative sentence naming the table) is no form. A second project-name row
inside one chunk means the OCR lost a title: the chunk is split there. A document with no title
at all starts its forms at their project-name rows.

The form's year comes from its title or the lines just under it, else from the page heading
above it (a page heading `2018年<project><title>` over the bare title, or a short heading line
with a year, `某县2023年部门预算`, just above the form).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..models import Chunk
from ..vocab import Vocabulary, label_key, resolve
from .clean import squash, strip_html, to_halfwidth
from .layouts.markdown import is_table_line

_YEAR_PATTERNS = (
    re.compile(r"[(（]\s*(\d{4})\s*年\s*度?\s*[)）]"),  # (2024年度)  （2026 年度）  (2023年)
    re.compile(r"(\d{4})\s*年度"),  # 2020年度) with its bracket lost, 2024年度项目...
    re.compile(r"^(\d{4})\s*年(?!\s*\d{1,2}\s*月)"),  # a title that starts with its year
)
# A page heading's year (`某县2023年部门预算`): a year in a short line, not a date (`2023年3月`).
_HEADING_YEAR = re.compile(r"((?:19|20)\d{2})\s*年(?!\s*\d{1,2}\s*月)")
_MAX_HEADING = 40  # characters: longer lines above a form are prose, not its page heading
_PROSE = re.compile(r"[,，。;；:：]")  # a line with a clause break is a sentence, not a heading
_QUALIFIERS = re.compile(r"(?:[(（][^()（）]{0,20}[)）])+$")
_LEADING_QUALIFIERS = re.compile(r"^(?:[(（][^()（）]{0,20}[)）])+")
# characters after a glued title searched for the form's first label (OCR may put debris first)
_GLUED_LABEL = 10
_CELL_SPLIT = re.compile(r"\s*\|\s*|\s{2,}|(?<=\S)\s(?=\S)")
_CELL_END = re.compile(r"</t[dh]\s*>", re.I)
_MAX_TITLE_PREFIX = 60  # characters before the title word: a project name, a year, a unit
_HEAD_LINES = 4  # lines of a chunk searched for the form's year: the title and the lines under it


@lru_cache(maxsize=8192)  # a document prints its title, page heads and header rows again and again
def title_text(line: str) -> str:
    """A line as a title would read: no tags, no table borders, no spaces, plain brackets."""
    text = strip_html(line).replace("#", " ")
    cells = [c for c in re.split(r"\|", text) if c.strip()]
    text = cells[0] if len(cells) == 1 else text  # a title row alone in its table
    return to_halfwidth(squash(text), signs=True)


def bare_title(line: str) -> str:
    """A title as compared and taken apart: its text without the bracketed qualifiers at its end."""
    return _QUALIFIERS.sub("", title_text(line))


def is_title(line: str, vocab: Vocabulary) -> bool:
    """A line that ends with a form title (after any bracketed qualifiers), not a summary
    table's: a title the vocabulary lists or one of its pattern (…绩效目标…表)."""
    if not vocab.title_end_chars.search(line):
        return False
    text = title_text(line)
    if not text or len(text) > _MAX_TITLE_PREFIX + 20 or vocab.is_heading(text):
        return False
    m = vocab.title_end_pattern.search(_QUALIFIERS.sub("", text))
    return m is not None and m.start() <= _MAX_TITLE_PREFIX


_WRAP_MIN = 10  # characters of a title's first line when the title wraps: a line-wide name
# ... and of a first line above a line that is a whole title by itself: a wrap then leaves the
# first line as wide as the page, where a page heading above a title (某县2023年部门预算公开) is short.
_WRAP_WIDE = 20
# A title holds no clause: text above it that does is not its part.
_SENTENCE = re.compile(r"[。；;：:，,%]")


def wrapped_title(lines: list[str], i: int, vocab: Vocabulary) -> bool:
    """Line i ends a title whose first part is the line above: a long title (a unit and a
    project in front: `301007_<unit>_<proj` / `ect><title>`) wrapped over two lines, inside
    a word or not. The line above is bare text (no table, no label, not a title of its own), as
    long as a wrapped line is, so a heading or a page number above a title is not taken in."""
    if i == 0 or not vocab.title_end_chars.search(lines[i]):
        return False
    above, here = lines[i - 1], lines[i]
    if is_table_line(above) or is_table_line(here) or "<" in above:
        return False
    head = title_text(above)
    if len(head) < _WRAP_MIN or " " in above.strip() or _SENTENCE.search(head):
        return False  # short, words apart or a sentence: a heading or the form before's text
    if is_title(above, vocab):
        return False
    if is_content(above, vocab):
        return False
    if is_title(here, vocab) and len(head) < _WRAP_WIDE:
        return False  # a whole title under a short line: a heading above it, not its first part
    return is_title(above.strip() + here.strip(), vocab)


def glued_title(line: str, vocab: Vocabulary) -> bool:
    """A title with the form's first label glued after it on the same line (OCR that runs a
    whole form together: `<title>(2023年度)<first label>…`)."""
    if not vocab.title_end_chars.search(line):
        return False
    text = title_text(line)
    m = vocab.title_pattern.search(text)
    if m is None or m.start() > _MAX_TITLE_PREFIX or vocab.is_heading(text[: m.end()]):
        return False
    rest = _LEADING_QUALIFIERS.sub("", text[m.end() :])[:_GLUED_LABEL]
    return any(
        vocab.is_label(rest[i:j]) for i in range(len(rest)) for j in range(i + 4, len(rest) + 1)
    )


def is_content(line: str, vocab: Vocabulary) -> bool:
    """A line that belongs to a form's body: a table row with text, or a line holding a label, a
    level name or an indicator column header of the vocabulary."""
    if is_table_line(line) and squash(line.replace("|", "")):
        return True
    cells = line_cells(line)
    return any(
        vocab.is_label(c)
        or vocab.canonical_level(c)
        or vocab.is_label(c.split(":")[0].split("：")[0])
        for c in cells[:6]
    )


def line_cells(line: str) -> list[str]:
    """A line's cells as the chunker sees them: split at pipes (and HTML cell ends) in a table
    row, where a cell OCR wrapped keeps its inner spaces (`项目名 称`); at spaces in a row of
    words."""
    text = strip_html(_CELL_END.sub("|", line)).strip()
    if "|" in text:
        return [c.strip() for c in text.split("|") if c.strip()]
    return [c for c in _CELL_SPLIT.split(text) if c]


def find_year(text: str) -> int | None:
    """The form year a title or heading line states, None if it states none."""
    plain = to_halfwidth(text.strip().lstrip("#|").strip(), signs=True)
    for pattern in _YEAR_PATTERNS:
        if m := pattern.search(plain):
            return int(m.group(1))
    return None


def _title_starts(lines: list[str], vocab: Vocabulary) -> list[int]:
    """0-based lines where forms start: the last title of each run of titles with no content
    between them (a title in a row of a multi-line HTML table: the table's <table> line)."""
    starts: list[int] = []
    content_since = True  # content seen since the last title
    last_title = ""
    html_open: int | None = None  # line of an HTML <table> not yet closed
    for i, line in enumerate(lines):
        low = line.lower()
        if "<table" in low:
            html_open = i
        ends = vocab.title_end_chars.search(line) is not None  # every title ends in one
        wrapped = ends and wrapped_title(lines, i, vocab)
        if ends and (wrapped or is_title(line, vocab) or glued_title(line, vocab)):
            start = html_open if html_open is not None and html_open > _last(starts) else i
            if wrapped and start == i:  # the title's first line is the form's first line
                start, line = i - 1, lines[i - 1].strip() + line.strip()
            if start > 0 and vocab.is_table_number(lines[start - 1]):
                start -= 1  # the table's number printed above its title (表14) is the form's
            title = bare_title(line)
            if content_since:
                starts.append(start)
            elif title != last_title:  # a page heading above the form's own title: start here
                starts[-1] = start
            # else the title printed again (as the table's first row): the form started above
            content_since, last_title = False, title
        elif not content_since and is_content(line, vocab):  # only asked until the form's body
            content_since = True
        if "</table>" in low:
            html_open = None
    return starts


def _last(found: list[int]) -> int:
    return found[-1] if found else -1


def _name_row(line: str, vocab: Vocabulary) -> str | None:
    """The row's text when a cell of it is a project-name label (the start of a form's body)."""
    ends = vocab.label_ends("project_name")
    if ends is not None and not any(a in line and b in line for a, b in ends):
        return None
    cells = line_cells(line)
    names = set(vocab.labels("project_name"))
    if any(label_key(c).split(":")[0] in names for c in cells[:3]):
        return squash(line).strip("|")
    return None


def _lost_title_splits(lines: list[str], start: int, end: int, vocab: Vocabulary) -> list[int]:
    """Starts of forms whose title the OCR lost: each new project-name row after the first (a
    row printed again, such as a list table's header repeated on the next page, is no new form)."""
    starts = []
    seen: set[str] = set()
    for i in range(start, end):
        row = _name_row(lines[i], vocab)
        if row is None:
            continue
        if seen and row not in seen:
            starts.append(_table_start(lines, i, start))
        seen.add(row)
    return starts


def _table_start(lines: list[str], i: int, floor: int) -> int:
    """First line of the table holding line i when i is its first data row, else i itself."""
    j = i
    while j - 1 > floor and is_table_line(lines[j - 1]):
        j -= 1
        if squash(lines[j].replace("|", "").replace("-", "").replace(":", "")):
            return i  # a data row above: the split is inside the table, at row i
    return j


def split_forms(text: str, vocab: Vocabulary | None = None) -> tuple[str | None, list[Chunk]]:
    """Return (document heading, chunks). Lines are 1-based and inclusive in each chunk."""
    heading, chunks, _ = split_document(text, vocab)
    return heading, chunks


def split_document(
    text: str, vocab: Vocabulary | None = None
) -> tuple[str | None, list[Chunk], list[str]]:
    """(document heading, chunks, the tables set aside as not project forms: `not_forms`
    titles with their line; the chunker ends the form before at them and reads none)."""
    vocab = resolve(vocab)
    lines = text.split("\n")
    starts = _title_starts(lines, vocab)
    if not starts:  # no title at all: forms start at their project-name rows
        first = next((i for i, ln in enumerate(lines) if _name_row(ln, vocab)), None)
        if first is None:
            return _heading(lines, len(lines)), [], []
        starts = [_table_start(lines, first, -1)]
    bounds = []
    for n, s in enumerate(starts):
        e = starts[n + 1] if n + 1 < len(starts) else len(lines)
        bounds.extend(_split_lost_titles(lines, s, e, vocab))
    bounds = _join_repeated_pages(lines, bounds, vocab)
    bounds = _join_continuations(lines, bounds, vocab)
    chunks: list[Chunk] = []
    aside: list[str] = []
    previous_end = 0
    for a, b in bounds:
        b = _trim_end(lines, a, b)
        if not any(is_content(ln, vocab) or glued_title(ln, vocab) for ln in lines[a:b]):
            continue  # a title with no form after it (a sentence naming the table)
        if (t := _not_form_title(lines, a, vocab)) is not None:
            aside.append(f"{bare_title(lines[t])} (line {t + 1})")  # a department-wide table
            continue
        year = _form_year(lines, a, b, previous_end, vocab)
        chunks.append(
            Chunk(
                index=len(chunks) + 1,
                year=year,
                start_line=a + 1,
                end_line=b,
                text="\n".join(lines[a:b]),
            )
        )
        previous_end = b
    return _heading(lines, starts[0]), chunks, aside


def _join_repeated_pages(
    lines: list[str], bounds: list[tuple[int, int]], vocab: Vocabulary
) -> list[tuple[int, int]]:
    """A page that repeats the previous page's title and table header (a list table printed over
    several pages) continues that form: its first lines are the same, not a new project's."""
    out: list[tuple[int, int]] = []
    for a, b in bounds:
        head = _head(lines, a, b, vocab)
        if out and head is not None and _head(lines, *out[-1], vocab) == head:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _not_form_title(lines: list[str], a: int, vocab: Vocabulary) -> int | None:
    """The line of the chunk's title (in its first lines) when it names a table that is not a
    project form, else None."""
    return next(
        (
            i
            for i in range(a, min(len(lines), a + _HEAD_LINES))
            if is_title(lines[i], vocab) and vocab.is_not_form(bare_title(lines[i]))
        ),
        None,
    )


def _join_continuations(
    lines: list[str], bounds: list[tuple[int, int]], vocab: Vocabulary
) -> list[tuple[int, int]]:
    """A page that prints the form's title again over nothing but indicator rows (烟台's
    template repeats its title on every page) continues the form before it: a new form would
    print its header (its project's name, its funding) under its title."""
    out: list[tuple[int, int]] = []
    names = vocab.labels("project_name")
    for a, b in bounds:
        if (
            out
            and _title(lines, a, b) == _title(lines, *out[-1])
            # a page naming a project in its first lines is a new form: told before the test
            # of every cell
            and not any(n in line for line in lines[a : a + _PAGE_HEAD * 2] for n in names)
            and _only_indicators(lines, a, b, vocab)
        ):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _only_indicators(lines: list[str], a: int, b: int, vocab: Vocabulary) -> bool:
    """Lines holding indicator rows (a level name in a cell) and no field's label (a form's
    header has one in its first rows, so a form is told apart at once)."""
    level = False
    for line in lines[a:b]:
        if line.lstrip().lower().startswith("<table"):
            continue
        for cell in line_cells(line):
            if vocab.fields_of(cell):
                return False
            level = level or bool(vocab.canonical_level(cell))
    return level


def _title(lines: list[str], a: int, b: int) -> str | None:
    return next((bare_title(ln) for ln in lines[a:b] if ln.strip()), None)


_PAGE_HEAD = 4  # lines compared: title, unit line, header rows


def _head(lines: list[str], a: int, b: int, vocab: Vocabulary) -> tuple[str, ...] | None:
    """The first lines of a chunk, squashed; None when they hold a project name (a new form)."""
    head = tuple(squash(ln) for ln in lines[a:b] if ln.strip())[:_PAGE_HEAD]
    if len(head) < _PAGE_HEAD or any(
        _name_row(ln, vocab) and _named(ln, vocab) for ln in lines[a : a + 8]
    ):
        return None
    return head


def _named(line: str, vocab: Vocabulary) -> bool:
    """A project-name row that also holds a name (not a header that only names the column)."""
    cells = line_cells(line)
    return len(cells) >= 2 and not all(vocab.is_label(c) for c in cells)


def _form_year(
    lines: list[str], a: int, b: int, previous_end: int, vocab: Vocabulary
) -> int | None:
    """From the title and the lines under it (a title may say its year anywhere in it:
    自治区本级部门2019年项目支出…表), else the nearest heading above the form."""
    for line in lines[a : min(b, a + _HEAD_LINES)]:
        if (year := find_year(line)) is not None:
            return year
        if is_title(line, vocab) and (m := _HEADING_YEAR.search(title_text(line))):
            return int(m.group(1))
    above = lines[previous_end:a]
    for line in reversed(above):
        if (is_title(line, vocab) or _is_year_line(line)) and (year := find_year(line)):
            return year
    for line in reversed([ln for ln in above if ln.strip()][-_HEAD_LINES:]):
        plain = to_halfwidth(squash(strip_html(line)).strip("#|"), signs=True)
        heading = len(plain) <= _MAX_HEADING and not _PROSE.search(plain)
        if heading and (m := _HEADING_YEAR.search(plain)):
            return int(m.group(1))
    return None


def _is_year_line(line: str) -> bool:
    return bool(_YEAR_PATTERNS[0].fullmatch(to_halfwidth(squash(line), signs=True)))


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
    """The document's own heading (e.g. a unit's summary table title) above the first form."""
    for line in lines[:before]:
        s = line.strip().lstrip("#").strip()
        if s and not is_table_line(s):
            return re.sub(r"\s+", "", s)
    return None
