"""Labels read by likeness: a printed label the vocabulary does not list, but close to one it does.

Real templates vary without end (a word added to a label: `<label>小计`, `<label>申请`), and
one unknown spelling used to lose its field. A cell above the indicator table is read as the
field of its nearest vocabulary label when

- it is no label, level, value or wrapped piece itself, and a value stands right of it;
- it is like a label of the vocabulary: 75% of its characters in common (edit distance), or it
  holds a label of four characters or more with at most three more (`<label>小计`), or a label
  holds it with at most two fewer;
- the grid agrees: an amount stands right of a funding label, text right of any other (a goal
  text of some length), and the form names that field with no label of its own.

The form is then read with these spellings added (a reading vocabulary of the grid, the same
vocabulary otherwise), by the rules and by the checker's label binding alike, and every such read
is said in an info finding (`extract.label_likeness`) naming the printed label and the field, so
a reviewer sees it and `structurer vocab learn` can keep it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rapidfuzz.distance import Levenshtein

from ..models import GOAL_FIELDS, Cell
from ..vocab import FIELD_PATHS, VocabFile, Vocabulary, label_key, merge_spec
from .values import is_amount

_DATE = re.compile(r"\d{4}\s*[-/.年]")
LIKE = 0.75  # share of characters in common (1 - edit distance / the longer length)
_MAX_EXTRA = 3  # characters a printed label may add to a known one (`小计`, `申请`)
_MAX_SHORT = 2  # characters it may lack
_MAX_LABEL = 16  # characters: longer cells are values, not labels
_MIN_GOAL = 8  # characters of a text a goal label governs


@dataclass(frozen=True)
class Likeness:
    """A printed label read as the field of a vocabulary label it is like."""

    text: str  # the label as printed
    field: str  # the field path it was read as
    like: str  # the vocabulary's spelling it is like


class Matcher:
    """The vocabulary's field labels, to find the nearest one to a printed text (remembered per
    text: labels recur in every form of a template)."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.memo: dict[str, tuple[str, str] | None] = {}

    @cached_property
    def labels(self) -> list[tuple[str, str, str]]:
        """(key, field, spelling) of every field label that names one field."""
        out = []
        for path in FIELD_PATHS:
            for spelling in self.vocab.labels(path):
                key = label_key(spelling)
                if len(self.vocab.fields_of(key)) == 1:
                    out.append((key, path, spelling))
        return out

    def nearest(self, key: str) -> tuple[str, str] | None:
        """(field, spelling) of the label `key` is like, None when none is."""
        if key not in self.memo:
            self.memo[key] = self._nearest(key)
        return self.memo[key]

    def _nearest(self, key: str) -> tuple[str, str] | None:
        best: tuple[float, str, str] | None = None
        for label, path, spelling in self.labels:
            score = _likeness(key, label)
            if score >= LIKE and (best is None or score > best[0]):
                best = (score, path, spelling)
        return (best[1], best[2]) if best else None


def _likeness(key: str, label: str) -> float:
    if len(label) >= 4 and label in key and len(key) - len(label) <= _MAX_EXTRA:
        return 0.9
    if len(key) >= 3 and key in label and len(label) - len(key) <= _MAX_SHORT:
        return 0.9
    return Levenshtein.normalized_similarity(key, label)


@lru_cache(maxsize=8)
def matcher_for(vocab: Vocabulary) -> Matcher:
    """One matcher per vocabulary, so its memo serves every form of a run."""
    return Matcher(vocab)


def find_likeness(rows: list[list[Cell]], vocab: Vocabulary) -> list[Likeness]:
    """The printed labels of `rows` (above the indicator table) read by likeness."""
    matcher = matcher_for(vocab)
    info = vocab.info
    named = {f for row in rows for c in row if c.text for f in info(c.text).fields}
    out: dict[str, Likeness] = {}
    for row in rows:
        texts = [c for c in row if c.text and not c.merged]
        for k, cell in enumerate(texts[:-1]):
            if cell.text in out or not looks_like_label(cell.text, vocab):
                continue
            value = texts[k + 1]
            if info(value.text).label:
                continue
            found = matcher.nearest(info(cell.text).key)
            if found is None or found[0] in named or not _kind_agrees(found[0], value.text):
                continue
            out[cell.text] = Likeness(cell.text, found[0], found[1])
            named.add(found[0])
    return list(out.values())


def looks_like_label(text: str, vocab: Vocabulary) -> bool:
    """A short text that is no label, level, piece of one, amount or date."""
    i = vocab.info(text)
    if i.label or i.level or i.fragment or not (2 <= len(i.key) <= _MAX_LABEL):
        return False
    if not any("\u4e00" <= ch <= "\u9fff" for ch in i.key) or _DATE.search(text):
        return False
    return not is_amount(text)


def _kind_agrees(field: str, value: str) -> bool:
    if field.startswith("funding."):
        return is_amount(value)
    if field in GOAL_FIELDS:
        return len(value) >= _MIN_GOAL and not is_amount(value)
    return not is_amount(value)


def reading_vocabulary(vocab: Vocabulary, found: list[Likeness]) -> Vocabulary:
    """`vocab` with the spellings read by likeness added: what the grid is read with. Its
    identity (sha) stays the vocabulary's: the reading is a function of the vocabulary and the
    grid, and records and caches name the vocabulary, not a form's reading of it."""
    if not found:
        return vocab
    fields: dict[str, list[str]] = {}
    for item in found:
        fields.setdefault(item.field, []).append(item.text)
    extra = VocabFile(name="likeness", fields=fields)
    spec = merge_spec(vocab.spec, extra)
    return Vocabulary(names=vocab.names, spec=spec, sha=vocab.sha, family=vocab.family)
