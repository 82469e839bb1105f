"""Forms per second on one core, start-up excluded, per stage, beside the floor; and the cost per
indicator row as a form grows from 50 to 2,000 rows.

Corpus: the fixtures' gold forms rendered as one markdown document, cycled with numbered project
names so every form is distinct (no text cache can help). In one process, best of --rounds:

  floor    read the file, split it into forms at their titles, split every table row into
           cells, json.dumps a record-sized dict per form: what any reader of this text spends
  read     load_document (decode, chunk)            grid   chunk_grid (layout, cells)
  rules    extract_form                             checks check_record with source grounding
  json     model_dump_json                          end    extract_to_file, jobs=1 (all of it)

    .venv/bin/python benchmarks/bench_stages.py                 # 2,000 forms, 3 rounds
    .venv/bin/python benchmarks/bench_stages.py --forms 500 --rows 50,200,2000

Writes results/stages.json with the machine description.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def corpus(n: int) -> str:
    from bench_rules import make_document

    return make_document(n)


def floor(text: str, title: re.Pattern[str]) -> int:
    """Forms found and handled by the plainest possible reading of the same text."""
    forms = [f for f in title.split(text) if f.strip()]
    for form in forms:
        rows = [
            [c.strip() for c in ln.strip("|").split("|")] for ln in form.split("\n") if "|" in ln
        ]
        json.dumps({"rows": rows[:20], "indicators": rows[20:]}, ensure_ascii=False)
    return len(forms)


def best(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def stages(n: int, rounds: int) -> dict[str, float]:
    from structurer.checks import check_record
    from structurer.pipeline import extract_to_file
    from structurer.read import load_document
    from structurer.read.layouts import chunk_grid
    from structurer.rules import RulesBackend, extract_form
    from structurer.vocab import default_vocabulary

    vocab = default_vocabulary()
    work = Path(tempfile.mkdtemp())
    source = work / "forms.md"
    source.write_text(corpus(n), encoding="utf-8")
    text = source.read_text(encoding="utf-8")
    title = re.compile(r"^.*绩效目标.{0,4}表.*$", re.M)
    doc = load_document(source, vocab)
    grids = [chunk_grid(c, vocab) for c in doc.chunks]
    records = [extract_form(c, g, vocab) for c, g in zip(doc.chunks, grids, strict=True)]
    forms = len(doc.chunks)

    def fresh_grids() -> None:
        for c in doc.chunks:
            chunk_grid(c, vocab)

    def rules() -> None:
        for c in doc.chunks:
            extract_form(c, chunk_grid(c, vocab), vocab)

    def checks() -> None:
        for r, c in zip(records, doc.chunks, strict=True):
            g = chunk_grid(c, vocab)  # a fresh grid: nothing derived from it is kept
            check_record(r, source_text=c.text, vocab=vocab, grid=g)  # reads, never changes r

    def end_to_end() -> None:
        extract_to_file(
            [load_document(source, vocab)], work / "out.jsonl", RulesBackend(vocab), jobs=1
        )

    per = {
        "floor": best(lambda: floor(text, title), rounds),
        "read": best(lambda: load_document(source, vocab), rounds),
        "grid": best(fresh_grids, rounds),
        "rules": best(rules, rounds) - best(fresh_grids, rounds),
        "checks": best(checks, rounds) - best(fresh_grids, rounds),
        "json": best(lambda: [r.model_dump_json() for r in records], rounds),
        "end": best(end_to_end, rounds),
    }
    return {"forms": forms, **{k: round(v / forms * 1e6, 1) for k, v in per.items()},
            "forms_per_second": round(forms / per["end"]), "floor_ratio": round(per["end"] / per["floor"], 1)}  # fmt: skip


def scaling(rows_list: list[int], rounds: int) -> list[dict[str, float]]:
    """One form with `rows` indicator rows: rules + checks, µs per row."""
    from structurer.checks import check_record
    from structurer.models import Chunk
    from structurer.read.layouts import read_grid
    from structurer.rules import extract_form
    from structurer.vocab import default_vocabulary

    vocab = default_vocabulary()
    head = ("| 项目名称 | 测试项目 |\n| 主管部门 | 某局 |\n"
            "| 一级指标 | 二级指标 | 三级指标 | 年度指标值 |\n")  # fmt: skip
    out = []
    for n in rows_list:
        body = "".join(f"| 产出指标 | 数量指标 | 指标{k:05d} | ≥{k}(次) |\n" for k in range(n))
        text = "财政项目支出绩效目标申报表\n" + head + body
        chunk = Chunk(index=1, start_line=1, end_line=text.count("\n") + 1, text=text)

        def run(text: str = text, chunk: Chunk = chunk) -> None:
            grid = read_grid(text, vocab=vocab)
            record = extract_form(chunk, grid, vocab)
            check_record(record, source_text=text, vocab=vocab, grid=grid)

        out.append({"rows": n, "us_per_row": round(best(run, rounds) / n * 1e6, 1)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--forms", type=int, default=2000)
    ap.add_argument("--rows", default="50,200,500,2000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    result = {
        "machine": describe(),
        "stages_us_per_form": stages(args.forms, args.rounds),
        "within_form_scaling": scaling([int(x) for x in args.rows.split(",")], args.rounds),
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "stages.json").write_text(
            json.dumps(result, ensure_ascii=False, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
