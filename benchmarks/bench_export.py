"""Export time by format and size: XLSX against CSV of the same records in the same run (the floor:
CSV is one pass of the csv module), at 390, 780 and 2,340 forms (issue 21 item 10: XLSX was
quadratic in rows, 22.9 s / 86.8 s / past 10 min).

    .venv/bin/python benchmarks/bench_export.py [--forms 390,780,2340] [--formats csv,xlsx]

The records are the seed's 13 gold forms repeated (each copy its own document, so every row is
distinct); each export is timed once, writing into a temporary folder. Growth from the smallest
size to each larger one is quoted beside the size ratio: linear export grows like the forms.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

from structurer.io import read_records
from structurer.models import SourceRef
from structurer.store.export import export_records

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def corpus(forms: int) -> list:
    seed = read_records(ROOT / "fixtures" / "shanghai-2024" / "gold.jsonl")
    out = []
    for copy in range(forms // len(seed)):
        for r in seed:
            r = r.model_copy(deep=True)
            r.source = SourceRef(document=f"{copy:05d}.md", start_line=1, end_line=2)
            out.append(r)
    return out


def seconds(records: list, fmt: str, folder: Path) -> float:
    t0 = time.perf_counter()
    export_records(records, folder / f"out.{fmt}", fmt)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", default="390,780,2340")
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()
    sizes = [int(n) for n in args.forms.split(",")]
    formats = args.formats.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            records = corpus(n)
            row = {"forms": n, "indicators": sum(len(r.indicators) for r in records)}
            for fmt in formats:
                row[fmt] = round(seconds(records, fmt, Path(tmp)), 3)
            rows.append(row)
            print(json.dumps(row), flush=True)
    first = rows[0]
    for row in rows:
        growth = {f: round(row[f] / first[f], 2) for f in formats}
        print(f"{row['forms']:>6} forms (x{row['forms'] / first['forms']:g}): "
              + ", ".join(f"{f} {row[f]:.2f} s (x{growth[f]})" for f in formats)
              + (f"; xlsx/csv x{row['xlsx'] / row['csv']:.1f}" if {"csv", "xlsx"} <= set(formats)
                 else ""))  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    result = {"machine": describe(), "rows": rows}
    (RESULTS / "export.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
