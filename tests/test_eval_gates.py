"""Gates that ratchet (issue 24, item 7): every case is held to its own scores per field group,
so nulling any one value the rules read right in any real case fails `eval --gate`, and
`eval --ratchet` raises the gates (never lowers them), keeping case.toml's comments."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from structurer.cli import app
from structurer.models import FormRecord
from structurer.pipeline import extract_documents
from structurer.quality.evaluate import (
    case_info,
    check_gold,
    discover_cases,
    load_case,
    load_source,
    run_case,
)
from structurer.quality.gates import MAXIMUMS, gate_failures, group_scores, raised_gate, ratchet
from structurer.quality.scoring import (
    GOALS,
    INDICATOR_PARTS,
    SCORED_FUNDING,
    SCORED_HEADER,
    score_case,
)
from structurer.rules import RulesBackend
from structurer.vocab import load_vocabulary

REAL = [p for p in discover_cases(ROOT / "fixtures") if case_info(p).get("kind") == "real"]


def nulled(records: list[FormRecord]) -> Iterator[tuple[str, list[FormRecord]]]:
    """Each record set with one value set to null: a header field, an amount or the unit, a
    goal, an indicator's name, level or target (with its op, value and unit)."""
    for i, record in enumerate(records):
        for field in (*SCORED_HEADER, *GOALS):
            if getattr(record, field) is not None:
                yield f"form {i} {field}", _with(records, i, lambda r, f=field: setattr(r, f, None))
        for field in SCORED_FUNDING:
            if getattr(record.funding, field) is not None:
                yield (
                    f"form {i} funding.{field}",
                    _with(records, i, lambda r, f=field: setattr(r.funding, f, None)),
                )
        for k, ind in enumerate(record.indicators):
            for part in INDICATOR_PARTS:
                if getattr(ind, part) is not None:
                    yield (
                        f"form {i} indicators[{k}].{part}",
                        _with(records, i, lambda r, k=k, p=part: _null_part(r, k, p)),
                    )


def _with(records: list[FormRecord], i: int, change) -> list[FormRecord]:  # type: ignore[no-untyped-def]
    copy = list(records)
    copy[i] = records[i].model_copy(deep=True)
    change(copy[i])
    return copy


def _null_part(record: FormRecord, k: int, part: str) -> None:
    ind = record.indicators[k]
    for name in (part, *(("op", "value", "unit") if part == "target" else ())):
        setattr(ind, name, None)


def _worse(before: dict, after: dict) -> list[str]:
    return [
        k for k, v in after.items() if v is not None and before[k] is not None and v < before[k]
    ]


@pytest.mark.parametrize("folder", REAL, ids=lambda p: p.name)
def test_nulling_any_value_read_right_in_a_real_case_fails_its_gate(folder: Path) -> None:
    """Each value of the rules' records nulled in turn: either the gate fails, or no gated score
    got worse (the value was already counted wrong). And the case as read passes."""
    vocab = load_vocabulary()
    case = load_case(folder)
    document = load_source(case, vocab)
    result = extract_documents([document], RulesBackend(vocab))
    findings = result.document_findings.get(document.path, [])
    gold_checked = check_gold(case.gold, result.records, document, vocab)

    def score(records: list[FormRecord]):  # type: ignore[no-untyped-def]
        return score_case(case.name, case.gold, records, expected=case.expected_findings,
                          document_findings=findings, gold_findings=gold_checked)  # fmt: skip

    base = score(result.records)
    assert not gate_failures(base, case.gate)
    assert set(case.gate) >= {"min_header", "min_funding", "min_indicator_parts", *MAXIMUMS}
    before = group_scores(base)
    caught = 0
    for where, records in nulled(result.records):
        after = score(records)
        if gate_failures(after, case.gate):
            caught += 1
        else:
            assert not _worse(before, group_scores(after)), (
                f"{case.name} {where}: not caught (scores rose? `structurer eval --ratchet`)"
            )
    assert caught  # and the loop did null something the gate holds


def test_every_gate_is_at_its_cases_current_scores() -> None:
    """A gate below today's scores would let a regression back to it pass: when a change reads
    more, `structurer eval --ratchet` raises the gates and the case.toml files are committed."""
    vocab = load_vocabulary()
    stale = []
    for folder in discover_cases(ROOT / "fixtures"):
        case = load_case(folder)
        score = run_case(case, RulesBackend(vocab))
        stale += [f"{case.name}: {k} {case.gate.get(k)} -> {v}"
                  for k, v in raised_gate(score, case.gate).items() if case.gate.get(k) != v]  # fmt: skip
    assert not stale, "run `structurer eval --ratchet`:\n" + "\n".join(stale)


def test_ratchet_raises_adds_and_never_lowers_keeping_comments(tmp_path: Path) -> None:
    case = tmp_path / "c"
    shutil.copytree(ROOT / "fixtures" / "real-hubei-2020-cellperline-qingshan", case)
    (case / "case.toml").write_text(
        '# what it is\nkind = "real"\n\n# a new case: only the bar every real case starts at\n'
        '[gate]\nforms = "all"\nmax_silent = 0\nmin_goals = 1.5  # above any score: kept\n',
        encoding="utf-8",
    )
    vocab = load_vocabulary()
    loaded = load_case(case)
    score = run_case(loaded, RulesBackend(vocab))
    changes = ratchet(case, score)
    text = (case / "case.toml").read_text(encoding="utf-8")
    assert "# a new case" in text and "min_goals = 1.5  # above any score: kept" in text
    assert {c.key for c in changes} >= {"min_header", "min_funding", "min_f1", "max_unflagged"}
    assert not any(c.key == "min_goals" for c in changes)
    assert ratchet(case, score) == []  # a second run changes nothing


def test_eval_ratchet_shows_the_diff_and_only_for_the_rules(tmp_path: Path) -> None:
    case = tmp_path / "cases" / "c"
    shutil.copytree(ROOT / "fixtures" / "real-tianjin-2023-piperows-hebeicourt", case)
    toml = case / "case.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("min_header", "# min_header"),
                    encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    args = ["eval", "--cases", str(case.parent), "--report", str(tmp_path / "r"), "--no-history"]
    result = runner.invoke(app, [*args, "--ratchet"])
    assert result.exit_code == 0, result.output
    assert "ratchet c: min_header (none) -> 1.0" in result.output
    refused = runner.invoke(app, [*args, "--ratchet", "-b", "llm", "--model", "m"])
    assert refused.exit_code == 2 and "-b rules" in refused.output
