"""A project named only in its form's title: `<project><title>`, `<code>_<unit>_<project><title>`.

Some templates (泉州's) print no project-name row: the title above the table is the only place the
project is named, and a unit's budget code and name may stand in front of it. The title is read
from the chunk's lines above its table (a title wrapped over two lines is one title, as the
chunker found it), and only on a form that prints no project-name label: where the label is
printed, its value is the name. Every such read is said in an info finding, so a reviewer sees
where the name came from.
"""

from __future__ import annotations

import re

from ..checks.finding import finding
from ..models import FormRecord, Grid
from ..read.chunker import bare_title, is_content, is_title, wrapped_title
from ..read.layouts.markdown import is_table_line
from ..read.values import split_code
from ..vocab import Vocabulary

# What may stand before a project's name in a title: a table number (`预算14表-1`, `表14-1`,
# `1.`), then a year.
_TABLE_NUMBER = re.compile(r"^(?:[\u4e00-\u9fff]{0,2}\d+表|表\s*\d+)(?:\s*[-—－]\s*\d+)*|^\d+[.、]")
_YEAR = re.compile(r"^\d{4}\s*年(?:度)?")


def read_title_name(text: str, grid: Grid, record: FormRecord, vocab: Vocabulary) -> None:
    """Fill project_name (and the unit with its code, when the title carries them) from the
    form's title, when the form prints no project-name label."""
    if record.project_name is not None or _prints_name_label(grid, vocab):
        return
    title = form_title(text, vocab)
    parts = title_parts(title, vocab) if title else None
    if parts is None:
        return
    name, unit, code = parts
    record.project_name = name
    paths = ["project_name"]
    if unit and record.implementing_unit is None:
        record.implementing_unit, record.implementing_unit_code = unit, code
        paths += ["implementing_unit"] + (["implementing_unit_code"] if code else [])
    record.findings.append(
        finding(
            "info",
            "extract.title_name",
            f"{', '.join(paths)} read from the form's title {title!r}: the form prints no "
            "project-name label",
            paths,
            title=title,
        )
    )


def form_title(text: str, vocab: Vocabulary) -> str | None:
    """The form's own title: the last title among the lines above its table (two lines joined
    where the title wraps)."""
    lines = text.split("\n")
    found = None
    for i, line in enumerate(lines):
        if is_table_line(line) or is_content(line, vocab):
            break
        if wrapped_title(lines, i, vocab):
            found = lines[i - 1].strip() + line.strip()
        elif is_title(line, vocab):
            found = line.strip()
    return found


def title_parts(title: str, vocab: Vocabulary) -> tuple[str, str | None, str | None] | None:
    """(project name, unit, unit code) of a title, None when it names no project: what stands
    before the title word, less a leading year and `<code>_<unit>_`, less the table's own words."""
    text = bare_title(title)
    m = vocab.title_end_pattern.search(text)
    if m is None:
        return None
    before = _YEAR.sub("", _TABLE_NUMBER.sub("", text[: m.start()]))
    rest, code = split_code(before)
    unit = None
    if code and rest and rest.count("_") == 1:
        unit, rest = rest.split("_")
    name = vocab.title_generic.sub("", rest or "").strip("_- ")
    if len(name) < 2 or (unit is not None and not unit):
        return None
    return name, unit, code if unit else None


def _prints_name_label(grid: Grid, vocab: Vocabulary) -> bool:
    return any(
        "project_name" in vocab.fields_of(c.text) for row in grid.rows for c in row if c.text
    )
