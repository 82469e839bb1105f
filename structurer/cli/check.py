"""Commands: check, export."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from . import app
from .conventions import stdout_bytes
from .options import VocabFiles, vocabulary

if TYPE_CHECKING:  # the models load pydantic: only the commands that run import them
    from ..models import Document, Finding, FormRecord

out_console = Console(soft_wrap=True)  # one finding per line, for grep
err_console = Console(stderr=True, soft_wrap=True)
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


@app.command()
def check(
    records_file: Path = typer.Argument(
        ..., help="Records (JSONL) written by `structurer extract`."
    ),
    source: Path | None = typer.Option(
        None,
        "--source",
        "-s",
        help="The OCR document the records came from: also check that every value is in it "
        "(grounding) and compare implementing units with its title.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON instead."),
    vocab: VocabFiles = None,
) -> None:
    """Re-run the deterministic checks on RECORDS_FILE and print the findings per form.

    Exit code 1 when any finding is an error a reviewer has not accepted, else 0.
    """
    from ..io import read_records
    from ..read import load_document

    words = vocabulary(vocab)
    records = read_records(records_file)
    document = _as_named(load_document(source, words), records) if source else None
    doc_findings = recheck(records, document, words)
    if as_json:
        _print_json(records, doc_findings)
    else:
        _print_report(records, doc_findings)
    if any(f.severity == "error" and not f.accepted for f in _all(records, doc_findings)):
        raise typer.Exit(1)


def _as_named(document: Document, records: list[FormRecord]) -> Document:
    """The document under the name the records know it by: records of a corpus name it by its
    path in the corpus (`2024/预算.md`), found here by its content."""
    names = {
        r.source.document
        for r in records
        if r.source and r.source.document and r.source.sha256 == document.sha256
    }
    return document.model_copy(update={"name": names.pop()}) if len(names) == 1 else document


def recheck(
    records: list[FormRecord], document: Document | None, vocab: Any = None
) -> list[Finding]:
    """Refresh every record's findings in place; returns the document-level findings."""
    from ..checks import recheck as recheck_record

    for record in records:
        recheck_record(record, document, vocab=vocab)
    return _document_findings(records, document)


def _document_findings(records: list[FormRecord], document: Document | None) -> list[Finding]:
    """Document checks per source document named in the records (one file may hold several)."""
    from ..checks import check_document

    groups: dict[str | None, list[FormRecord]] = {}
    for r in records:
        groups.setdefault(r.source.document if r.source else None, []).append(r)
    mine = document.key if document else None
    if document and None in groups and mine not in groups:
        groups[mine] = groups.pop(None)  # records without a document name: the --source one
    out = []
    for name, group in groups.items():
        out += check_document(group, document if name == mine else None)
    return out


def _all(records: list[FormRecord], doc_findings: list[Finding]) -> list[Finding]:
    return [f for r in records for f in r.findings] + doc_findings


def _sorted(findings: list[Finding]) -> list[Finding]:
    from ..models import SEVERITY_ORDER

    return sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity])


def _print_json(records: list[FormRecord], doc_findings: list[Finding]) -> None:
    forms = [
        {
            "form_index": r.form_index,
            "project_name": r.project_name,
            "document": r.source.document if r.source else None,
            "findings": [f.model_dump() for f in _sorted(r.findings)],
        }
        for r in records
    ]
    payload = {"forms": forms, "document": [f.model_dump() for f in _sorted(doc_findings)]}
    out_console.print_json(json.dumps(payload, ensure_ascii=False))


def _print_report(records: list[FormRecord], doc_findings: list[Finding]) -> None:
    # Forms with errors first, then warnings, then the rest; document order within each group.
    from ..models import SEVERITY_ORDER

    def rank(r: FormRecord) -> int:
        return min((SEVERITY_ORDER[f.severity] for f in r.findings), default=3)

    for r in sorted(records, key=rank):
        if r.findings:
            _print_findings(f"form {r.form_index} · {r.key()}", r.findings)
    if doc_findings:
        _print_findings("document", doc_findings)
    counts = Counter("accepted" if f.accepted else f.severity for f in _all(records, doc_findings))
    clean = sum(1 for r in records if not r.findings)
    accepted = f", {counts['accepted']} accepted by review" if counts["accepted"] else ""
    out_console.print(
        f"{len(records)} forms checked, {clean} without findings: "
        f"[{_STYLE['error']}]{counts['error']} errors[/], "
        f"[{_STYLE['warning']}]{counts['warning']} warnings[/], "
        f"[{_STYLE['info']}]{counts['info']} info[/]{accepted}"
    )


def _print_findings(title: str, findings: list[Finding]) -> None:
    out_console.print(f"[bold]{escape(title)}[/]")
    for f in _sorted(findings):
        where = f" [dim]{escape(', '.join(f.paths))}[/]" if f.paths else ""
        style = _STYLE[f.severity]
        out_console.print(f"  [{style}]{f.severity:<7}[/] {f.code}{where}")
        out_console.print(f"          {escape(f.message)}", highlight=False)


@app.command()
def export(
    records_file: Path = typer.Argument(
        ..., help="Records (JSONL) written by `structurer extract`."
    ),
    out: str = typer.Option(
        ...,
        "--out",
        "-o",
        help="Where to write; the format follows its suffix. .xlsx: one workbook, sheets forms "
        "and indicators. .csv (or a name without a suffix, with --format csv): two files, "
        "NAME-forms.csv and NAME-indicators.csv, or forms.csv and indicators.csv inside a "
        "folder (a name ending in '/'); with --table, that one table in OUT. .sqlite, .sqlite3 "
        "or .db: a database the run is added to (runs accumulate; the same records file "
        "replaces its earlier export). .parquet or a folder with --format parquet: "
        "OUT/<table>/<run>.parquet. .jsonl: one table's rows as JSON lines. - : standard "
        "output, one table (forms, or --table indicators) as CSV without a BOM (or "
        "--format jsonl); the other formats are refused there.",
        show_default=False,
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="csv, xlsx, sqlite, parquet or jsonl, when OUT's name does not say it; a name that "
        "says another format is refused.",
        show_default=False,
    ),
    table: str | None = typer.Option(
        None,
        "--table",
        help="csv and jsonl: only this table, forms or indicators, in OUT.",
        show_default=False,
    ),
) -> None:
    """Write the records as tables for analysts: forms and indicators, or a store to query.

    forms: one row per form with its key fields, funding columns and finding counts per
    severity. indicators: one row each, keyed by document, form_index and project_name. CSV
    files are UTF-8 with a BOM so that Excel opens them correctly; XLSX stores amounts as
    numbers. sqlite and parquet are a store to query across runs: tables runs, forms,
    indicators and findings keyed by run, document (name and sha256) and form, with each form's
    backend, model and prompt version; a value a column cannot hold is stored as NULL and
    reported as an export.out_of_range finding (exit 1).
    """
    from ..io import check_output, read_records
    from ..store.export import export_target

    if out != "-":  # first, whatever the format: never over the records file
        check_output(out, [records_file])
    target = export_target(out, fmt, table)  # before reading: a wrong target costs nothing
    records = read_records(records_file)
    if target.to_stdout:
        from ..store.export import table_bytes

        stdout = stdout_bytes()
        stdout.write(table_bytes(records, target.fmt, target.table or "forms", bom=False))
        stdout.flush()
        return
    if target.fmt in ("sqlite", "parquet"):
        from ..store import database

        write = database.export_sqlite if target.fmt == "sqlite" else database.export_parquet
        written = write(records, target.path, records_file=records_file)
        paths, refused = written.paths, written.refused
    else:
        from ..store.export import export_records

        paths = export_records(
            records, target.path, target.fmt, inputs=[records_file], table=target.table
        )
        refused = []
    for path in paths:
        err_console.print(f"wrote {path}", highlight=False)
    _print_refused(refused)


def _print_refused(refused: list[Any]) -> None:
    """Each value a store could not hold, as its form's finding (a few per code, then a count)."""
    from .conventions import RepeatCap

    cap = RepeatCap()
    for record, finding in refused:
        if cap.show(finding.code):
            where = f"form {record.form_index} · {record.key()}"
            err_console.print(f"{escape(where)}: error {finding.code}: {escape(finding.message)}",
                              highlight=False)  # fmt: skip
    for line in cap.hidden():
        err_console.print(line, highlight=False)
    if refused:
        raise typer.Exit(1)
