"""Hybrid reads every real fixture at its gold when the model answers the gold.

The design is rules where they read right, the LLM where they cannot, one checker judging both.
That holds only if the checker's doubts fall on the rules' wrong values (never on a correct LLM
value) and hybrid never prefers saying less. A stand-in that answers each form's hand-labelled
record is the perfect model: whatever hybrid then keeps that is not the gold is a doubt that did
not fall where it should.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from fake_openai_server import FakeOpenAI, Reply, gold_reply

from structurer.backends import make_backend
from structurer.pipeline import extract_documents
from structurer.quality.evaluate import case_info, discover_cases
from structurer.quality.scoring import score_case
from structurer.read import load_document
from structurer.read.clean import squash

REAL = [c for c in discover_cases(ROOT / "fixtures") if case_info(c).get("kind") == "real"]
_PROJECT_ROW = re.compile(r"rows start at R(\S+)")


def gold_by_content(records: list[dict[str, Any]]) -> Any:
    """Answers a form with the gold record most of whose values its prompt holds (from the row a
    list table's note points at, when the table is sent whole for one of its projects)."""

    def values(record: dict[str, Any]) -> list[str]:
        found = [record.get(k) for k in ("project_name", "department", "implementing_unit")]
        found += [i.get("name") for i in record["indicators"]]
        found += [v for v in record["funding"].values() if v and v not in ("元", "万元")]
        return [squash(v) for v in found if v]

    def respond(body: dict[str, Any]) -> Reply:
        users = [m for m in body["messages"] if m["role"] == "user"]
        text = str(users[0]["content"])
        if m := _PROJECT_ROW.search(text):
            text = text[text.find(f"R{m.group(1)} ") :]
        text = squash(text)
        best = max(records, key=lambda r: sum(v in text for v in values(r)))
        return Reply(gold_reply(best))

    return respond


def hybrid_scores(case: Path) -> dict[str, Any]:
    gold = [json.loads(x) for x in (case / "gold.jsonl").read_text("utf-8").splitlines() if x]
    source = next(p for p in sorted(case.glob("source.*")) if p.is_file())
    with FakeOpenAI(gold_by_content(gold)) as server:
        backend = make_backend(
            "hybrid", base_url=server.url, model="m", no_cache=True, concurrency=2
        )
        records = extract_documents([load_document(source, backend.vocab)], backend).records
    from structurer.models import FormRecord

    score = score_case(case.name, [FormRecord.model_validate(g) for g in gold], records)
    return score.metrics() | {"mismatches": score.mismatches}


@pytest.mark.slow
@pytest.mark.parametrize("case", REAL, ids=lambda c: c.name)
def test_hybrid_with_a_model_answering_the_gold_reads_the_gold(case: Path) -> None:
    m = hybrid_scores(case)
    wrong = [(x.form, x.field, x.gold, x.got) for x in m["mismatches"] if x.field != "finding"]
    assert m["forms_found"] == m["forms_expected"] and not wrong, wrong[:5]
