"""Reading each input format: seconds per document and per form, beside the markdown of the same
forms read in the same run (the floor: the text path every other format ends in).

    .venv/bin/python benchmarks/bench_formats.py [--runs 5]

Each row is `load_document` (read the file, turn it into lines, chunk it) on a generated case and
on its base markdown fixture, median of N runs in this process, plus the whole `extract` path
(rules, checks) once. PDF reading is dominated by pdfminer's page parsing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

from structurer.pipeline import extract_documents
from structurer.read import load_document
from structurer.rules import RulesBackend

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
RESULTS = Path(__file__).resolve().parent / "results"
CASES = {  # generated case -> the markdown fixture whose gold it prints
    "gen-district-2026-pdf": "synthetic-district-2026",
    "gen-district-2026-xlsx": "synthetic-district-2026",
    "gen-district-2026-xls": "synthetic-district-2026",
    "gen-paddle-2025-xlsx-sheets": "synthetic-paddle-2025",
    "gen-paddle-2025-mineru-middle": "synthetic-paddle-2025",
    "gen-shanghai-2024-mineru": "shanghai-2024",
    "gen-docling-2025-docling": "synthetic-docling-2025",
}
EXTRA = {"real PDF: real-shandong-2026-pdf": FIXTURES / "real-shandong-2026-pdf" / "source.pdf"}


def median_seconds(path: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        load_document(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def extract_seconds(path: Path) -> float:
    t0 = time.perf_counter()
    extract_documents([load_document(path)], RulesBackend())
    return time.perf_counter() - t0


def source_of(case: str) -> Path:
    return next((FIXTURES / case).glob("source.*"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rows = []
    for case, base in CASES.items():
        path, floor = source_of(case), source_of(base)
        forms = len(load_document(path).chunks)
        rows.append({
            "case": case, "format": load_document(path).format, "forms": forms,
            "read_s": median_seconds(path, args.runs), "markdown_read_s": median_seconds(floor, args.runs),
            "extract_s": extract_seconds(path), "markdown_extract_s": extract_seconds(floor),
        })  # fmt: skip
    for name, path in EXTRA.items():
        doc = load_document(path)
        rows.append({"case": name, "format": doc.format, "forms": len(doc.chunks),
                     "read_s": median_seconds(path, args.runs), "extract_s": extract_seconds(path)})  # fmt: skip
    print(
        f"{'case':34} {'format':8} {'forms':>5} {'read':>9} {'md read':>9} {'extract':>9} {'md extr':>9}"
    )
    for r in rows:
        md = r.get("markdown_read_s")
        mde = r.get("markdown_extract_s")
        print(
            f"{r['case']:34} {r['format']:8} {r['forms']:5} {r['read_s']:8.3f}s "
            f"{(f'{md:8.3f}s' if md is not None else '        -')} {r['extract_s']:8.3f}s "
            f"{(f'{mde:8.3f}s' if mde is not None else '        -')}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = {"machine": describe(), "runs": args.runs, "rows": rows}
    (RESULTS / "formats.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / 'formats.json'}")


if __name__ == "__main__":
    main()
