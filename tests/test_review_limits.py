"""The review server under hostile requests and pages (issue 21, items 7 and 17): a page image of
bounded size whatever the MediaBox, request bodies bounded in size and depth."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from conftest import planted_seed_records
from starlette.testclient import TestClient

from structurer.io import write_records
from structurer.pipeline import extract_documents
from structurer.read import load_document
from structurer.review.app import cookie_name, create_app
from structurer.review.corrections import read_corrections
from structurer.review.gate import MAX_BODY, MAX_DEPTH, nesting
from structurer.review.pages import (
    WIDTH_PX,
    PageError,
    PageRegion,
    PageRenderer,
    render_scale,
)
from structurer.review.server import running
from structurer.review.session import ReviewSession
from structurer.rules import RulesBackend

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "shanghai-2024" / "source.md"
DOCLING_CASE = ROOT / "fixtures" / "gen-docling-2025-docling"
TOKEN = "t0ken-limits"


@pytest.fixture
def session(tmp_path: Path) -> ReviewSession:
    return ReviewSession(planted_seed_records(tmp_path), SEED, reviewer="t")


def client(session: ReviewSession) -> TestClient:
    c = TestClient(create_app(session, TOKEN), base_url="http://127.0.0.1:8765")
    c.cookies.set(cookie_name(TOKEN), TOKEN)
    return c


# --- request bodies ---


@pytest.mark.parametrize(("depth", "status"), [(100_000, 413), (10_000, 400), (MAX_DEPTH, 400)])
def test_a_deeply_nested_body_is_refused_not_a_server_error(session, depth, status) -> None:
    """100,000 levels (200 KB) answered 500 (RecursionError): now over the size bound; 10,000
    (20 KB) is within it, and refused for its depth before any parser sees it."""
    deep = "[" * depth + "]" * depth
    body = '{"path": "project_name", "new": ' + deep + "}"
    r = client(session).post(
        "/form/1/edit", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == status
    assert ("nested" if status == 400 else "over") in r.json()["error"]
    assert read_corrections(session.log.path) == []


def test_a_body_nested_within_the_bound_is_read() -> None:
    assert nesting(b'{"a": [1, {"b": "[[[[[[[[[[[[ in a string"}]}') == 3
    assert nesting(b'"\\"[[[["') == 0
    assert nesting(("[" * (MAX_DEPTH + 1)).encode()) == MAX_DEPTH + 1


def test_a_body_over_the_bound_is_refused_unread(session) -> None:
    big = '{"path": "annual_goal", "new": "' + "目" * MAX_BODY + '"}'
    r = client(session).post(
        "/form/1/edit", content=big.encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert read_corrections(session.log.path) == []


def _raw_post(port: int, headers: dict[str, str], sent: int) -> tuple[int, int]:
    """POST /form/1/edit declaring or streaming 300 MB; send at most `sent` bytes of it. Returns
    the status and how many bytes went out before the server answered."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    conn.sendall(f"POST /form/1/edit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}\r\n".encode())
    out, chunk = 0, b"x" * 65536
    conn.settimeout(0.05)
    reply = b""
    while out < sent and not reply:
        piece = chunk if "Content-Length" in headers else b"10000\r\n" + chunk + b"\r\n"
        try:
            conn.sendall(piece)
            out += len(chunk)
            reply = conn.recv(200)
        except (TimeoutError, BlockingIOError):
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    conn.settimeout(10)
    reply = reply or conn.recv(200)
    conn.close()
    return int(reply.split(b" ")[1]), out


@pytest.mark.parametrize(
    "framing", [{"Content-Length": str(300 * 2**20)}, {"Transfer-Encoding": "chunked"}]
)
def test_a_300_mb_post_is_refused_before_it_is_read(session, framing) -> None:
    with running(session, TOKEN) as base:
        port = int(base.rsplit(":", 1)[1])
        headers = {"X-Review-Token": TOKEN, "Content-Type": "application/json", **framing}
        status, sent = _raw_post(port, headers, 8 * 2**20)
    assert status == 413
    assert sent < 8 * 2**20  # answered long before the body ended: never read whole
    assert read_corrections(session.log.path) == []


def test_an_unsigned_300_mb_post_is_refused_at_the_door(session) -> None:
    with running(session, TOKEN) as base:
        port = int(base.rsplit(":", 1)[1])
        status, sent = _raw_post(port, {"Content-Length": str(300 * 2**20)}, 8 * 2**20)
    assert status == 403 and sent < 8 * 2**20


# --- page images ---


@pytest.fixture
def tall_pdf(tmp_path: Path) -> Path:
    """A 1.5 KB PDF whose one page has MediaBox 595 x 2,000,000 points."""
    pdfium = pytest.importorskip("pypdfium2")
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 2e6)
    path = tmp_path / "tall.pdf"
    pdf.save(str(path))
    return path


def _size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(png)).size


def test_a_region_of_any_page_renders_within_the_bounds(tall_pdf) -> None:
    band = PageRegion(1, (0.0, 0.5, 1.0, 0.5005))  # 595 x 1,000 points of the tall page
    width, height = _size(PageRenderer(tall_pdf).png(band))
    assert width == WIDTH_PX and abs(height - 1000 * WIDTH_PX / 595) <= 2
    for box in ((0.0, 0.0, 1.0, 1.0), (0.0, 0.1, 1.0, 0.9), (0.4, 0.0, 0.6, 1.0)):
        with pytest.raises(PageError, match="too thin"):  # 2 million points tall: no image
            PageRenderer(tall_pdf).png(PageRegion(1, box))
    assert render_scale(595, 842) == WIDTH_PX / 595  # an A4 page: 1100 px wide
    with pytest.raises(PageError):
        render_scale(595, 2e6)


def test_the_review_of_a_tall_pdf_answers_at_once_without_the_memory(tmp_path, tall_pdf) -> None:
    """`review dl.jsonl --pdf tall.pdf`: GET /form/1/page/1 took the server to 9 GB and
    answered 500; now the form's region of that page is refused (it would be a sliver)."""
    source = DOCLING_CASE / "source.json"
    records = tmp_path / "dl.jsonl"
    write_records(records, extract_documents([load_document(source)], RulesBackend()).records)
    session = ReviewSession(records, source, pdf=tall_pdf)
    r = client(session).get("/form/1/page/1")
    assert r.status_code == 422 and "too thin" in r.text
    assert client(session).get("/form/1").status_code == 200  # the rest of the page works


def test_a_page_pdfium_cannot_render_is_a_422_not_a_server_error(tmp_path, monkeypatch) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    source = DOCLING_CASE / "source.json"
    records = tmp_path / "dl.jsonl"
    write_records(records, extract_documents([load_document(source)], RulesBackend()).records)
    session = ReviewSession(records, source, pdf=DOCLING_CASE / "pages.pdf")

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise pdfium.PdfiumError("Failed to render")

    monkeypatch.setattr(pdfium.PdfPage, "render", broken)
    r = client(session).get("/form/1/page/1")
    assert r.status_code == 422 and "render" in r.text
