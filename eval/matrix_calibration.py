"""How well the eval matrix's intervals and verdicts are calibrated on the fixtures' documents.

Simulates stand-ins of known quality — each of the 15 header and funding values a model gives
wrong with probability p, independently; renderings of one document share its errors, as the
test stand-in's do — over the fixtures the stand-in can answer (the same clusters and sizes as
`tests/test_eval_matrix.py`), and counts:

- coverage: how often a row's 95% interval of field accuracy holds the true 1 − p·15/16;
- false "different": how often two stand-ins of equal p get "better"/"worse";
- power: how often p = 2% against p = 8% gets "better".

    .venv/bin/python eval/matrix_calibration.py [TRIALS]     # default 300; ~1 s per trial
"""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from structurer.quality import stats  # noqa: E402
from structurer.quality.evaluate import discover_cases, load_case  # noqa: E402

UNANSWERABLE = {"real-chongqing-2026-listtable", "real-sichuan-nodate-spacerows-ganzi",
                "real-central-2026-pdftext"}  # fmt: skip
ASKED, SCORED = 15, 16


def documents() -> list[list[int]]:
    """Per document, the form counts of its renderings."""
    found: dict[str, list[int]] = defaultdict(list)
    for folder in discover_cases(ROOT / "fixtures"):
        if folder.name not in UNANSWERABLE:
            case = load_case(folder)
            found[case.origin].append(len(case.gold))
    return list(found.values())


def row(docs: list[list[int]], p: float, rng: random.Random) -> list[stats.Counts]:
    """One stand-in's counts per document (fields right, fields scored, forms)."""
    out = []
    for renderings in docs:
        wrong = [sum(rng.random() < p for _ in range(ASKED)) for _ in range(max(renderings))]
        right = sum(SCORED * f - sum(wrong[:f]) for f in renderings)
        counts = dict.fromkeys(stats.KEYS, 0.0)
        counts.update(fields_correct=right, fields_total=SCORED * sum(renderings),
                      forms=sum(renderings))  # fmt: skip
        out.append(tuple(counts[k] for k in stats.KEYS))
    return out


def main(trials: int) -> None:
    docs = documents()
    draws = stats.resamples(len(docs), rounds=1000)
    rng = random.Random(1)
    covered = different = power = 0
    for _ in range(trials):
        a, b, good = (row(docs, p, rng) for p in (0.08, 0.08, 0.02))
        span = stats.interval(a, stats.draw_totals(a, draws), "field_accuracy")
        covered += span is not None and span[0] <= 1 - 0.08 * ASKED / SCORED <= span[1]
        prepared = [(n, r, stats.draw_totals(r, draws)) for n, r in (("a", a), ("b", b),
                                                                      ("good", good))]  # fmt: skip
        different += stats.compare(prepared[0], prepared[1], "field_accuracy").verdict != (  # type: ignore[union-attr]
            "no difference at this n"
        )
        power += stats.compare(prepared[2], prepared[0], "field_accuracy").verdict == "better"  # type: ignore[union-attr]
    print(f"{len(docs)} documents, {sum(map(sum, docs))} forms, {trials} trials")
    print(f"interval coverage {covered / trials:.1%} (nominal 95%)")
    print(f"equal stand-ins called different {different / trials:.1%} (nominal 5%)")
    print(f"p = 2% told better than p = 8%: {power / trials:.1%}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
