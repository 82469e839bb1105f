"""The message table (messages.toml): the review's words and every finding's message, in Chinese
and English, and how a finding's message is filled from its values and paths.

The record's own `message` stays the English the checks write (the JSON is an API); the review
page, and anything else that shows findings to people, renders them from here. A finding whose
code or fields the table lacks falls back to that English message, never to an error.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from ..errors import StructurerError
from ..models import Finding
from ..vocab import Vocabulary, resolve

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"  # the people who review these forms read Chinese
TABLE = Path(__file__).with_name("messages.toml")
_SHOWN_CHARS = 60  # a quoted value longer than this is cut (the field itself shows it whole)
_SHOWN_ITEMS = 3  # of a list value
_INDICATOR = re.compile(r"^indicators\[(\d+)\](?:\.(\w+))?$")


class Messages:
    """The loaded table; `check()` says what is missing from it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.ui_texts: dict[str, dict[str, str]] = data.get("ui", {})
        self.paths: dict[str, dict[str, str]] = data.get("paths", {})
        self.findings: dict[str, dict[str, Any]] = data.get("findings", {})

    def problems(self) -> list[str]:
        """Entries without both languages (the tests hold the table to none)."""
        out = []
        tables = {"ui": self.ui_texts, "paths": self.paths, "findings": self.findings}
        for table, entries in tables.items():
            for key, entry in entries.items():
                variants = (
                    [entry, *entry.get("when", {}).values()] if table == "findings" else [entry]
                )
                for v in variants:
                    out += [f"{table}.{key}: no {lang}" for lang in LANGS if not v.get(lang)]
        return out

    def ui(self, lang: Lang) -> dict[str, str]:
        return {key: entry[lang] for key, entry in self.ui_texts.items()}

    def path(self, path: str, lang: Lang, vocab: Vocabulary) -> str:
        """How a message names a field: its label (zh) or its path (en)."""
        m = _INDICATOR.match(path)
        if m:
            i, key = int(m[1]), m[2]
            entry = self.paths["indicator_field" if key else "indicator"][lang]
            return entry.format(i=i, n=i + 1, key=key, field=_label(key, vocab) if key else "")
        if path == "indicators":
            return self.paths["indicators"][lang]
        return _label(path, vocab) if lang == "zh" else path

    def finding(self, f: Finding, lang: Lang, vocab: Vocabulary) -> str:
        entry = self.findings.get(f.code)
        if entry is None:
            return f.message
        for key, variant in entry.get("when", {}).items():
            if key in f.values:
                entry = variant
                break
        try:
            return str(entry[lang]).format_map(self._context(f, lang, vocab))
        except (KeyError, IndexError, ValueError, AttributeError):
            return f.message  # a finding without the values its template names

    def _context(self, f: Finding, lang: Lang, vocab: Vocabulary) -> dict[str, str]:
        sep = self.paths["list_sep"][lang]
        labels = [self.path(p, lang, vocab) for p in f.paths]
        context = {k: self._shown(v, lang) for k, v in f.values.items()}
        context.update(code=f.code, message=f.message, paths=sep.join(labels))
        for n, label in enumerate(labels, 1):
            context["path" if n == 1 else f"path_{n}"] = label
        return context

    def _shown(self, value: Any, lang: Lang) -> str:
        if isinstance(value, dict):  # path -> why: the distinct whys
            value = list(dict.fromkeys(map(str, value.values())))
        if isinstance(value, list):
            items = [_cut(str(v)) for v in value[:_SHOWN_ITEMS]]
            more = len(value) - len(items)
            tail = [self.paths["more"][lang].format(n=more)] if more > 0 else []
            return self.paths["list_sep"][lang].join(items + tail)
        return _cut("" if value is None else str(value))


def _label(path: str, vocab: Vocabulary) -> str:
    try:
        return vocab.display(path)
    except KeyError:
        return path


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


@cache
def messages() -> Messages:
    with TABLE.open("rb") as fh:
        return Messages(tomllib.load(fh))


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise StructurerError(f"unknown language {lang!r}: choose {' or '.join(LANGS)}")
    return lang  # type: ignore[return-value]


def finding_message(f: Finding, lang: Lang = DEFAULT_LANG, vocab: Vocabulary | None = None) -> str:
    """A finding's message for people, in `lang`, from the message table."""
    return messages().finding(f, lang, resolve(vocab))


def ui_texts(lang: Lang = DEFAULT_LANG) -> dict[str, str]:
    """The review page's own words in `lang`."""
    return messages().ui(lang)
