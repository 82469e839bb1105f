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

SQLite: the runs accumulate in one database file; a run is written in one transaction, its
tables created in it too, into a database whose tables of these names have these columns (or
none): a failed export leaves the database as it was. Parquet: a folder with one file per table
and run (`forms/<run_id>.parquet`, ...), the run's files all complete before any is in place.

A value a column cannot hold (an integer beyond 64 bits such as `"year": 10**20`, which the
record contract allows; an amount too large for a float) is stored as NULL and refused as an
`export.out_of_range` finding of its form (in `findings`, and returned to the caller), so one
such record neither stops the export nor loses the others.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StructurerError
from ..io import atomic_write_files
from ..models import AMOUNT_FIELDS, CODE_FIELDS, HEADER_FIELDS, Finding, FormRecord
from ..read.values import amount_value
from .export import extra_text

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
        *((f, "TEXT") for f in CODE_FIELDS),
        ("funding_unit", "TEXT"),
        ("unit_factor", "INTEGER"),
        *((f, "REAL") for f in AMOUNT_FIELDS),
        ("overall_goal", "TEXT"),
        ("annual_goal", "TEXT"),
        ("extra_fields", "TEXT"),
        ("indicators", "INTEGER"),
        ("errors", "INTEGER"),
        ("warnings", "INTEGER"),
        ("info", "INTEGER"),
        ("accepted", "INTEGER"),
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
        ("accepted", "TEXT"),
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


@dataclass
class Export:
    """One records file as rows of every table, and the values refused on the way."""

    tables: dict[str, list[Row]]
    refused: list[tuple[FormRecord, Finding]] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)  # what was written


def tables(records: Sequence[FormRecord], run_id: str, records_file: str) -> Export:
    """The rows of every table for one records file; a value its column cannot hold is NULL and
    an `export.out_of_range` finding of its form."""
    out: dict[str, list[Row]] = {name: [] for name in COLUMNS}
    refused = []
    for r in records:
        src = r.source
        key = {"run_id": run_id, "document": src.document if src else None,
               "sha256": src.sha256 if src else None, "form_index": r.form_index}  # fmt: skip
        forms, indicators = [_form_row(r, key)], _indicator_rows(r, key)
        problems = _fit("forms", forms) + _fit("indicators", indicators, keys=False)
        findings = [_finding_row(key, f) for f in [*r.findings, *problems]]
        _fit("findings", findings, keys=False)  # the key's own problems: said with its form
        out["forms"] += forms
        out["indicators"] += indicators
        out["findings"] += findings
        refused += [(r, f) for f in problems]
    backends = sorted({str(_run_of(r).get("backend")) for r in records})
    out["runs"].append({"run_id": run_id, "records_file": records_file, "forms": len(records),
                        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "backends": ",".join(backends)})  # fmt: skip
    rows = {name: [{c: row.get(c) for c, _ in COLUMNS[name]} for row in found]
            for name, found in out.items()}  # fmt: skip
    return Export(rows, refused)


def _finding_row(key: Row, f: Finding) -> Row:
    accepted = f.accepted.reason if f.accepted is not None else None  # the reviewer's reason
    return {**key, "severity": f.severity, "code": f.code, "message": f.message,
            "paths": json.dumps(f.paths), "values": json.dumps(f.values, ensure_ascii=False),
            "accepted": accepted}  # fmt: skip


def _indicator_rows(r: FormRecord, key: Row) -> list[Row]:
    rows = []
    for n, ind in enumerate(r.indicators, 1):
        quantitative = ind.op is not None and ind.value is not None
        rows.append({**key, "position": n, **ind.model_dump(), "value": _number(ind.value),
                     "quantitative": int(quantitative)})  # fmt: skip
    return rows


INT64 = (-(2**63), 2**63 - 1)


def _fit(table: str, rows: list[Row], *, keys: bool = True) -> list[Finding]:
    """Set to None, in place, each value its column's type cannot hold; one finding each (for
    the key columns only when `keys`: a form's key is said once, with the form's row)."""
    found = []
    for row in rows:
        for column, kind in COLUMNS[table]:
            value = row.get(column)
            if value is None or _holds(kind, value):
                continue
            row[column] = None
            if not keys and column in FORM_KEY:
                continue
            where = f"{table}.{column}" + (f" (indicator {row['position']})" if "position" in row
                                           else "")  # fmt: skip
            found.append(Finding(
                severity="error", code="export.out_of_range",
                message=f"{where}: {str(value)[:40]} does not fit a {kind} column; stored as NULL",
                paths=[column], values={"value": str(value)[:100]},
            ))  # fmt: skip
    return found


def _holds(kind: str, value: Any) -> bool:
    if kind == "INTEGER" and isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    if kind == "REAL" and isinstance(value, float):
        return math.isfinite(value)
    return True


def _form_row(r: FormRecord, key: Row) -> Row:
    severities = [f.severity if f.accepted is None else "accepted" for f in r.findings]
    run = _run_of(r)
    fields = (*HEADER_FIELDS, *CODE_FIELDS, "year", "overall_goal", "annual_goal")
    return {
        **key,
        **{f: getattr(r, f) for f in fields},
        "funding_unit": r.funding.unit,
        "unit_factor": UNIT_FACTORS.get(r.funding.unit or ""),
        **{f: _number(getattr(r.funding, f)) for f in AMOUNT_FIELDS},
        "extra_fields": extra_text(r),
        "indicators": len(r.indicators),
        "errors": severities.count("error"),
        "warnings": severities.count("warning"),
        "info": severities.count("info"),
        "accepted": severities.count("accepted"),
        **{k: run.get(k) for k in ("backend", "model", "prompt_version", "vocabulary")},
    }


# --- SQLite ---


def export_sqlite(
    records: Sequence[FormRecord], path: str | Path, *, records_file: str | Path
) -> Export:
    """Add (or replace) this records file's run in the SQLite database at `path`, in one
    transaction that also creates the tables: a failure commits nothing."""
    target = Path(path)
    run_id = run_id_of(records_file)
    export = tables(records, run_id, Path(records_file).name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(target, isolation_level=None)  # transactions begun here, by hand
    except (OSError, sqlite3.Error) as exc:
        raise StructurerError(f"{target}: cannot open as a SQLite database: {exc}") from None
    try:
        db.execute("BEGIN IMMEDIATE")  # Python's own handling would commit CREATE TABLE at once
        try:
            _check_schema(db, target)
            _write_run(db, run_id, export.tables)
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        raise StructurerError(f"{target}: not a structurer SQLite store: {exc}") from None
    finally:
        db.close()
    export.paths = [target]
    return export


def _check_schema(db: sqlite3.Connection, target: Path) -> None:
    """Tables of our names must have our columns: another program's `forms` is not ours."""
    for name, columns in COLUMNS.items():
        found = [(c, t) for _, c, t, *_ in db.execute(f'PRAGMA table_info("{name}")')]
        if found and found != list(columns):
            raise StructurerError(
                f"{target}: not a structurer SQLite store: its table {name!r} has other columns "
                f"({', '.join(c for c, _ in found)[:120]}); export into another database"
            )


def _write_run(db: sqlite3.Connection, run_id: str, rows: dict[str, list[Row]]) -> None:
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
    for name in ("forms", "indicators", "findings"):
        db.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}_form" ON "{name}" (run_id, document, form_index)'
        )


# --- Parquet ---

_ARROW_TYPES = {"TEXT": "string", "INTEGER": "int64", "REAL": "float64"}


def export_parquet(
    records: Sequence[FormRecord], path: str | Path, *, records_file: str | Path
) -> Export:
    """Write this run's tables as PATH/<table>/<run_id>.parquet (replacing that run's files):
    every file is made in memory first, then all are put in place together."""
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
    export = tables(records, run_id, Path(records_file).name)
    files = {}
    for name, rows in export.tables.items():
        schema = pa.schema([(c, getattr(pa, _ARROW_TYPES[t])()) for c, t in COLUMNS[name]])
        try:
            table = pa.Table.from_pylist(rows, schema=schema)
        except (pa.ArrowException, OverflowError) as exc:
            raise StructurerError(f"{folder}: cannot write table {name}: {exc}") from None
        buf = io.BytesIO()
        pq.write_table(table, buf)
        files[folder / name / f"{run_id}.parquet"] = buf.getvalue()
    atomic_write_files(files)
    export.paths = list(files)
    return export
