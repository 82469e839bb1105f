"""End-to-end corpus throughput, scaling over processes and peak memory, beside the parse floor.

Every measurement is one fresh `structurer extract FOLDER -o OUT -j N` process (the real CLI,
start-up included) on a generated corpus, with the peak memory of its whole process tree (the
parent and its workers: the sum of their Pss, sampled from /proc every 50 ms). In the same run, the *floor*:
the same files read, decoded, split into forms and every table row split on `|`, with no grid,
rules, checks or output — what any reader of this text must at least spend.

Corpora (rendered from the fixtures' gold forms, project names numbered so every form and file
differs; cached under --work):
  forms-N   N forms in files of 100 forms (N/100 files): throughput and memory vs size
  one-1300  one file of 1,300 forms      } time must be linear in files too: the 1,300 files
  files-1300  1,300 files of one form    } within 2x of the one file

    .venv/bin/python benchmarks/bench_corpus.py                  # 1k, 10k, 100k forms; 1 and 2 jobs
    .venv/bin/python benchmarks/bench_corpus.py --sizes 1000 --jobs 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
STRUCTURER = Path(sys.executable).parent / "structurer"
PER_FILE = 100
MARK = "§"  # placeholder in the template file, replaced by the file's number


def template(forms: int, first: int = 0) -> str:
    """`forms` gold forms (from the `first`-th on, cycling) rendered as one document, project
    names ending in MARK + position."""
    from structurer.quality.damage import render_document
    from structurer.quality.robustness import load_gold_cases

    gold = [r for c in load_gold_cases(ROOT / "fixtures") for r in c.gold]
    records = []
    for i in range(forms):
        r = gold[(first + i) % len(gold)].model_copy(deep=True)
        r.project_name = f"{r.project_name}{MARK}{i:03d}"
        records.append(r)
    return render_document(records)


def make_corpus(folder: Path, files: int, per_file: int) -> Path:
    """`files` documents of `per_file` forms in nested folders (100 per folder), made once."""
    done = folder / ".complete"
    if done.exists():
        return folder
    texts = [template(per_file, first) for first in range(0, 25 if per_file < 25 else 1)]
    for k in range(files):  # one-form files cycle through the gold forms, as one file does
        path = folder / f"part-{k // 100:03d}" / f"doc-{k:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = texts[k % len(texts)]
        path.write_text(text.replace(MARK, f"-{k:05d}-"), encoding="utf-8")
    done.write_text("")
    return folder


def _tree_rss(pid: int) -> int:
    """Memory of a process and all its descendants (0 once gone): the sum of their proportional
    set sizes (Pss), so pages a forked worker shares with its parent count once, not twice.
    Children are found through /proc/PID/task/TID/children (no scan of every process)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [
                    int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()
                ]
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run_measured(cmd: list[str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall seconds and peak tree RSS (bytes) of `cmd`."""
    peak = [0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds, peak[0], done


def extract(corpus: Path, jobs: int, work: Path) -> dict:
    out = work / "out.jsonl"
    out.unlink(missing_ok=True)
    cmd = [str(STRUCTURER), "extract", str(corpus), "-o", str(out), "-b", "rules", "-j", str(jobs)]
    load = os.getloadavg()[0]  # other work on the machine slows the run: say how much there was
    seconds, peak, _ = run_measured(cmd)
    forms = sum(1 for _ in out.open("rb"))
    size = out.stat().st_size
    out.unlink()
    return {"jobs": jobs, "forms": forms, "seconds": round(seconds, 2),
            "forms_per_s": round(forms / seconds, 1), "peak_pss_mib": round(peak / 2**20, 1),
            "output_mib": round(size / 2**20, 1), "load_1m_before": round(load, 2)}  # fmt: skip


FLOOR = """
import sys, time
from pathlib import Path
from structurer.read.chunker import split_forms
from structurer.read.formats import read_source
t = time.perf_counter()
forms = rows = 0
for path in sorted(p for p in Path(sys.argv[1]).rglob("*.md")):
    _, chunks = split_forms(read_source(path).text)
    forms += len(chunks)
    for chunk in chunks:
        for line in chunk.text.split("\\n"):
            if line.startswith("|"):
                rows += len(line.split("|"))
print(forms, time.perf_counter() - t)
"""


def floor(corpus: Path) -> dict:
    """The parse floor, timed inside the process (no start-up)."""
    out = subprocess.run([sys.executable, "-c", FLOOR, str(corpus)], capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    forms, seconds = int(out[0]), float(out[1])
    return {"forms": forms, "seconds": round(seconds, 2), "forms_per_s": round(forms / seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--jobs", default="1,2", help="process counts to compare")
    ap.add_argument("--files", type=int, default=1300, help="forms for the files-vs-one check")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "structurer-bench")
    args = ap.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    jobs = [int(j) for j in args.jobs.split(",")]
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        corpus = make_corpus(work / f"forms-{n}", max(1, n // PER_FILE), min(n, PER_FILE))
        row = {"corpus": f"forms-{n}", "files": max(1, n // PER_FILE), "floor": floor(corpus)}
        row["runs"] = [extract(corpus, j, work) for j in jobs]
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.files:
        for name, files, per in (("one", 1, args.files), ("files", args.files, 1)):
            corpus = make_corpus(work / f"{name}-{args.files}", files, per)
            row = {"corpus": f"{name}-{args.files}", "files": files, "floor": floor(corpus),
                   "runs": [extract(corpus, 1, work)]}  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / "corpus.json"
    target.write_text(json.dumps({"machine": describe(), "runs": rows}, indent=1) + "\n", "utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
