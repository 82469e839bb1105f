"""Learn a template's spellings from records whose values someone (a model, a reviewer, the
likeness reads) has already placed: `structurer vocab learn`.

A record's value stands in a cell of its form; the label printed left of that cell (or above it,
in a row of labels over values) is the field's spelling in that template. Where the vocabulary
lacks it, it is learned: a field label the rules can then read by themselves. The spellings come
from three kinds of records: an LLM's answers (hybrid runs), a reviewer's corrections (applied
from the log first), and the rules' own likeness reads (their info findings). Level names a record
gives that the vocabulary lacks, and printed in the source, are learned as levels too, under the
level 1 the record gives (never a name the vocabulary has as a level 1: that would change how
every other form's levels are read).

What is learned is written as a vocabulary file (`extends = "base"`), each spelling with the
documents it came from, for `--vocab FILE` or to drop beside vocab/base.toml. A spelling the
vocabulary already has for another field, or that two fields claim, is left out and reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..checks import chunk_for
from ..checks.grounding import index_source
from ..models import AMOUNT_FIELDS, GOAL_FIELDS, HEADER_FIELDS, Cell, Document, FormRecord
from ..read.clean import squash
from ..read.layouts import chunk_grid
from ..read.likeness import looks_like_label
from ..read.values import amount_value, parse_amount
from ..vocab import Vocabulary

# Fields a printed label names (dates come from a date or period cell).
_LABELLED = (
    *(f for f in HEADER_FIELDS if not f.endswith("_date")),
    *GOAL_FIELDS,
    *(f"funding.{f}" for f in AMOUNT_FIELDS),
)
_LIKENESS = "extract.label_likeness"


@dataclass
class Learned:
    """Spellings learned per field and level names per level 1, each with where it came from;
    and what was left out, with why."""

    fields: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # path -> label -> docs
    levels: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # level1 -> level2 -> docs
    left_out: list[str] = field(default_factory=list)

    def add_field(self, path: str, label: str, where: str) -> None:
        self.fields.setdefault(path, {}).setdefault(label, set()).add(where)

    def add_level(self, level1: str, level2: str, where: str) -> None:
        self.levels.setdefault(level1, {}).setdefault(level2, set()).add(where)

    @property
    def empty(self) -> bool:
        return not self.fields and not self.levels


def learn(
    records: Sequence[FormRecord], documents: dict[str, Document], vocab: Vocabulary
) -> Learned:
    """What `records` (read from `documents`) teach about the vocabulary."""
    found = Learned()
    for record in records:
        document = documents.get(record.source.document or "") if record.source else None
        chunk = chunk_for(record, document) if document is not None else None
        if document is None or chunk is None:
            continue
        where = f"{document.key} form {record.form_index}"
        for f in record.findings:
            if f.code == _LIKENESS and f.values.get("field") and f.values.get("label"):
                found.add_field(str(f.values["field"]), str(f.values["label"]), where)
        grid = chunk_grid(chunk, vocab)
        for path, label in _printed_labels(record, grid.rows, vocab):
            found.add_field(path, label, where)
        # by the form's own hierarchy: a template family's levels are no spelling to learn
        _levels(record, chunk.text, vocab.for_form(chunk.text), found, where)
    _settle(found, vocab)
    return found


def _printed_labels(
    record: FormRecord, rows: list[list[Cell]], vocab: Vocabulary
) -> list[tuple[str, str]]:
    """(field, printed label) for each value whose label the vocabulary does not know."""
    out = []
    for path in _LABELLED:
        value = record.value(path)
        if value is None:
            continue
        at = _holding(rows, path, value, record)
        if at is None:
            continue
        r, k = at
        label = _label_of(rows, r, k, vocab)
        if label is not None and not vocab.info(label).label:
            out.append((path, label))
    return out


def _holding(
    rows: list[list[Cell]], path: str, value: str, record: FormRecord
) -> tuple[int, int] | None:
    """(row, index) of the cell the value was read from, else the first cell holding it."""
    ref = record.source.cells.get(path) if record.source else None
    for r, row in enumerate(rows):
        for k, cell in enumerate(row):
            if ref is not None and (cell.line, cell.col) == (ref.line, ref.col) and cell.text:
                return r, k
    for r, row in enumerate(rows):
        for k, cell in enumerate(row):
            if cell.text and _holds(path, value, cell.text):
                return r, k
    return None


def _holds(path: str, value: str, text: str) -> bool:
    if path.startswith("funding."):
        try:
            return amount_value(parse_amount(text)[0]) == amount_value(value)
        except ValueError:
            return False
    want = squash(value)
    return bool(want) and (squash(text) == want or squash(text).endswith(want))


def _label_of(rows: list[list[Cell]], r: int, k: int, vocab: Vocabulary) -> str | None:
    """The text printed as the cell's label: the nearest cell left of it on its row, else the
    cell above it in its column; None when that is no label-like text."""
    left = [c for c in rows[r][:k] if c.text and not c.merged]
    if left:
        return left[-1].text if looks_like_label(left[-1].text, vocab) else None
    col = rows[r][k].col
    for row in reversed(rows[:r]):
        above = next((c for c in row if c.col == col and c.text), None)
        if above is not None:
            return above.text if looks_like_label(above.text, vocab) else None
    return None


def _levels(record: FormRecord, text: str, vocab: Vocabulary, found: Learned, where: str) -> None:
    """Level names the record gives that the vocabulary lacks, printed in the source."""
    source = index_source(text)
    for ind in record.indicators:
        l1, l2 = ind.level1, ind.level2
        if not (l1 and l2) or vocab.belongs(vocab.canonical_level(l1), vocab.canonical_level(l2)):
            continue
        if not (source.has_text(l1) and source.has_text(l2)):
            continue  # a level the source does not print is no spelling of it
        if vocab.is_level1(vocab.canonical_level(l2)):
            found.left_out.append(
                f"level {l2} under {l1} ({where}): {l2} is a level 1 of the vocabulary"
            )
            continue
        found.add_level(l1, l2, where)


def _settle(found: Learned, vocab: Vocabulary) -> None:
    """Leave out a spelling the vocabulary has for another field, or two fields claim."""
    claims: dict[str, list[str]] = defaultdict(list)
    for path, labels in found.fields.items():
        for label in labels:
            claims[label].append(path)
    for label, paths in claims.items():
        known = vocab.fields_of(label)
        if known and not set(paths) <= set(known):
            why = f"the vocabulary reads it as {', '.join(known)}"
        elif len(paths) > 1:
            why = f"claimed by {', '.join(sorted(paths))}"
        else:
            continue
        for path in paths:
            found.fields[path].pop(label, None)
        found.left_out.append(f"label {label!r}: {why}")
    found.fields = {p: labels for p, labels in found.fields.items() if labels}


def vocabulary_file(found: Learned, *, name: str, records: int, documents: int) -> str:
    """The learned spellings as a vocabulary file extending base, each with its sources."""
    lines = [
        f"# Learned by `structurer vocab learn` from {records} records of {documents} documents.",
        "# Each spelling names the forms it came from. Read a template with `--vocab` this file,",
        "# or drop it beside structurer/vocab/base.toml to bundle it.",
        f'name = "{name}"',
        'extends = "base"',
    ]
    lines += _section("fields", found.fields, lambda path, label: label)
    lines += _section("levels", found.levels, lambda level1, kid: f"{level1} / {kid}")
    return "\n".join(lines) + "\n"


def _section(
    name: str, table: dict[str, dict[str, set[str]]], shown: Callable[[str, str], str]
) -> list[str]:
    """A TOML table of learned spellings: per key, one comment per spelling naming the forms it
    came from (`shown` says how the comment names it), then the key's list."""
    if not table:
        return []
    out = ["", f"[{name}]"]
    for key in sorted(table):
        spellings = table[key]
        for spelling in sorted(spellings):
            out.append(f"# {shown(key, spelling)}: {', '.join(sorted(spellings[spelling]))}")
        out.append(f"{_quoted(key)} = [{', '.join(_quoted(x) for x in sorted(spellings))}]")
    return out


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
