"""CLI cold start: `structurer --help` wall time (median of N fresh processes) and what it imports.

    .venv/bin/python benchmarks/bench_cli.py [--runs 15]

`python -X importtime` lists every module `--help` imports with its cumulative time; the heavy
optional stacks (openai, instructor, matplotlib, starlette, uvicorn, openpyxl, jinja2) must not be
among them: the commands that need them import them inside the command function.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
HEAVY = ("openai", "instructor", "matplotlib", "starlette", "uvicorn", "openpyxl", "jinja2")
HELP = "import sys; sys.argv = ['structurer', '--help']; from structurer.cli import main; main()"


def _script() -> list[str]:
    exe = Path(sys.executable).with_name("structurer")
    return [str(exe), "--help"] if exe.exists() else [sys.executable, "-c", HELP]


def wall_times(runs: int) -> list[float]:
    cmd = _script()
    subprocess.run(cmd, capture_output=True, check=True)  # warm the OS file cache once
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return times


def import_times() -> list[tuple[str, int, int]]:
    """(module, self µs, cumulative µs) for every module `--help` imports."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", HELP], capture_output=True, text=True, check=True
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = (p.strip() for p in line[len("import time:") :].split("|"))
        rows.append((name.strip(), int(self_us), int(cum_us)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    times = wall_times(args.runs)
    rows = import_times()
    top_level = {}
    for name, _, cum in rows:  # cumulative time per top-level package, counted once
        pkg = name.split(".")[0]
        if "." not in name or pkg not in top_level:
            top_level[pkg] = max(top_level.get(pkg, 0), cum)
    offenders = sorted({n.split(".")[0] for n, _, _ in rows if n.split(".")[0] in HEAVY})
    result = {
        "machine": describe(),
        "command": " ".join(_script()),
        "runs": args.runs,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "min_ms": round(min(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "modules_imported": len(rows),
        "heavy_imported": offenders,
        "top_packages_ms": {
            k: round(v / 1000, 1) for k, v in sorted(top_level.items(), key=lambda kv: -kv[1])[:12]
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
