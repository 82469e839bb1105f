"""A project's indicator table packed into one text cell (a Guangzhou department list):

    1、1-产出指标；11-数量指标；<name>；实施周期指标值:<v>；年度指标值:<v>。2、1-产出指标；…
    1.1－产出指标，11－数量指标，<name>；实施周期指标值：<v>，年度指标值：<v>；2、…

An item is a number (`N、`, `N.`), the coded level 1 and level 2 (`1-产出指标`, `22-社会效益`), the
name, the implementation-period value and the year's value, each after its label. Which marks
stand between the parts, which labels name the two values, and which level names exist are
vocabulary data; the numbering may restart inside a cell. The year's value is the target; the
period's is not kept. The cell's wrapped lines are joined first: wraps break inside labels and
values (`年度指\\n标值:≥4.5分`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..models import Indicator
from ..read.values import parse_target
from ..vocab import Vocabulary

# A level code: one digit for level 1, two for level 2 (`1-产出指标`, `11-数量指标`).
_DASHES = "-－—–"


def read_packed(text: str, vocab: Vocabulary) -> tuple[list[Indicator], list[str]]:
    """The indicators of one packed cell, in order, and the pieces of text no item explains
    (kept for the reviewer: an item the grammar could not read is never dropped in silence)."""
    joined = "".join(text.split())
    grammar = _grammar(vocab)
    starts = list(grammar.item.finditer(joined))
    out: list[Indicator] = []
    unplaced: list[str] = []
    if not starts:
        return out, [joined] if joined else []
    if lead := joined[: starts[0].start()].strip(vocab.spec.packed.separators):
        unplaced.append(lead)
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(joined)
        indicator = _item(m, joined[m.end() : end], grammar, vocab)
        if indicator is None:
            unplaced.append(joined[m.start() : end])
        else:
            out.append(indicator)
    return out, unplaced


def _item(m: re.Match[str], rest: str, grammar: _Grammar, vocab: Vocabulary) -> Indicator | None:
    """One item from its coded levels and the text after them (name, labelled values)."""
    level1, level2 = vocab.canonical_level(m["l1"]), vocab.canonical_level(m["l2"])
    values = grammar.values.search(rest)
    if level1 is None or level2 is None or values is None:
        return None
    if not vocab.belongs(level1, level2):
        level1 = vocab.parent_of(level2) or level1  # level 1 always agrees with level 2
    name = rest[: values.start()].strip(grammar.separators)
    annual = values["annual"].strip(grammar.separators).lstrip(":：")
    target = parse_target(annual) if annual else parse_target(None)
    return Indicator(
        level1=level1,
        level2=level2,
        name=name or None,
        target=target.target,
        op=target.op,
        value=target.value,
        unit=target.unit,
    )


class _Grammar:
    """The item grammar built from the vocabulary: where items start, and the two labelled
    values after the name."""

    def __init__(self, vocab: Vocabulary) -> None:
        spec = vocab.spec.packed
        self.separators = spec.separators + " "
        sep = f"[{re.escape(spec.separators)}]"
        dash = f"[{_DASHES}]"
        level = "|".join(
            re.escape(n)
            for n in sorted(
                {*vocab.spec.levels, *(k for ks in vocab.spec.levels.values() for k in ks)}
                | {n.removesuffix(vocab.spec.level_suffix or "") for n in vocab.spec.levels}
                | {
                    k.removesuffix(vocab.spec.level_suffix or "")
                    for ks in vocab.spec.levels.values()
                    for k in ks
                },
                key=len,
                reverse=True,
            )
        )
        # N、 or N. , then <digit>-<level 1><sep><digits>-<level 2><sep>
        self.item = re.compile(
            rf"(?:(?<={sep})|^)\d{{1,3}}[、.]\d{dash}(?P<l1>{level}){sep}\d{{2}}{dash}(?P<l2>{level}){sep}"
        )
        long = "|".join(map(re.escape, _longest_first(spec.long)))
        annual = "|".join(map(re.escape, _longest_first(spec.annual)))
        self.values = re.compile(rf"{sep}?(?:{long})(?P<long>.*?){sep}?(?:{annual})(?P<annual>.*)$")


def _longest_first(names: list[str]) -> list[str]:
    return sorted(names, key=len, reverse=True)


@lru_cache(maxsize=16)
def _grammar(vocab: Vocabulary) -> _Grammar:
    return _Grammar(vocab)
