"""The page beside the record: regions, boxes and page images served by the review app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from structurer.cli import app as cli
from structurer.errors import StructurerError
from structurer.io import write_records
from structurer.pipeline import extract_documents
from structurer.read import load_document
from structurer.review.app import create_app
from structurer.review.pages import form_pages
from structurer.review.session import ReviewSession
from structurer.rules import RulesBackend

ROOT = Path(__file__).resolve().parents[1]
PDF_CASE = ROOT / "fixtures" / "gen-district-2026-pdf"
DOCLING_CASE = ROOT / "fixtures" / "gen-docling-2025-docling"
TOKEN = "pages-test"


def records_for(source: Path, folder: Path) -> Path:
    out = folder / "records.jsonl"
    write_records(out, extract_documents([load_document(source)], RulesBackend()).records)
    return out


@pytest.fixture(scope="module")
def pdf_session(tmp_path_factory: pytest.TempPathFactory) -> ReviewSession:
    folder = tmp_path_factory.mktemp("pdf")
    source = PDF_CASE / "source.pdf"
    return ReviewSession(records_for(source, folder), source)


def client(session: ReviewSession) -> TestClient:
    c = TestClient(create_app(session, TOKEN))
    c.headers["X-Review-Token"] = TOKEN
    return c


def test_a_form_covers_the_regions_of_its_pages(pdf_session: ReviewSession) -> None:
    one = form_pages(pdf_session.document, pdf_session.state(1).chunk)
    assert [r.page for r in one.regions] == [1]
    x0, y0, x1, y1 = one.regions[0].box
    assert 0 <= x0 < 0.1 and 0.9 < x1 <= 1 and y0 < 0.1 < 0.5 < y1  # the form, not the page
    spread = [len(form_pages(pdf_session.document, s.chunk).regions) for s in pdf_session.states()]
    assert max(spread) == 2  # a long form split across two pages shows both


def test_form_page_shows_the_page_and_gives_each_cell_its_box(pdf_session: ReviewSession) -> None:
    html = client(pdf_session).get("/form/1").text
    assert '<section class="pages"' in html and 'src="/form/1/page/1"' in html
    record = pdf_session.state(1).record
    ref = record.source.cells["funding.annual_total"]
    td = re.search(rf'<td data-line="{ref.line}" data-col="{ref.col}"([^>]*)>', html)
    assert td and 'data-page="1"' in td.group(1)
    left, top, width, height = map(
        float, re.search(r'data-box="([^"]+)"', td.group(1))[1].split(",")
    )
    assert left >= 0 and top >= 0 and left + width <= 100 and top + height <= 100 and width > 5


def test_page_image_is_a_png_of_the_region_and_other_pages_are_refused(
    pdf_session: ReviewSession,
) -> None:
    c = client(pdf_session)
    reply = c.get("/form/1/page/1")
    assert reply.status_code == 200 and reply.headers["content-type"] == "image/png"
    assert reply.content.startswith(b"\x89PNG\r\n\x1a\n") and len(reply.content) > 5000
    for bad in ("/form/1/page/2", "/form/1/page/x", "/form/99/page/1", "/form/1/page/-1"):
        assert c.get(bad).status_code == 404, bad
    assert TestClient(create_app(pdf_session, TOKEN)).get("/form/1/page/1").status_code == 403


def test_ocr_json_shows_the_page_with_pdf(tmp_path: Path) -> None:
    source = DOCLING_CASE / "source.json"
    records = records_for(source, tmp_path)
    plain = client(ReviewSession(records, source)).get("/form/1").text
    assert '<section class="pages"' not in plain  # no --pdf: the grid alone
    session = ReviewSession(records, source, pdf=DOCLING_CASE / "pages.pdf")
    html = client(session).get("/form/1").text
    assert "pages.pdf" in html and "data-box=" in html
    assert client(session).get("/form/1/page/1").content.startswith(b"\x89PNG")


def test_markdown_source_has_no_page_view(tmp_path: Path, seed_source: Path) -> None:
    records = records_for(seed_source, tmp_path)
    html = client(ReviewSession(records, seed_source)).get("/form/1").text
    assert '<section class="pages"' not in html and "data-box" not in html
    with pytest.raises(StructurerError, match="states no pages"):
        ReviewSession(records, seed_source, pdf=PDF_CASE / "source.pdf")


def test_review_cli_refuses_pdf_for_a_source_without_pages(
    tmp_path: Path, seed_source: Path
) -> None:
    records = records_for(seed_source, tmp_path)
    args = ["review", str(records), "-s", str(seed_source), "--pdf", str(PDF_CASE / "source.pdf")]
    result = CliRunner().invoke(cli, [*args, "--no-browser", "--port", "0"])
    assert result.exit_code == 2 and "states no pages" in result.output


def test_reviewed_forms_of_a_pdf_become_a_text_eval_case(
    tmp_path: Path, pdf_session: ReviewSession
) -> None:
    from structurer.quality.evaluate import load_case, run_case
    from structurer.review.fixture import add_fixture

    source, records = PDF_CASE / "source.pdf", pdf_session.records_path
    log = tmp_path / "corrections.jsonl"
    ReviewSession(records, source, corrections_path=log).mark_reviewed(2)
    add_fixture(records, source, "from-pdf", corrections=log, fixtures=tmp_path / "fx")
    case = load_case(tmp_path / "fx" / "from-pdf")
    assert case.source_path.name == "source.md" and "<table>" in case.source_path.read_text()
    assert run_case(case, RulesBackend()).metrics()["field_accuracy"] == 1.0
