"""Rules extraction throughput and memory on 1 to 10,000 forms.

Documents are made by rendering the fixtures' gold records (`structurer.damage`), cycling
through them with numbered project names so no two forms are the same project. Each size runs in
a fresh process so its peak memory (ru_maxrss) is its own:

    .venv/bin/python benchmarks/bench_rules.py            # 1, 100, 1000, 10000 forms
    .venv/bin/python benchmarks/bench_rules.py --sizes 1,100 --damaged

`extract` is the library path of `structurer extract` (read, chunk, grid, rules, checks, journal,
atomic write); `rules only` is `rules.extract_form` over prepared grids; `checks only` is
`checks.check_record` over those records with grounding's source-index cache cleared first.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def make_document(n: int, *, damaged: bool = False) -> str:
    from structurer.quality.damage import DAMAGES, render_document
    from structurer.quality.robustness import load_gold_cases

    gold = [r for c in load_gold_cases(ROOT / "fixtures") for r in c.gold]
    records = []
    for i in range(n):
        r = gold[i % len(gold)].model_copy(deep=True)
        r.project_name = f"{r.project_name}{i + 1:05d}"
        records.append(r)
    damages = {k: d.default_rate for k, d in DAMAGES.items()} if damaged else None
    return render_document(records, damages=damages, seed=n)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(n: int, damaged: bool, trace: bool) -> dict:
    from structurer.checks import check_record
    from structurer.checks.grounding import index_source
    from structurer.pipeline import extract_to_file, plan_jobs
    from structurer.read import load_document
    from structurer.rules import RulesBackend, extract_form

    text = make_document(n, damaged=damaged)
    base_rss = _maxrss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "doc.md", Path(tmp) / "out.jsonl"
        src.write_text(text, encoding="utf-8")
        if trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        result = extract_to_file([load_document(src)], out, RulesBackend())
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 1024**2 if trace else None
        tracemalloc.stop()
        forms = result.forms
        jobs = plan_jobs([load_document(src)])
        t1 = time.perf_counter()
        records = [extract_form(job.chunk, job.grid) for job in jobs]
        rules_seconds = time.perf_counter() - t1
        index_source.cache_clear()  # checking without the source index cache (it was a test)
        t2 = time.perf_counter()
        for job, record in zip(jobs, records, strict=True):
            check_record(record, source_text=job.chunk.text, title=job.document.title)
        checks_seconds = time.perf_counter() - t2
        out_bytes = out.stat().st_size
    return {
        "forms_requested": n,
        "forms": forms,
        "damaged": damaged,
        "source_kib": round(len(text.encode()) / 1024, 1),
        "output_kib": round(out_bytes / 1024, 1),
        "extract_seconds": round(seconds, 3),
        "extract_forms_per_s": round(forms / seconds, 1),
        "rules_only_forms_per_s": round(forms / rules_seconds, 1),
        "checks_only_forms_per_s": round(forms / checks_seconds, 1),
        "maxrss_mib": round(_maxrss_mib(), 1),
        "maxrss_before_mib": round(base_rss, 1),
        "tracemalloc_peak_mib": round(peak, 1) if peak is not None else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,100,1000,10000")
    ap.add_argument("--damaged", action="store_true", help="damage every form (default rates)")
    ap.add_argument("--trace-up-to", type=int, default=1000, help="tracemalloc for sizes <= this")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.damaged, args.trace)))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n)] + ["--damaged"] * args.damaged
        row = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        if n <= args.trace_up_to:
            traced = subprocess.run([*cmd, "--trace"], capture_output=True, text=True, check=True)
            row["tracemalloc_peak_mib"] = json.loads(traced.stdout)["tracemalloc_peak_mib"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    name = "rules_damaged.json" if args.damaged else "rules.json"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(
        json.dumps({"machine": describe(), "runs": rows}, indent=1) + "\n", encoding="utf-8"
    )
    print(f"wrote {RESULTS / name}")


if __name__ == "__main__":
    main()
