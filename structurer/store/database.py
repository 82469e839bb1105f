"""A queryable store of runs: SQLite (standard library) or Parquet (pyarrow, `structurer[parquet]`).

Four tables, every row keyed by run + document + form, so a corpus can be queried across runs in
SQL or pandas:

- `runs`: one row per exported records file (`run_id` is the sha256 of its content, so exporting
  the same file again replaces it instead of counting it twice);
- `forms`: one row per form: its document (name and sha256), header, funding (amounts as
  numbers, with `unit_factor` 1 for 元 and 10000 for 万元 to add forms of both units), goals,
  finding counts, and the backend, model and prompt version that made it;
- `indicators`: one row per indicator, `quantitative` true when the target is [op]number[unit];
- `findings`: one row per finding, `paths` and `values` as JSON text.

SQLite: the runs accumulate in one database file; a run is written in one transaction. Parquet:
a folder with one file per table and run (`forms/<run_id>.parquet`, ...), each written
atomically; pandas and DuckDB read a table folder as one table.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StructurerError
from ..io import atomic_write_bytes
from ..models import AMOUNT_FIELDS, HEADER_FIELDS, FormRecord
from ..read.values import amount_value

UNIT_FACTORS = {"元": 1, "万元": 10000}
FORM_KEY = ("run_id", "document", "sha256", "form_index")
# (name, SQL type) per column; the Parquet types follow from the SQL ones.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "runs": (
        ("run_id", "TEXT"),
        ("records_file", "TEXT"),
        ("exported_at", "TEXT"),
        ("forms", "INTEGER"),
        ("backends", "TEXT"),
    ),
    "forms": (
        *((k, "INTEGER" if k == "form_index" else "TEXT") for k in FORM_KEY),
        ("project_name", "TEXT"),
        ("year", "INTEGER"),
        *((f, "TEXT") for f in HEADER_FIELDS if f != "project_name"),
        ("funding_unit", "TEXT"),
        ("unit_factor", "INTEGER"),
        *((f, "REAL") for f in AMOUNT_FIELDS),
        ("overall_goal", "TEXT"),
        ("annual_goal", "TEXT"),
        ("indicators", "INTEGER"),
        ("errors", "INTEGER"),
        ("warnings", "INTEGER"),
        ("info", "INTEGER"),
        ("backend", "TEXT"),
        ("model", "TEXT"),
        ("prompt_version", "TEXT"),
        ("vocabulary", "TEXT"),
    ),
    "indicators": (
        *((k, "INTEGER" if k == "form_index" else "TEXT") for k in FORM_KEY),
        ("position", "INTEGER"),
        ("level1", "TEXT"),
        ("level2", "TEXT"),
        ("name", "TEXT"),
        ("target", "TEXT"),
        ("op", "TEXT"),
        ("value", "REAL"),
        ("unit", "TEXT"),
        ("quantitative", "INTEGER"),
    ),
    "findings": (
        *((k, "INTEGER" if k == "form_index" else "TEXT") for k in FORM_KEY),
        ("severity", "TEXT"),
        ("code", "TEXT"),
        ("message", "TEXT"),
        ("paths", "TEXT"),
        ("values", "TEXT"),
    ),
}
Row = dict[str, Any]


def run_id_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _number(value: str | None) -> float | None:
    number = amount_value(value) if value is not None else None
    return float(number) if number is not None else None


def _run_of(record: FormRecord) -> dict[str, Any]:
    """Backend, model and prompt version: `meta.run`, or what older records say in meta.llm."""
    run = record.meta.get("run")
    if isinstance(run, dict):
        return run
    llm = record.meta.get("llm") if isinstance(record.meta.get("llm"), dict) else {}
    return {
        "backend": record.backend,
        "model": llm.get("model"),
        "prompt_version": llm.get("prompt_version"),
        "vocabulary": record.meta.get("vocabulary"),
    }


def tables(records: Sequence[FormRecord], run_id: str, records_file: str) -> dict[str, list[Row]]:
    """The rows of every table for one records file."""
    out: dict[str, list[Row]] = {name: [] for name in COLUMNS}
    for r in records:
        src = r.source
        key = {"run_id": run_id, "document": src.document if src else None,
               "sha256": src.sha256 if src else None, "form_index": r.form_index}  # fmt: skip
        out["forms"].append(_form_row(r, key))
        for n, ind in enumerate(r.indicators, 1):
            quantitative = ind.op is not None and ind.value is not None
            out["indicators"].append({**key, "position": n, **ind.model_dump(),
                                      "value": _number(ind.value),
                                      "quantitative": int(quantitative)})  # fmt: skip
        for f in r.findings:
            out["findings"].append({**key, "severity": f.severity, "code": f.code,
                                    "message": f.message, "paths": json.dumps(f.paths),
                                    "values": json.dumps(f.values, ensure_ascii=False)})  # fmt: skip
    backends = sorted({str(_run_of(r).get("backend")) for r in records})
    out["runs"].append({"run_id": run_id, "records_file": records_file, "forms": len(records),
                        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "backends": ",".join(backends)})  # fmt: skip
    return {name: [{c: row.get(c) for c, _ in COLUMNS[name]} for row in rows]
            for name, rows in out.items()}  # fmt: skip


def _form_row(r: FormRecord, key: Row) -> Row:
    severities = [f.severity for f in r.findings]
    run = _run_of(r)
    return {
        **key,
        **{f: getattr(r, f) for f in (*HEADER_FIELDS, "year", "overall_goal", "annual_goal")},
        "funding_unit": r.funding.unit,
        "unit_factor": UNIT_FACTORS.get(r.funding.unit or ""),
        **{f: _number(getattr(r.funding, f)) for f in AMOUNT_FIELDS},
        "indicators": len(r.indicators),
        "errors": severities.count("error"),
        "warnings": severities.count("warning"),
        "info": severities.count("info"),
        **{k: run.get(k) for k in ("backend", "model", "prompt_version", "vocabulary")},
    }


# --- SQLite ---


def export_sqlite(
    records: Sequence[FormRecord], path: str | Path, *, records_file: str | Path
) -> list[Path]:
    """Add (or replace) this records file's run in the SQLite database at `path`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    run_id = run_id_of(records_file)
    rows = tables(records, run_id, Path(records_file).name)
    try:
        db = sqlite3.connect(target)
    except sqlite3.Error as exc:
        raise StructurerError(f"{target}: cannot open as a SQLite database: {exc}") from None
    try:
        with db:  # one transaction: the run is in whole or not at all
            for name, columns in COLUMNS.items():
                cols = ", ".join(f'"{c}" {t}' for c, t in columns)
                db.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({cols})')
                db.execute(f'DELETE FROM "{name}" WHERE run_id = ?', (run_id,))
                names = ", ".join(f'"{c}"' for c, _ in columns)
                marks = ", ".join("?" for _ in columns)
                db.executemany(
                    f'INSERT INTO "{name}" ({names}) VALUES ({marks})',
                    ([row[c] for c, _ in columns] for row in rows[name]),
                )
            _indexes(db)
    except sqlite3.DatabaseError as exc:
        raise StructurerError(f"{target}: not a structurer SQLite store: {exc}") from None
    finally:
        db.close()
    return [target]


def _indexes(db: sqlite3.Connection) -> None:
    for name in ("forms", "indicators", "findings"):
        db.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}_form" ON "{name}" (run_id, document, form_index)'
        )


# --- Parquet ---

_ARROW_TYPES = {"TEXT": "string", "INTEGER": "int64", "REAL": "float64"}


def export_parquet(
    records: Sequence[FormRecord], path: str | Path, *, records_file: str | Path
) -> list[Path]:
    """Write this run's tables as PATH/<table>/<run_id>.parquet (replacing that run's files)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise StructurerError(
            "Parquet export needs pyarrow: pip install 'structurer[parquet]' (or use --format sqlite)"
        ) from None
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise StructurerError(f"{folder}: Parquet export writes a folder; this is a file")
    run_id = run_id_of(records_file)
    written = []
    for name, rows in tables(records, run_id, Path(records_file).name).items():
        schema = pa.schema([(c, getattr(pa, _ARROW_TYPES[t])()) for c, t in COLUMNS[name]])
        table = pa.Table.from_pylist(rows, schema=schema)
        buf = io.BytesIO()
        pq.write_table(table, buf)
        target = folder / name / f"{run_id}.parquet"
        atomic_write_bytes(target, buf.getvalue())
        written.append(target)
    return written
