"""The prompt: a versioned template from `prompts/` and the form shown as a compact grid.

The grid drops empty cells and markdown padding, and numbers rows and columns so the model can
still tell which label a value follows; on the seed it is a fraction of the raw chunk's tokens
(`benchmarks/bench_tokens.py`). A row's id is its source line, `<line>.<k>` when several rows
share a line (an HTML table printed on one line); re-asks point at cells by the same ids. The
form travels between data markers the instructions call data, never instructions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from ..errors import StructurerError
from ..models import Cell, Chunk, Grid
from ..read.clean import clean_text
from ..read.packed import packed_text_cell, project_extent
from ..read.structure import grid_parts
from ..vocab import Vocabulary


def _prompts_dir() -> Path:
    """prompts/ of a source checkout, else the copy a wheel installs as structurer/prompts."""
    here = Path(__file__).resolve()
    checkout, installed = here.parents[2] / "prompts", here.parents[1] / "prompts"
    return checkout if (checkout / "manifest.json").exists() else installed


PROMPTS_DIR = _prompts_dir()
_MARKER = re.compile(r"^<!--\s*(system|user)\s*-->\s*$", re.M)
_TABLE_LINE = re.compile(r"^\s*(\||<)")
# Loose text lines that carry nothing for the model: the year line and page footers (titles are
# recognised by the vocabulary).
_SKIP_TEXT = re.compile(r"^([(（]\s*\d{4}\s*年度?\s*[)）]|第\s*\d+\s*页.*)$")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
# The markers the form travels between (the template names them); a cell that spells one is
# defused so that no cell text can end the data early.
_DATA_MARKER = re.compile(r"<\s*/?\s*form_data\s*>", re.I)
_SEPARATORS = re.compile(r"[,，\s]")


@dataclass(frozen=True)
class Prompt:
    version: str  # e.g. extract-v2: part of the cache key and of every record's meta
    system: Template  # filled with the vocabulary's labels, titles and hierarchy
    user: Template
    sha: str  # of the template text: an edit without a version bump still misses the cache

    def system_text(self, vocab: Vocabulary) -> str:
        return _system_text(self.system, vocab)

    def messages(self, chunk: Chunk, grid: Grid, vocab: Vocabulary) -> list[dict[str, str]]:
        user = self.user.substitute(
            index=chunk.index, year=chunk.year or "?", grid=render_form(chunk, grid, vocab)
        )
        system = self.system_text(vocab)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@cache
def _system_text(template: Template, vocab: Vocabulary) -> str:
    """The instructions with the vocabulary filled in: the same text for every form of a run, so
    providers can cache the prefix."""
    spec = vocab.spec
    return template.substitute(
        titles=", ".join(vocab.titles),
        units=", ".join(vocab.units),
        labels="\n".join(f"- {path}: {' | '.join(labels)}" for path, labels in spec.fields.items()),
        columns="; ".join(
            f"{col}: {' | '.join(labs)}" for col, labs in spec.indicator_columns.items()
        ),
        hierarchy=_hierarchies(vocab),
    )


def _hierarchies(vocab: Vocabulary) -> str:
    """The default hierarchy, then each template family's, said to replace it on a form that
    prints the family's own level-1 names: the same text for every form, whatever its family."""

    def tree(levels: dict[str, list[str]]) -> list[str]:
        return [f"  {l1}: {', '.join(kids)}" for l1, kids in levels.items()]

    out = tree(vocab.spec.levels)
    for key, signs in vocab.family_signs.items():
        name = vocab.spec.families[key].name or key
        out += [f"A form that prints {' or '.join(signs)} ({name}) uses its own hierarchy instead:"]
        out += tree(vocab.spec.families[key].levels)
    return "\n".join(out)


@cache
def load_prompt(
    name: str | None = None, directory: Path = PROMPTS_DIR, task: str = "extract"
) -> Prompt:
    """A prompt from the registry (prompts/manifest.json: name -> template file): `name` is a
    registered version (`extract-v2`), a template file's path, or None for the task's current
    version. A new prompt is a file (and a manifest line), not a code change."""
    if name and _is_file(name, directory):
        path = Path(name)
        return parse_prompt(path.stem, _read(path))
    manifest = prompt_registry(directory)
    version = name or manifest["current"].get(task)
    entry = manifest["prompts"].get(version or "")
    if entry is None:
        known = ", ".join(manifest["prompts"])
        raise StructurerError(f"no prompt {version!r} in {directory}/manifest.json; known: {known}")
    return parse_prompt(str(version), _read(directory / entry["file"]))


def prompt_registry(directory: Path = PROMPTS_DIR) -> dict[str, Any]:
    """The manifest: `current` (task -> version) and `prompts` (version -> file, notes)."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        manifest["current"], manifest["prompts"]  # both tables, or an error
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise StructurerError(f"{directory}/manifest.json: not a prompt registry: {exc}") from None
    return dict(manifest)


def parse_prompt(version: str, text: str) -> Prompt:
    """A template's `<!-- system -->` and `<!-- user -->` parts; its sha is of the whole text."""
    parts = dict(zip(*[iter(_MARKER.split(text)[1:])] * 2, strict=True))
    if set(parts) != {"system", "user"}:
        raise StructurerError(f"prompt {version}: needs <!-- system --> and <!-- user --> parts")
    sha = hashlib.sha256(text.encode()).hexdigest()[:12]
    system, user = Template(parts["system"].strip()), Template(parts["user"].strip())
    return Prompt(version, system, user, sha)


def _is_file(name: str, directory: Path) -> bool:
    return name.endswith((".md", ".txt")) or "/" in name or Path(name).is_file()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StructurerError(f"{path}: prompt template not readable: {exc}") from None


def row_ids(grid: Grid) -> list[str]:
    """One id per grid row: its source line, or `<line>.<k>` for the k-th of several rows that
    share a line (an HTML table printed on one line would otherwise give every row one id)."""
    lines = [row[0].line if row else 0 for row in grid.rows]
    shared = Counter(lines)
    seen: Counter[int] = Counter()
    ids = []
    for line in lines:
        seen[line] += 1
        ids.append(str(line) if shared[line] == 1 else f"{line}.{seen[line]}")
    return ids


def render_row(row_id: str, row: list[Cell]) -> str:
    """`R<id> <col>:<text> | <col>:<text>`, empty cells dropped ("" when all are empty)."""
    cells = [f"{c.col}:{_one_line(c.text)}" for c in row if c.text]
    return f"R{row_id} " + " | ".join(cells) if cells else ""


def render_grid(grid: Grid, keep: set[int] | None = None) -> str:
    """The grid, one rendered row per line (only the rows whose index is in `keep`, when given)."""
    rows = (
        render_row(rid, row)
        for k, (rid, row) in enumerate(zip(row_ids(grid), grid.rows, strict=True))
        if keep is None or k in keep
    )
    return "\n".join(r for r in rows if r)


def render_form(chunk: Chunk, grid: Grid, vocab: Vocabulary) -> str:
    """The grid plus the chunk's lines no grid row holds (a unit line, a goal written below the
    table), with any data marker a cell spells defused. A chunk whose layout gave no grid at all
    is sent as its text, line by line: the model reads what the rules could not."""
    in_grid = {c.line for row in grid.rows for c in row}
    lines = [
        ln
        for ln, n in zip(chunk.text.split("\n"), chunk.line_numbers, strict=False)
        if n not in in_grid
    ]
    loose = _loose_text("\n".join(lines), vocab, keep_all=not grid.rows)
    extra = [f"text: {t}" for t in dict.fromkeys(loose)]  # a title printed on every page once
    own = _own_rows(grid, vocab)
    if packed_text_cell(grid, vocab) is not None:
        # a packed list's text layer is read line by line (read.packed): its lines print a piece
        # of each column side by side, so the model gets them as printed, one row per line
        extra, body = [], "\n".join(f"R{n} 0:{_one_line(t)}" for n, t in grid.lines if t.strip())
    else:
        body = render_grid(grid, _with_context(grid, vocab, own) if own else None)
    extra += _which_project(grid, vocab, own)
    return _DATA_MARKER.sub("[form_data]", "\n".join([*extra, body]))


def _own_rows(grid: Grid, vocab: Vocabulary) -> list[int]:
    """The grid rows (indices) of the list project a form names, when the table's cells keep
    the projects' rows apart (not an interleaved text layer): the rows all of whose cells are
    the project's. Empty when the form is no list project or its rows cannot be told apart."""
    if grid.project_line is None:
        return []
    parts = grid_parts(grid, vocab)
    if parts.table is None or parts.interleaved:
        return []
    mine = {(c.line, c.text) for row in parts.table.rows for c in row if c.text}
    cells = [{(c.line, c.text) for c in row if c.text} for row in grid.rows]
    return [k for k, row in enumerate(cells) if row and row <= mine]


def _with_context(grid: Grid, vocab: Vocabulary, own: list[int]) -> set[int]:
    """A list project's own rows, the header and what stands above it, and the row naming the
    project's unit or department: what its form needs. The other projects' rows only cost
    tokens (a paged list of fifty projects would send all fifty with each) and invite the model
    to read them."""
    table = grid_parts(grid, vocab).table
    assert table is not None  # own rows come from the table
    header = max(c.line for c in table.header)
    named = {(c.line, c.text) for c in (*table.units.values(), *table.departments.values())}
    context = {
        k
        for k, row in enumerate(grid.rows)
        if row and (row[0].line <= header or any((c.line, c.text) in named for c in row))
    }
    return context | set(own)


def _which_project(grid: Grid, vocab: Vocabulary, own: list[int]) -> list[str]:
    """A list table holding several projects is sent for each: say which project this form is,
    by the rows from its first to its last (its own rows when the table tells them apart, else
    the lines its project spans: a text layer interleaves its neighbours' lines)."""
    ids = row_ids(grid)
    if own:
        return [_project_note(ids[own[0]], ids[own[-1]])]
    extent = project_extent(grid, vocab)
    if extent is None:
        return []
    if packed_text_cell(grid, vocab) is not None:  # rendered line by line
        return [_project_note(*(str(n) for n in extent))]
    spanned = [
        rid
        for rid, row in zip(ids, grid.rows, strict=True)
        if any(extent[0] <= c.line <= extent[1] and c.text and not c.merged for c in row)
    ]
    return [_project_note(spanned[0], spanned[-1])] if spanned else []


def _project_note(first: str, last: str) -> str:
    return (
        f"note: the table lists several projects; this form is only the project in rows R{first}"
        f" to R{last} (rows of the projects beside it may be printed among its first and last"
        " rows: read only this project's cells)"
    )


def point_at(grid: Grid, line: int, col: int, value: str | None = None) -> str | None:
    """`R<id> <col>:<text>` of the cell at (line, col), as the prompt numbers it; of several rows
    on one line, the cell whose text holds `value` (digits compared without separators)."""
    found = [
        (rid, c)
        for rid, row in zip(row_ids(grid), grid.rows, strict=True)
        for c in row
        if (c.line, c.col) == (line, col) and c.text
    ]
    wanted = _SEPARATORS.sub("", value or "")
    holding = [(rid, c) for rid, c in found if wanted and wanted in _SEPARATORS.sub("", c.text)]
    rid, cell = (holding or found or [(None, None)])[0]
    return f"R{rid} {cell.col}:{_one_line(cell.text)}" if cell else None


def row_holding(grid: Grid, text: str) -> str | None:
    """The first rendered row whose cells hold `text` (spaces ignored), None if none does."""
    wanted = _SEPARATORS.sub("", text)
    for rid, row in zip(row_ids(grid), grid.rows, strict=True):
        if wanted and any(wanted in _SEPARATORS.sub("", c.text) for c in row):
            return render_row(rid, row)
    return None


def _loose_text(text: str, vocab: Vocabulary, *, keep_all: bool = False) -> list[str]:
    if keep_all:  # no grid: every line, tables included, is what the model has to read
        return [t for ln in text.split("\n") if (t := _one_line(clean_text(ln.strip())))]
    out = []
    in_html = False
    for line in text.split("\n"):
        low = line.lower()
        if "<table" in low:
            in_html = "</table>" not in low
            continue
        if in_html:
            in_html = "</table>" not in low
            continue
        cleaned = _one_line(clean_text(line.lstrip("#").strip()))
        if not cleaned or _TABLE_LINE.match(line) or _SKIP_TEXT.match(cleaned):
            continue
        if not vocab.title_pattern.fullmatch(cleaned):
            out.append(cleaned)
    return out


def _one_line(text: str) -> str:
    return text.replace("\n", "\\n")


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (no tokenizer is installed): one token per CJK character, one
    per 4 other characters, the ratio BPE tokenizers show on mixed Chinese/ASCII text."""
    cjk = len(_CJK.findall(text))
    return cjk + max(0, len(text) - cjk + 3) // 4
