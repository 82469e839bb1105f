"""Reading a workbook of 40 -> 400 forms: per-form cost of structurer's .xlsx read beside a
read-only openpyxl pass over the same workbook (the floor), in the same run.

    .venv/bin/python benchmarks/bench_xlsx.py [--forms 40,80,160,320,400] [--runs 3]

The workbook is the gen-district-2026-xlsx fixture's sheet (4 forms, 92 rows, 131 merged ranges,
number formats and borders) repeated down one sheet, each copy's project names numbered. Timed
in CPU seconds of this process (the machine is shared: wall time moves with the neighbours),
best of N runs each:
- `read`: structurer's `read_source` (every cell's shown text, merges, borders -> lines and HTML
  tables), what `extract` does before chunking;
- `floor`: openpyxl's read-only mode iterating every row's values (no styles, no merges);
- `calamine`: python-calamine's values and merged ranges, when it is installed (it reads no
  number format or border, which the records need: a reference, not a candidate).
The goal (issue 19): per-form read cost flat from 40 to 320 forms (ratio <= 1.5) and the read
within 3x the floor.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

from structurer.read import read_source

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "fixtures" / "gen-district-2026-xlsx" / "source.xlsx"
RESULTS = Path(__file__).resolve().parent / "results"
FORMS_PER_COPY = 4


def build(forms: int, folder: Path) -> Path:
    """The fixture's sheet repeated forms/4 times down one sheet, merges and styles copied."""
    import openpyxl

    book = openpyxl.load_workbook(SOURCE)
    ws = book.worksheets[0]
    height = ws.max_row
    cells = [c for row in ws.iter_rows(min_row=1, max_row=height) for c in row]
    merges = [m.bounds for m in ws.merged_cells.ranges]  # (min_col, min_row, max_col, max_row)
    for k in range(1, forms // FORMS_PER_COPY):
        for src in cells:
            if not hasattr(src, "column") or (src.value is None and not src.has_style):
                continue
            dst = ws.cell(row=src.row + k * height, column=src.column)
            dst.value = _numbered(src.value, k)
            dst._style = copy.copy(src._style)
        for c0, r0, c1, r1 in merges:
            ws.merge_cells(start_row=r0 + k * height, start_column=c0,
                           end_row=r1 + k * height, end_column=c1)  # fmt: skip
    path = folder / f"forms-{forms}.xlsx"
    book.save(path)
    return path


def _numbered(value: object, k: int) -> object:
    """Project names numbered per copy, so no two forms are the same."""
    if isinstance(value, str) and value.endswith(("行动", "项目", "工程", "建设")):
        return f"{value}{k}"
    return value


def floor(path: Path) -> None:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    for ws in book.worksheets:
        for _ in ws.iter_rows(values_only=True):
            pass
    book.close()


def calamine(path: Path) -> None:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        sheet = book.get_sheet_by_name(name)
        sheet.to_python()
        _ = sheet.merged_cell_ranges


def best(fn: Callable[[Path], object], path: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        fn(path)
        times.append(time.process_time() - t0)
    return min(times)


def has_calamine() -> bool:
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return False
    return True


def measure(sizes: list[int], runs: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for forms in sizes:
            path = build(forms, Path(tmp))
            row = {"forms": forms, "bytes": path.stat().st_size,
                   "read_s": best(read_source, path, runs), "floor_s": best(floor, path, runs)}  # fmt: skip
            if has_calamine():
                row["calamine_s"] = best(calamine, path, runs)
            rows.append(row)
            print(_line(row), flush=True)
    return rows


def _line(r: dict) -> str:
    per = 1000 * r["read_s"] / r["forms"]
    cal = f" calamine {1000 * r['calamine_s'] / r['forms']:6.2f}" if "calamine_s" in r else ""
    return (
        f"{r['forms']:4} forms  read {per:6.2f} ms/form  floor {1000 * r['floor_s'] / r['forms']:6.2f}"
        f" ms/form  read/floor x{r['read_s'] / r['floor_s']:.2f}{cal}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", default="40,80,160,320,400")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS / "xlsx.json")
    args = ap.parse_args()
    rows = measure([int(n) for n in args.forms.split(",")], args.runs)
    per_form = {r["forms"]: r["read_s"] / r["forms"] for r in rows}
    first, big = min(per_form), 320 if 320 in per_form else max(per_form)
    ratio = per_form[big] / per_form[first]
    print(f"per-form read cost {big} vs {first} forms: x{ratio:.2f} (goal <= 1.5)")
    out = {"machine": describe(), "runs": args.runs, "rows": rows,
           "per_form_ratio": {"from": first, "to": big, "ratio": round(ratio, 3)}}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
