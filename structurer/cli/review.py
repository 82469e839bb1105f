"""Commands: review (the local web app), fixture add (reviewed forms -> a new eval case)."""

from __future__ import annotations

import getpass
import secrets
from pathlib import Path

import typer
from rich.console import Console

from . import app
from .options import VocabFiles, vocabulary

console = Console(stderr=True)
fixture_app = typer.Typer(help="Make eval fixtures from reviewed records.", no_args_is_help=True)
app.add_typer(fixture_app, name="fixture")

DEFAULT_PORT = 8765


@app.command()
def review(
    records: Path = typer.Argument(..., help="Records (JSONL) from `structurer extract`."),
    source: Path | None = typer.Option(
        None,
        "--source",
        "-s",
        help="Review only the records of this document. Default: every document the records "
        "name, found where it was extracted from (see --source-root).",
    ),
    source_root: Path | None = typer.Option(
        None,
        help="The folder the documents are in now, when they moved since extraction: each "
        "record's document is found at DIR/source.document.",
    ),
    sample: int = typer.Option(
        0,
        min=0,
        help="Also queue N random forms the checks call clean; reviewing them estimates the "
        "error rate of the clean forms (shown in the list).",
    ),
    seed: int = typer.Option(0, help="Seed of the --sample draw (the same seed, the same forms)."),
    port: int = typer.Option(DEFAULT_PORT, help="Port on 127.0.0.1 (0: any free port)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the URL."),
    corrections: Path | None = typer.Option(
        None, help="Corrections log. Default: RECORDS' .corrections.jsonl beside it."
    ),
    reviewer: str | None = typer.Option(None, help="Name recorded with each correction."),
    pdf: Path | None = typer.Option(
        None,
        "--pdf",
        help="The PDF an OCR JSON source (MinerU, Docling) was made from: its pages are shown "
        "beside the record. A PDF source shows its own pages.",
    ),
    lang: str = typer.Option(
        "zh", "--lang", help="The page's language: zh (Chinese, the default) or en (English)."
    ),
    vocab: VocabFiles = None,
) -> None:
    """Review records beside their source in the browser; every fix is saved to a corrections log.

    One queue for a whole corpus: every document's forms ranked by risk (errors, OCR repairs,
    rules-vs-LLM disagreements, warnings), each shown beside its own document. With pages (a PDF
    source, or OCR JSON plus --pdf) the form page also shows the page region, with the selected
    field's cell boxed. The records file is never changed. The server listens on 127.0.0.1 only
    and refuses requests without its token: the printed link signs a browser in once (the copy in
    the browser's history opens nothing), and each use prints a fresh one.
    """
    from ..review.gate import login_path
    from ..review.messages import check_lang
    from ..review.server import bind, make_server
    from ..review.session import ReviewSession

    language = check_lang(lang)
    session = ReviewSession(
        records,
        source,
        source_root=source_root,
        corrections_path=corrections,
        reviewer=reviewer or _user(),
        vocab=vocabulary(vocab),
        pdf=pdf,
        sample=sample,
        seed=seed,
    )
    token = secrets.token_urlsafe(24)
    try:
        sock = bind(port, fallback=port == DEFAULT_PORT)
    except OSError as exc:
        raise typer.BadParameter(f"cannot listen on 127.0.0.1:{port}: {exc}") from None
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    docs = len(session.documents)
    where = f" of {docs} documents" if docs > 1 else ""
    console.print(
        f"reviewing {len(session.base)} forms{where}; corrections go to {session.log.path}"
    )

    def offer(path: str) -> None:
        console.print(f"open: [bold]{base}{path}[/]   (works once; Ctrl+C to stop)", soft_wrap=True)

    first = login_path(token)
    offer(first)
    if not no_browser:
        import webbrowser

        webbrowser.open(base + first)
    server = make_server(session, token, lang=language, on_login=lambda path: offer(path))
    server.run(sockets=[sock])


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


@fixture_app.command("add")
def fixture_add(
    records: Path = typer.Argument(..., help="Reviewed records (JSONL)."),
    source: Path = typer.Option(..., "--source", "-s", help="The document the records came from."),
    name: str = typer.Option(..., "--name", "-n", help="Case name: letters, digits, - _ ."),
    corrections: Path | None = typer.Option(
        None, help="Corrections log. Default: RECORDS' .corrections.jsonl beside it."
    ),
    fixtures: Path = typer.Option(Path("fixtures"), help="Folder holding the eval cases."),
    force: bool = typer.Option(False, "--force", help="Replace an existing case of that name."),
) -> None:
    """Turn the reviewed forms (corrections applied) into fixtures/NAME/source.md + gold.jsonl."""
    from ..review.fixture import add_fixture

    result = add_fixture(
        records, source, name, corrections=corrections, fixtures=fixtures, force=force
    )
    console.print(str(result))
