"""Commands: vocab learn."""

from __future__ import annotations

from pathlib import Path

import typer

from . import app
from .options import VocabFiles, vocabulary

vocab_app = typer.Typer(help="The template vocabulary: learn a template's spellings.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(vocab_app, name="vocab")


@vocab_app.command("learn")
def learn_command(
    records: list[Path] = typer.Argument(
        ..., help="Records (JSONL) whose values are placed: a hybrid or llm run, reviewed forms."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="The vocabulary file to write (TOML, extends base)."
    ),
    corrections: Path | None = typer.Option(
        None,
        help="A corrections log to apply first. Default: each records file's own "
        "RECORDS.corrections.jsonl, where there is one.",
    ),
    source_root: Path | None = typer.Option(
        None, help="The folder the documents were extracted from, when they have moved."
    ),
    name: str = typer.Option("learned", help="The vocabulary's name (in records' meta)."),
    vocab: VocabFiles = None,
) -> None:
    """Learn the label spellings of a template from records whose values are placed.

    For each value, the label printed beside it in its form (left of it, or above it) is the
    field's spelling in that template; the ones the vocabulary lacks are written to OUTPUT with
    the forms they came from, and so are level names it lacks. Then `--vocab OUTPUT` reads that
    template by rules alone. A spelling the vocabulary has for another field, or that two fields
    claim, is left out and listed.
    """
    from ..io import atomic_write_text, check_output, read_records
    from ..review.corrections import replay
    from ..review.learn import learn, vocabulary_file
    from ..review.log import corrections_path_for, read_corrections
    from ..review.sources import documents_for

    words = vocabulary(vocab)
    check_output(output, [*records, *([corrections] if corrections else [])])
    found_records, documents = [], {}
    for path in records:
        recs = read_records(path)
        log = corrections or corrections_path_for(path)
        if Path(log).is_file():
            replay(recs, read_corrections(log), strict=False, log=str(log))
        recs, docs = documents_for(recs, source_root=source_root, records_path=path, vocab=words)
        found_records += recs
        documents.update(docs)
    found = learn(found_records, documents, words)
    text = vocabulary_file(found, name=name, records=len(found_records), documents=len(documents))
    atomic_write_text(output, text)
    spellings = sum(len(v) for v in found.fields.values())
    levels = sum(len(v) for v in found.levels.values())
    typer.echo(f"wrote {output}: {spellings} label spellings, {levels} level names", err=True)
    for why in found.left_out[:10]:
        typer.echo(f"left out: {why}", err=True)
