"""The template vocabulary: labels, synonyms, titles and level names, loaded from TOML data.

`base.toml` holds what every template shares; a family file beside it (or a user's file given
with `--vocab`) says `extends = "base"` and adds spellings. `load_vocabulary()` merges them into
one frozen `Vocabulary` whose `sha` goes into every record's meta and the LLM cache key, so a
change of vocabulary is visible in the output and never served from a stale cache.

Every stage asks the vocabulary instead of spelling a label itself: `fields_of(cell_text)` -> the
field paths that label names, `canonical_level(cell_text)` -> the level name in full,
`title_pattern`, and so on.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import VocabularyError
from ..models import AMOUNT_FIELDS, GOAL_FIELDS, HEADER_FIELDS

VOCAB_DIR = Path(__file__).resolve().parent
# Field paths a label may name: the contract's own fields.
FIELD_PATHS = (*HEADER_FIELDS, *GOAL_FIELDS, *(f"funding.{f}" for f in AMOUNT_FIELDS))
INDICATOR_COLUMNS = (
    "level1",
    "level2",
    "name",
    "target",
    "kind",
    "direction",
    "unit",
    "weight",
    "note",
)
# The columns a record keeps; the others are read only to be set aside.
RECORD_COLUMNS = ("level1", "level2", "name", "target")
BLOCKS = ("funding", "goals", "indicators")

_MEMO_SIZE = 20_000  # cell texts remembered per look-up table
_FORMS_REMEMBERED = 64  # form texts whose template family is remembered
_FULLWIDTH_SIGNS = {ord(c): ord(c) - 0xFEE0 for c in "（）：／"}
# A qualifier after a label: `项目资金(元)`, or its opening half where a line break cut it
# (`<label>(90` over `分)`).
_QUALIFIER = re.compile(r"\(([^()]*)\)?$")
_SHORT_CJK = re.compile(r"[\u4e00-\u9fff]{1,2}")
# The closing half of a qualifier a line break cut off its label (`<label>(90` over `分)`).
_QUALIFIER_TAIL = re.compile(r"[^()]{1,4}\)")
# A list number in front of a label: `一、<label>`, `1.<label>`, `(2)<label>`.
_ENUMERATOR = re.compile(r"^(?:[一二三四五六七八九十]+[、.]|\d{1,2}[、.](?!\d)|\(\d{1,2}\))")


# --- the files' shape (validated; unknown keys are errors) ---


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Titles(_Spec):
    forms: list[str] = []
    core: list[str] = []
    ends: list[str] = []
    between: int = 0
    headings: list[str] = []
    generic: list[str] = []
    not_forms: list[str] = []
    numbers: list[str] = []


class _Targets(_Spec):
    qualitative: list[str] = []
    qualitative_prefixes: list[str] = []
    kind_marks: list[str] = []
    word_operators: dict[str, str] = {}


class _Periods(_Spec):
    labels: list[str] = []


class _Ignored(_Spec):
    labels: list[str] = []
    trailers: list[str] = []


class _IndicatorPeriods(_Spec):
    long: list[str] = []
    annual: list[str] = []


class _Units(_Spec):
    amount: list[str] = []


class _Family(_Spec):
    """A template family with an indicator hierarchy of its own ([families.<key>])."""

    name: str = ""  # the template, as the findings and the prompt name it
    levels: dict[str, list[str]] = {}


class _Packed(_Spec):
    columns: list[str] = []
    long: list[str] = []
    annual: list[str] = []
    separators: str = ""
    totals: list[str] = []


class VocabFile(_Spec):
    """One TOML file as written."""

    name: str
    extends: str | None = None
    level_suffix: str | None = None
    titles: _Titles = _Titles()
    fields: dict[str, list[str]] = {}
    blocks: dict[str, list[str]] = {}
    periods: _Periods = _Periods()
    ignored: _Ignored = _Ignored()
    units: _Units = _Units()
    indicator_columns: dict[str, list[str]] = {}
    indicator_periods: _IndicatorPeriods = _IndicatorPeriods()
    levels: dict[str, list[str]] = {}
    families: dict[str, _Family] = {}
    targets: _Targets = _Targets()
    display: dict[str, str] = {}
    packed: _Packed = _Packed()


@lru_cache(maxsize=65536)  # forms repeat their labels: each text is keyed once
def label_key(text: str | None) -> str:
    """A cell's text as labels are matched: no whitespace, plain brackets and colons, no leading
    其中 (the `其中：` form of a label is the label)."""
    key = "".join((text or "").split()).translate(_FULLWIDTH_SIGNS)
    key = _ENUMERATOR.sub("", key.strip(":"))
    return key.removeprefix("其中").strip(":")


class LabelInfo(NamedTuple):
    """What the vocabulary says about one cell's text (Vocabulary.info)."""

    key: str  # the text as labels are matched (label_key)
    fields: tuple[str, ...]  # field paths the label names (two: a label of both funding columns)
    # the same by block, as the rules and the binding read them: the header field (or "period"
    # for a cell naming both dates), the funding fields without `funding.`, the goal field
    header: str | None
    funding: tuple[str, ...]
    goal: str | None
    block: str | None  # funding / goals / indicators for a block's row label
    column: str | None  # the indicator-table column a header names
    period: bool  # a cell naming both planned dates
    ignored: bool  # a label of something the record does not keep
    label: bool  # any of the above: a label, not a value
    level: str | None  # the canonical level name the text spells
    trailer: bool  # an approval or signature row after the indicators
    # a piece of a label or level name cut by wrapping (`<label>及代` with `码` lines below, `度指标`), or one or two
    # characters alone: what a merged cell printed down the page leaves on a line of its own
    fragment: bool


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class Vocabulary:
    """The merged vocabulary, with the look-ups every stage uses. Immutable and picklable."""

    names: tuple[str, ...]  # the files merged, base first
    spec: VocabFile = field(compare=False)  # equal vocabularies have equal content hashes
    sha: str
    # the template family whose hierarchy the levels are read by (for_form); None: [levels]
    family: str | None = None

    # --- labels ---

    @cached_property
    def _field_of_label(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for path, labels in self.spec.fields.items():
            for label in labels:
                key = label_key(label)
                out[key] = _unique((*out.get(key, ()), path))
        return out

    @cached_property
    def _block_of_label(self) -> dict[str, str]:
        return {label_key(lab): b for b, labels in self.spec.blocks.items() for lab in labels}

    @cached_property
    def _column_of_label(self) -> dict[str, str]:
        cols = self.spec.indicator_columns.items()
        return {label_key(lab): col for col, labels in cols for lab in labels}

    @cached_property
    def _period_of_label(self) -> dict[str, str]:
        return {label_key(lab): "period" for lab in self.spec.periods.labels}

    @cached_property
    def _ignored_labels(self) -> dict[str, str]:
        return {label_key(lab): "ignored" for lab in self.spec.ignored.labels}

    def info(self, text: str | None) -> LabelInfo:
        """Everything the vocabulary says about one cell's text, computed once per text and
        remembered: every stage asks about the same cells (labels recur in every form), and one
        look-up answering all questions is what makes asking cheap."""
        try:
            return self._infos[text]
        except KeyError:
            infos = self._infos
            if len(infos) >= _MEMO_SIZE:  # a corpus has many distinct cells: keep memory flat
                infos.clear()
            found = infos[text] = self._describe(text)
            return found

    @cached_property
    def _infos(self) -> dict[str | None, LabelInfo]:
        return {}

    def _describe(self, text: str | None) -> LabelInfo:
        key = label_key(text)
        bare = _QUALIFIER.sub("", key)  # 项目资金(元) is the 项目资金 label

        def find(table: dict[str, Any]) -> Any:
            if key in table:
                return table[key]
            return table.get(bare) if bare != key else None

        fields = find(self._field_of_label) or ()
        block, column = find(self._block_of_label), find(self._column_of_label)
        period, ignored = bool(find(self._period_of_label)), bool(find(self._ignored_labels))
        label = bool(fields or block or column or period or ignored)
        level = self._canonical_level(text) if text else None
        return LabelInfo(
            key=key,
            fields=fields,
            header="period" if period else next((f for f in fields if f in HEADER_FIELDS), None),
            funding=tuple(f.removeprefix("funding.") for f in fields if f.startswith("funding.")),
            goal=next((f for f in fields if f in GOAL_FIELDS), None),
            block=block,
            column=column,
            period=period,
            ignored=ignored,
            label=label,
            level=level,
            trailer=bool(key) and any(t in key for t in self._trailer_keys),
            fragment=not (label or level)
            and (
                bool(_SHORT_CJK.fullmatch(key) or _QUALIFIER_TAIL.fullmatch(key))
                or key in self._pieces
            ),
        )

    def glued_label_keys(self, shortest: int) -> tuple[str, ...]:
        """The keys of field and block labels of `shortest` characters or more: what text run
        together around a label still shows."""
        memo = self._glued_keys
        if shortest not in memo:
            names = {*self._field_of_label, *self._block_of_label}
            memo[shortest] = tuple(sorted(n for n in names if len(n) >= shortest))
        return memo[shortest]

    @cached_property
    def _glued_keys(self) -> dict[int, tuple[str, ...]]:
        return {}

    @cached_property
    def _pieces(self) -> frozenset[str]:
        """Every proper prefix and suffix (two characters or more) of a label or level name."""
        names = {*self._field_of_label, *self._block_of_label, *self._column_of_label}
        names |= {*self._period_of_label, *self._ignored_labels, *self._level_names}
        return frozenset(
            piece for name in names for k in range(2, len(name)) for piece in (name[:k], name[-k:])
        )

    @cached_property
    def _trailer_keys(self) -> tuple[str, ...]:
        return tuple(label_key(t) for t in self.spec.ignored.trailers)

    def fields_of(self, text: str | None) -> tuple[str, ...]:
        """The field paths a label names: () for no label, two for one printed in both funding
        columns (the other-funds label)."""
        return self.info(text).fields

    def block_of(self, text: str | None) -> str | None:
        """funding / goals / indicators for a block's row label (项目资金(元), 绩效指标)."""
        return self.info(text).block

    def column_of(self, text: str | None) -> str | None:
        """level1 / level2 / name / target for a header cell of the indicator table."""
        return self.info(text).column

    def is_period(self, text: str | None) -> bool:
        return self.info(text).period

    def is_ignored(self, text: str | None) -> bool:
        """A label of something the record does not keep (项目负责人, 备注...)."""
        return self.info(text).ignored

    def is_trailer(self, text: str | None) -> bool:
        """An approval or signature row after the indicators (审核意见, 盖章, 填表人)."""
        return self.info(text).trailer

    def column_period(self, text: str | None) -> str | None:
        """long / annual for a column header qualified as such (`<header>(长期)`), else None."""
        m = _QUALIFIER.search(label_key(text))
        if not m:
            return None
        periods = self.spec.indicator_periods
        for period, words in (("long", periods.long), ("annual", periods.annual)):
            if m.group(1) in words:
                return period
        return None

    def is_packed_column(self, text: str | None) -> bool:
        """The header of a list table's column packing a project's indicators into one cell."""
        return self.info(text).key in self._packed_column_keys

    def is_total_row(self, text: str | None) -> bool:
        """The name cell of a row totalling a list table (合计), not a unit's subtotal."""
        return self.info(text).key in self._total_row_keys

    @cached_property  # asked of every cell of a row naming the project column
    def _packed_column_keys(self) -> frozenset[str]:
        return frozenset(label_key(c) for c in self.spec.packed.columns)

    @cached_property
    def _total_row_keys(self) -> frozenset[str]:
        return frozenset(label_key(t) for t in self.spec.packed.totals)

    def labels(self, path: str) -> tuple[str, ...]:
        """Every spelling of a field's label, the printed one first."""
        return tuple(self.spec.fields.get(path, ()))

    def printed(self, path: str) -> str:
        """The label as the Shanghai template prints it (review view, damage generator)."""
        labels = self.spec.fields.get(path) or self.spec.indicator_columns.get(path)
        if not labels:
            raise KeyError(path)
        return labels[0]

    def display(self, path: str) -> str:
        """How the review view names a field: its printed label, or its [display] name for
        fields no label names (year, the unit) and for indicator columns."""
        if path in self.spec.display:
            return self.spec.display[path]
        return self.printed(path)

    def block_label(self, block: str) -> str:
        return self.spec.blocks[block][0]

    def is_label(self, text: str | None) -> bool:
        """Any label, block or header the form prints: not a value."""
        return self.info(text).label

    # --- titles and units ---

    @cached_property
    def title_pattern(self) -> re.Pattern[str]:
        """A form title (a listed one, or the core/end pattern), with spaces tolerated between
        its characters (OCR)."""
        spaced = [r"\s*".join(map(re.escape, t)) for t in self._longest_first(self.titles)]
        t = self.spec.titles
        if t.core and t.ends:
            core = "|".join(r"\s*".join(map(re.escape, w)) for w in self._longest_first(t.core))
            ends = "|".join(r"\s*".join(map(re.escape, w)) for w in self._longest_first(t.ends))
            spaced.append(rf"(?:{core})(?:\s*[\u4e00-\u9fff]){{0,{t.between}}}?\s*(?:{ends})")
        return re.compile("|".join(spaced))

    @cached_property
    def title_end_pattern(self) -> re.Pattern[str]:
        """A title ending a (squashed) line: what makes a line a form's title."""
        return re.compile(rf"(?:{self.title_pattern.pattern})$")

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(self.spec.titles.forms)

    def label_ends(self, path: str) -> frozenset[tuple[str, str]] | None:
        """The first and last characters of each of a field's labels (as label_key spells
        them): a line holding neither pair has no such label, whatever spaces OCR put inside it.
        None when one is not a CJK character a raw line would hold as is."""
        memo = self._label_ends
        if path not in memo:
            ends = {(k[0], k[-1]) for lab in self.labels(path) if (k := label_key(lab))}
            cjk = all(min(pair) >= "\u2e80" for pair in ends)
            memo[path] = frozenset(ends) if cjk else None
        return memo[path]

    @cached_property
    def _label_ends(self) -> dict[str, frozenset[tuple[str, str]] | None]:
        return {}

    @cached_property
    def title_end_chars(self) -> re.Pattern[str]:
        """The last characters of the titles: a line holding none of them is no title (the
        chunker asks this of every line, in one search, before the costlier tests)."""
        ends = {t[-1] for t in (*self.titles, *self.spec.titles.ends) if t}
        return re.compile(f"[{re.escape(''.join(sorted(ends)))}]")

    @cached_property
    def title_generic(self) -> re.Pattern[str]:
        """Words of a title that name the table, not a project (部门, 预算, 项目, 支出 …), at its
        end or alone: what is left of a title's text before the title word when they are
        taken off is the project's name, if anything is."""
        words = "|".join(map(re.escape, self._longest_first(self.spec.titles.generic)))
        return re.compile(rf"(?:{words})+$" if words else r"(?!)")

    def is_not_form(self, title: str) -> bool:
        """A title of a table that is not a project's form (the department's own table: `not_forms` words)."""
        return any(word in title for word in self.spec.titles.not_forms)

    @cached_property
    def _table_number(self) -> re.Pattern[str]:
        words = "|".join(map(re.escape, self._longest_first(self.spec.titles.numbers)))
        return re.compile(rf"(?:{words})\s*\d{{1,3}}" if words else r"(?!)")

    def is_table_number(self, line: str) -> bool:
        """A line that only numbers the table whose title follows (表14, 预算表12)."""
        return self._table_number.fullmatch(line.strip()) is not None

    def is_heading(self, line: str) -> bool:
        """A title line that names a summary table (汇总表), not one form."""
        return any(word in line for word in self.spec.titles.headings)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(self.spec.units.amount)

    @cached_property
    def unit_pattern(self) -> re.Pattern[str]:
        """The money unit a funding label states: 项目资金（元）, 项目资金(单位:万元), 金额单位：万元."""
        units = "|".join(map(re.escape, self._longest_first(self.units)))
        return re.compile(rf"(?:资金|单位)(?:情况)?[(（]?(?:单位)?[:：]?({units})[)）]?")

    @cached_property
    def bracket_unit_pattern(self) -> re.Pattern[str]:
        """The money unit in a funding label's brackets: `项目资金申请(万元)`, `(单位:元)`."""
        units = "|".join(map(re.escape, self._longest_first(self.units)))
        return re.compile(rf"[(（]\s*(?:单位\s*[:：]\s*)?({units})\s*[)）]")

    @cached_property
    def goal_part_pattern(self) -> re.Pattern[str]:
        """A goal label written inside a goal text (`<goal label>：…`), which starts a new part."""
        labels = [*self.labels("overall_goal"), *self.labels("annual_goal")]
        alts = "|".join(map(re.escape, self._longest_first(labels)))
        return re.compile(rf"(?:^|\n)\s*({alts})\s*[:：]")

    @staticmethod
    def _longest_first(words: Iterable[str]) -> list[str]:
        return sorted(set(words), key=len, reverse=True)

    # --- template families: which hierarchy a form's levels are read by ---

    def for_form(self, text: str | None) -> Vocabulary:
        """This vocabulary reading the levels of the form whose text (or level names) is `text`
        by the hierarchy of the family it shows (family_of), else by the default [levels]. The
        one choice every stage makes: grid, rules, checker and LLM read one form alike."""
        chosen = self.family_of(text)
        return self.for_family(chosen[0] if chosen else None)

    def family_of(self, text: str | None) -> tuple[str, str] | None:
        """(family key, the level name that shows it) when `text` prints, as a cell of its own,
        a level-1 name only that family has; None for the default hierarchy. A title is not
        asked: it names the funding, and a form of that title may print the default levels."""
        if not text:
            return None
        memo = self._families_seen  # grid, rules and checks ask of the same form's text
        if text not in memo:
            if len(memo) >= _FORMS_REMEMBERED:
                memo.clear()
            memo[text] = self._find_family(text)
        return memo[text]

    def _find_family(self, text: str) -> tuple[str, str] | None:
        for key, names in self.family_signs.items():
            # a substring test first: the pattern is slow to scan a form that holds none
            if any(name in text for name in names) and (m := self._family_signs[key].search(text)):
                return key, m.group(0)
        return None

    @cached_property
    def _families_seen(self) -> dict[str, tuple[str, str] | None]:
        return {}

    @cached_property
    def family_signs(self) -> dict[str, tuple[str, ...]]:
        """Per family, its level-1 names the default hierarchy does not know: what shows it."""
        default = {*self.spec.levels, *(k for ks in self.spec.levels.values() for k in ks)}
        signs = {
            k: tuple(n for n in f.levels if n not in default) for k, f in self.spec.families.items()
        }
        return {key: names for key, names in signs.items() if names}

    @cached_property
    def _family_signs(self) -> dict[str, re.Pattern[str]]:
        """The family signs standing alone (no CJK character touching them: not words of a
        sentence or of a longer name)."""
        out = {}
        for key, names in self.family_signs.items():
            alts = "|".join(map(re.escape, self._longest_first(names)))
            out[key] = re.compile(rf"(?<![\u4e00-\u9fff])(?:{alts})(?![\u4e00-\u9fff])")
        return out

    def for_family(self, key: str | None) -> Vocabulary:
        """This vocabulary with `key`'s hierarchy (None: the default one); its sha says which,
        so grid memos never mix two readings. Made once per family."""
        if key == self.family:
            return self
        if key is not None and key not in self.spec.families:
            raise KeyError(key)
        made = self._by_family  # shared by the vocabulary and its families
        if key not in made:
            sha = hashlib.sha256(f"{made[None].sha}:{key}".encode()).hexdigest()[:12]
            made[key] = Vocabulary(names=self.names, spec=self.spec, sha=sha, family=key)
            made[key].__dict__["_by_family"] = made
        return made[key]

    @cached_property
    def _by_family(self) -> dict[str | None, Vocabulary]:
        if self.family is not None:
            raise ValueError("a family's vocabulary is made by for_family")
        return {None: self}

    def is_foreign_level(self, text: str | None) -> bool:
        """A level name of another family's hierarchy that this one does not know: on a form
        read by this hierarchy it is no indicator's name, and says the form may be misread."""
        if not text:
            return False
        info = self.info(text)
        return info.level is None and info.key in self._all_levels

    @cached_property
    def _all_levels(self) -> frozenset[str]:
        level1, level2 = self.every_level()
        return frozenset((*level1, *level2))

    def every_level(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The level-1 and the level-2 names of every hierarchy: what a form of any family may
        print (the LLM schema allows them all; the form's family is checked afterwards)."""
        trees = [self.spec.levels, *(f.levels for f in self.spec.families.values())]
        level2 = (kid for tree in trees for kids in tree.values() for kid in kids)
        return _unique(l1 for tree in trees for l1 in tree), _unique(level2)

    @property
    def family_name(self) -> str | None:
        """The template whose hierarchy is read, None for the default."""
        if self.family is None:
            return None
        return self.spec.families[self.family].name or self.family

    # --- indicator levels ---

    @cached_property  # asked of every level name the rules and checks meet
    def levels(self) -> dict[str, list[str]]:
        """The hierarchy the levels are read by: the family's, else the default [levels]."""
        return self.spec.families[self.family].levels if self.family else self.spec.levels

    @cached_property
    def hierarchy(self) -> dict[str, tuple[str, ...]]:
        return {l1: tuple(kids) for l1, kids in self.levels.items()}

    @cached_property
    def ambiguous_levels(self) -> frozenset[str]:
        """Names that are a level 1 and also a level 2 somewhere (the cost and satisfaction levels)."""
        kids = {k for ks in self.levels.values() for k in ks}
        return frozenset(n for n in self.levels if n in kids)

    @cached_property
    def _parent(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for parent, kids in self.levels.items():
            for kid in kids:
                out.setdefault(kid, parent)
        return out

    @cached_property
    def _level_names(self) -> dict[str, str]:
        suffix = self.spec.level_suffix or ""
        out: dict[str, str] = {}
        for name in (*self.levels, *self._parent):
            out[name] = name
            if suffix:
                out.setdefault(name.removesuffix(suffix), name)  # a level named without its suffix
        return out

    def canonical_level(self, text: str | None) -> str | None:
        """The canonical level name a cell spells, or None if it is not a level name."""
        return self.info(text).level

    def _canonical_level(self, text: str) -> str | None:
        key = "".join(text.split()).strip(":：").translate(_FULLWIDTH_SIGNS)
        name = self._level_names.get(key)
        if name is None and (m := _QUALIFIER.search(key)):  # `<level>(10分)`: a score beside it
            name = self._level_names.get(key[: m.start()])
        return name

    @cached_property
    def _level_prefix_pattern(self) -> re.Pattern[str]:
        names = self._longest_first((*self.levels, *self._parent))
        return re.compile("|".join(map(re.escape, names)))

    def level_prefix(self, text: str) -> str | None:
        """The level name (in full, as printed) a longer cell starts with: `<level 1><level 2>...`
        run together."""
        m = self._level_prefix_pattern.match(text)
        return m.group(0) if m and m.end() < len(text) else None

    def is_level1(self, name: str | None) -> bool:
        return name in self.levels

    def is_level2(self, name: str | None) -> bool:
        return name in self._parent

    def parent_of(self, level2: str | None) -> str | None:
        """Level 1 implied by a (canonical) level 2 name, None if unknown."""
        return self._parent.get(level2) if level2 else None

    def belongs(self, level1: str | None, level2: str | None) -> bool:
        return bool(level1 and level2 and level2 in self.levels.get(level1, ()))

    # --- targets ---

    @cached_property
    def qualitative_pattern(self) -> re.Pattern[str]:
        t = self.spec.targets
        words = "|".join(map(re.escape, t.qualitative))
        prefixes = "|".join(map(re.escape, t.qualitative_prefixes))
        return re.compile(rf"^(?:{words})$|^(?:{prefixes})")

    @property
    def kind_marks(self) -> frozenset[str]:
        return frozenset(self.spec.targets.kind_marks)

    @property
    def word_operators(self) -> dict[str, str]:
        return dict(self.spec.targets.word_operators)

    @property
    def label(self) -> str:
        """How records and caches name this vocabulary: files merged and content hash."""
        return f"{'+'.join(self.names)}:{self.sha}"


# --- loading ---


def _read(path: Path) -> VocabFile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyError(f"{path}: cannot read vocabulary: {exc}") from None
    try:
        spec = VocabFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise VocabularyError(f"{path}: {where}: {err['msg']}") from None
    _validate(spec, path)
    return spec


def _validate(spec: VocabFile, path: Path) -> None:
    for key, known in (
        ("fields", FIELD_PATHS),
        ("blocks", BLOCKS),
        ("indicator_columns", INDICATOR_COLUMNS),
    ):
        unknown = sorted(set(getattr(spec, key)) - set(known))
        if unknown:
            raise VocabularyError(
                f"{path}: [{key}] has unknown {'field path' if key == 'fields' else 'name'} "
                f"{unknown[0]!r}; known: {', '.join(known)}"
            )


def merge_spec(base: VocabFile, extra: VocabFile) -> VocabFile:
    """`extra` adds to `base`: lists are extended (duplicates dropped), tables merged."""

    def lists(a: Sequence[str], b: Sequence[str]) -> list[str]:
        return list(_unique([*a, *b]))

    def tables(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {k: list(v) for k, v in a.items()}
        for k, v in b.items():
            out[k] = lists(out.get(k, []), v)
        return out

    t, et = base.targets, extra.targets
    return VocabFile(
        name=base.name,
        level_suffix=extra.level_suffix or base.level_suffix,
        titles=_Titles(
            forms=lists(base.titles.forms, extra.titles.forms),
            core=lists(base.titles.core, extra.titles.core),
            ends=lists(base.titles.ends, extra.titles.ends),
            between=max(base.titles.between, extra.titles.between),
            headings=lists(base.titles.headings, extra.titles.headings),
            generic=lists(base.titles.generic, extra.titles.generic),
            not_forms=lists(base.titles.not_forms, extra.titles.not_forms),
            numbers=lists(base.titles.numbers, extra.titles.numbers),
        ),
        fields=tables(base.fields, extra.fields),
        blocks=tables(base.blocks, extra.blocks),
        periods=_Periods(labels=lists(base.periods.labels, extra.periods.labels)),
        ignored=_Ignored(
            labels=lists(base.ignored.labels, extra.ignored.labels),
            trailers=lists(base.ignored.trailers, extra.ignored.trailers),
        ),
        indicator_periods=_IndicatorPeriods(
            long=lists(base.indicator_periods.long, extra.indicator_periods.long),
            annual=lists(base.indicator_periods.annual, extra.indicator_periods.annual),
        ),
        units=_Units(amount=lists(base.units.amount, extra.units.amount)),
        indicator_columns=tables(base.indicator_columns, extra.indicator_columns),
        levels=tables(base.levels, extra.levels),
        families={
            k: _merge_family(base.families.get(k, _Family()), extra.families.get(k, _Family()))
            for k in _unique([*base.families, *extra.families])
        },
        display={**base.display, **extra.display},
        packed=_Packed(
            columns=lists(base.packed.columns, extra.packed.columns),
            long=lists(base.packed.long, extra.packed.long),
            annual=lists(base.packed.annual, extra.packed.annual),
            separators="".join(_unique(base.packed.separators + extra.packed.separators)),
            totals=lists(base.packed.totals, extra.packed.totals),
        ),
        targets=_Targets(
            qualitative=lists(t.qualitative, et.qualitative),
            qualitative_prefixes=lists(t.qualitative_prefixes, et.qualitative_prefixes),
            kind_marks=lists(t.kind_marks, et.kind_marks),
            word_operators={**t.word_operators, **et.word_operators},
        ),
    )


def _merge_family(base: _Family, extra: _Family) -> _Family:
    """A family's hierarchy extended by a file that names it again (its name kept unless given)."""
    levels = {k: list(v) for k, v in base.levels.items()}
    for l1, kids in extra.levels.items():
        levels[l1] = list(_unique([*levels.get(l1, []), *kids]))
    return _Family(name=extra.name or base.name, levels=levels)


def load_vocabulary(extra: Sequence[str | Path] = (), *, directory: Path = VOCAB_DIR) -> Vocabulary:
    """base.toml, every family file beside it, then the `extra` files, merged in that order.

    Every file but base must say `extends = "base"`; a file that cannot be read, has an unknown
    key or names an unknown field path raises VocabularyError saying which and where.
    """
    base = _read(directory / "base.toml")
    families = sorted(p for p in directory.glob("*.toml") if p.name != "base.toml")
    merged, names = base, [base.name]
    for path in [*families, *map(Path, extra)]:
        spec = _read(path)
        if spec.extends != base.name:
            raise VocabularyError(f'{path}: a vocabulary file must say extends = "{base.name}"')
        merged, names = merge_spec(merged, spec), [*names, spec.name]
    text = json.dumps(merged.model_dump(), ensure_ascii=False, sort_keys=True)
    sha = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Vocabulary(names=tuple(names), spec=merged, sha=sha)


@cache
def default_vocabulary() -> Vocabulary:
    """The bundled vocabulary (base plus every family file), loaded once per process."""
    return load_vocabulary()


def resolve(vocab: Vocabulary | None) -> Vocabulary:
    """A stage's `vocab` argument: the given vocabulary, else the bundled one."""
    return vocab if vocab is not None else default_vocabulary()
