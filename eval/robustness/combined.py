"""Every damage type at once, in every rendered layout: the hardest synthetic test we have.

`structurer robustness` applies one damage type at a time, which isolates causes; real OCR output
carries several at once. This renders every fixture's gold in each layout (seed 6-column, the
doubled 8-column grid, level-1 labels missing), applies all damage types together at their default
rates (scale 1) and at twice those rates (scale 2), extracts with the rules backend and scores.

    .venv/bin/python eval/robustness/combined.py        # writes eval/robustness/combined.md
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from structurer.io import atomic_write_text
from structurer.quality.damage import DAMAGES, apply_damages, build_sheet, sheet_markdown
from structurer.quality.robustness import extract_text, load_gold_cases
from structurer.quality.scoring import CaseScore, score_case
from structurer.rules import RulesBackend

LAYOUTS = ("seed", "grid8", "nolevel1")
SCALES = (1.0, 2.0)
SEEDS = range(5)


def render(records, layout: str, scale: float, seed: int) -> str:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    damages = {n: min(0.9, d.default_rate * scale) for n, d in DAMAGES.items()}
    parts = []
    for record in records:
        sheet = build_sheet(record, layout)
        apply_damages(sheet, damages, rng)
        parts.append(sheet_markdown(sheet))
    return "\n".join(parts)


def main(root: str = "fixtures") -> str:
    cases = load_gold_cases(root)
    backend = RulesBackend()
    lines = [
        "# All damage types at once (rules backend)",
        "",
        f"Cases: {', '.join(c.name for c in cases)}; {len(SEEDS)} seeds per cell. Scale 1 = every",
        "damage type at its default rate (see report.md), scale 2 = twice that (capped at 0.9).",
        "",
        "| layout | scale | indicator F1 | worst seed F1 | field accuracy | goal mean |",
        "|---|---|---|---|---|---|",
    ]
    for layout in LAYOUTS:
        for scale in SCALES:
            total, worst = CaseScore(name="all"), 1.0
            for seed in SEEDS:
                run = CaseScore(name="run")
                for case in cases:
                    got = extract_text(render(case.gold, layout, scale, seed), backend)
                    score = score_case(case.name, case.gold, got)
                    run.add(score)
                    total.add(score)
                worst = min(worst, run.metrics().get("indicator_f1") or 0.0)
            m = total.metrics()
            lines.append(
                f"| {layout} | {scale:g} | {m['indicator_f1']:.3f} | {worst:.3f} | "
                f"{m['field_accuracy']:.3f} | {m['goal_mean']:.3f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    report = main(*sys.argv[1:])
    atomic_write_text(Path(__file__).with_name("combined.md"), report)
    print(report)
