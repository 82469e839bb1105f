"""Comparing two eval reports: the metrics and fields that got better or worse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import read_text

# Metrics where a rise is a regression; every other numeric metric is better when higher.
LOWER_IS_BETTER = frozenset(
    {
        "forms_extra",
        "findings_missed",
        "unexpected_errors",
        "seconds",
        "llm_seconds_per_form",
        "forms_wrong",
        "silent_errors",
        "silent_error_rate",
        "false_alarms",
        "values_wrong",
        "unflagged_wrong_values",
        "errors_on_gold",
    }
)
# Counts that describe the run rather than its quality: reported, never called better or worse.
NEUTRAL = frozenset(
    {
        "forms_expected",
        "indicators_expected",
        "indicators_got",
        "findings_expected",
        "calls",
        "prompt_tokens",
        "completion_tokens",
        "cache_hits",
        "seconds",
        "llm_seconds_per_form",
    }
)


@dataclass
class Change:
    case: str
    metric: str
    before: Any
    after: Any
    worse: bool


def compare_reports(previous: dict[str, Any], current: dict[str, Any]) -> list[Change]:
    """Metrics and fields that changed between two report.json dicts, regressions first."""
    changes = _metric_changes("overall", previous.get("overall", {}), current.get("overall", {}))
    before = {c["name"]: c for c in previous.get("cases", [])}
    for case in current.get("cases", []):
        old = before.get(case["name"])
        if old is None:
            continue
        changes += _metric_changes(case["name"], old["metrics"], case["metrics"])
        changes += _field_changes(case["name"], old["mismatches"], case["mismatches"])
    return sorted(changes, key=lambda c: not c.worse)


def _metric_changes(case: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    out = []
    for metric, after in new.items():
        before = old.get(metric)
        if metric in NEUTRAL or before == after or not _numbers(before, after):
            continue
        worse = after > before if metric in LOWER_IS_BETTER else after < before
        out.append(Change(case, metric, before, after, worse))
    return out


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _field_changes(case: str, old: list[dict], new: list[dict]) -> list[Change]:
    """A field wrong now but not before is a regression; the reverse is a fix."""

    def keyed(items: list[dict]) -> dict[tuple[str, ...], dict]:
        # a form may miss several findings: those are told apart by their codes
        return {
            (m["form"], m["field"], *(_codes(m) if m["field"] in ("finding", "form") else ())): m
            for m in items
        }

    was, now = keyed(old), keyed(new)
    out = [
        Change(case, f"{k[0]} {k[1]}", "ok", _shown(now[k]), True) for k in now.keys() - was.keys()
    ]
    out += [
        Change(case, f"{k[0]} {k[1]}", _shown(was[k]), "ok", False) for k in was.keys() - now.keys()
    ]
    return sorted(out, key=lambda c: c.metric)


def _codes(m: dict) -> tuple[str, str]:
    return str(m["gold"]), str(m["got"])


def _shown(m: dict) -> Any:
    return m["got"] if m["field"] not in ("finding", "form") else m["note"] or m["got"]


def load_report(path: str | Path, key: str = "cases", command: str = "eval") -> dict[str, Any]:
    """A report.json `structurer <command>` wrote (one holding `key`)."""
    text, _ = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not a report.json: {exc}") from None
    if not isinstance(data, dict) or key not in data:
        raise InputError(str(path), f"not a report.json written by structurer {command}")
    return data
