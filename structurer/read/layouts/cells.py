"""Cells from text that has no table markup: split at whitespace, at the vocabulary's labels.

Web pages and PDF text layers print a table row as words separated by spaces, and cells of a form
one per line. Splitting on spaces alone breaks a name that holds spaces (`数量( ≥**个 )`), so a
bracket opened in one piece is closed in the pieces after it. A label glued to its value
(`<label>:10`) is split at the colon when the part before it is a known label, and a cell
wrapped over two lines (`可持续影响` + `指标`) is joined when the two make one label or level name:
the label-anchored reading the rules rely on. Cells printed with no separator at all
(`<level 1><level 2><name>>=20人`) are split at the level names they start with and at the
target's operator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ...models import Cell
from ...vocab import Vocabulary
from ..clean import clean_text

_WORDS = re.compile(r"\S+")
_COLON = re.compile(r"^(.{2,16}?)[:：]\s*(.*)$", re.S)
_OPENERS, _CLOSERS = "(（[【", ")）]】"
# A wrapped piece of a label is short: a label's tail (`及编码`, `指标`, `止时间`, `(万元)`).
_MAX_TAIL = 6


def split_words(line: str) -> list[tuple[str, int]]:
    """(word, character offset) of a line split at whitespace, brackets kept whole."""
    words: list[tuple[str, int]] = []
    depth = 0
    for m in _WORDS.finditer(line):
        word = m.group(0)
        if depth > 0 and words:
            start = words[-1][1]
            words[-1] = (line[start : m.end()], start)
        else:
            words.append((word, m.start()))
        depth = max(0, depth + _balance(word))
    return words


def _balance(word: str) -> int:
    return sum(ch in _OPENERS for ch in word) - sum(ch in _CLOSERS for ch in word)


def split_inline_labels(texts: list[str], vocab: Vocabulary) -> list[str]:
    """`label:value` in one piece -> the label and the value as two pieces (`label:` alone is
    kept as a label)."""
    out: list[str] = []
    for text in texts:
        m = _COLON.match(text)
        if m and vocab.is_label(m.group(1)) and m.group(2).strip():
            out += [m.group(1), m.group(2).strip()]
        else:
            out.append(text)
    return out


_OPERATORS = "≥≤><=＞＜≧≦"


def split_run_together(
    texts: list[str], vocab: Vocabulary, guessed: list[str], *, ends_row: bool = True
) -> list[str]:
    """A piece starting with level names run into what follows -> the level names, the indicator
    name and its target as separate pieces. An operator (`>=20人`) says where the target starts.
    Without one, a trailing number after the name is taken as the target, and a name ending the
    row (when `texts` is a whole row) may hold its target: guesses the piece is added to `guessed` for (the rules turn them into
    an error finding)."""
    out: list[str] = []
    for k, text in enumerate(texts):
        rest = text
        # a level with its score (`<level>(30分)`) is one cell, not a level run into a name
        while (name := vocab.level_prefix(rest)) and not vocab.canonical_level(rest):
            out.append(name)
            rest = rest[len(name) :].strip()
        if rest is text or vocab.canonical_level(rest):
            out.append(rest)
        elif split := _split_at_operator(rest):
            out += split
        else:
            split = _split_trailing_number(rest)
            if len(split) > 1 or (ends_row and k == len(texts) - 1):
                guessed.append(text)
            out += split
    return out


def _split_at_operator(text: str) -> list[str] | None:
    """`<name>>=20人` -> name and target, at the first operator outside brackets (a name may hold
    a template's placeholder `(≥**人)`) with a name of two characters or more before it."""
    depth = 0
    for k, ch in enumerate(text):
        depth = max(0, depth + (ch in _OPENERS) - (ch in _CLOSERS))
        if depth == 0 and ch in _OPERATORS and len(text[:k].strip()) >= 2:
            return [text[:k].strip(), text[k:].strip()]
    return None


# A number ending a run-together name right after a CJK character (`完成时限1`, not `PM2.5`).
_TRAILING_NUMBER = re.compile(r"(?<=[\u4e00-\u9fff])\d+(?:\.\d+)?%?$")


def _split_trailing_number(text: str) -> list[str]:
    m = _TRAILING_NUMBER.search(text)
    return [text[: m.start()], m.group(0)] if m else [text]


def join_wrapped(texts: list[str], vocab: Vocabulary) -> list[str]:
    """Pieces of one label or level name cut by a line break, joined: `<label>`+`及编码`,
    `可持续影响`+`指标`, `项目起`+`止时间`."""
    out: list[str] = []
    for text in texts:
        if out and _joins(out[-1], text, vocab):
            out[-1] = out[-1] + text
        else:
            out.append(text)
    return out


def _joins(head: str, tail: str, vocab: Vocabulary) -> bool:
    joined = "".join((head + tail).split())
    if not (vocab.is_label(joined) or vocab.canonical_level(joined)):
        return False
    known = vocab.is_label(head) or vocab.canonical_level(head)
    return not known or len("".join(tail.split())) <= _MAX_TAIL


def share(lines: Sequence[str], test: Callable[[str], bool]) -> float:
    """The share of a chunk's text (in characters, blank lines aside) on lines that pass `test`:
    a long HTML table line outweighs the title and year lines around it."""
    total = hit = 0
    for line in lines:
        size = len(line.strip())
        total += size
        hit += size if size and test(line) else 0
    return hit / total if total else 0.0


def make_cells(texts: list[str], line: int, start_col: int = 0) -> list[Cell]:
    return [Cell(clean_text(t), t, line, start_col + k) for k, t in enumerate(texts)]
