"""Hybrid reads every real fixture at its gold when the model answers the gold.

The design is rules where they read right, the LLM where they cannot, one checker judging both.
That holds only if the checker's doubts fall on the rules' wrong values (never on a correct LLM
value) and hybrid never prefers saying less. A stand-in that answers each form's hand-labelled
record is the perfect model: whatever hybrid then keeps that is not the gold is a doubt that did
not fall where it should.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, expect_gap
from fake_openai_server import FakeOpenAI, gold_responder

from structurer.backends import make_backend
from structurer.pipeline import extract_documents
from structurer.quality.evaluate import case_info, discover_cases
from structurer.quality.scoring import score_case
from structurer.read import load_document

REAL = [c for c in discover_cases(ROOT / "fixtures") if case_info(c).get("kind") == "real"]


def hybrid_scores(case: Path) -> dict[str, Any]:
    gold = [json.loads(x) for x in (case / "gold.jsonl").read_text("utf-8").splitlines() if x]
    source = next(p for p in sorted(case.glob("source.*")) if p.is_file())
    with FakeOpenAI(gold_responder(gold)) as server:
        backend = make_backend(
            "hybrid", base_url=server.url, model="m", no_cache=True, concurrency=2
        )
        records = extract_documents([load_document(source, backend.vocab)], backend).records
    from structurer.models import FormRecord

    score = score_case(case.name, [FormRecord.model_validate(g) for g in gold], records)
    return score.metrics() | {"mismatches": score.mismatches}


@pytest.mark.slow
@pytest.mark.parametrize("case", REAL, ids=lambda c: c.name)
def test_hybrid_with_a_model_answering_the_gold_reads_the_gold(
    case: Path, request: pytest.FixtureRequest
) -> None:
    expect_gap(request, case, "hybrid_gold")
    m = hybrid_scores(case)
    wrong = [(x.form, x.field, x.gold, x.got) for x in m["mismatches"] if x.field != "finding"]
    assert m["forms_found"] == m["forms_expected"] and not wrong, wrong[:5]
