"""Screenshots of the review app for the README: `python docs/screenshots/make.py`.

Extracts the seed fixture with one planted OCR slip (当年财政拨款 read as 100,000.00 in form 1),
marks form 2 reviewed, serves the app on 127.0.0.1 and photographs the form list and form 1 with
its finding selected (`f`), using Debian's /usr/bin/chromium through Playwright, and the same
form at 800 px, where the panes stack. Then the page view: a Docling JSON (the generated case)
with one planted OCR slip, reviewed with `--pdf`, its flagged amount selected and boxed on the
page image. The page is in Chinese (the default); a CJK font is needed (fonts-wqy-microhei).
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from structurer.io import write_records
from structurer.pipeline import extract_documents
from structurer.read import load_document
from structurer.review.gate import login_path
from structurer.review.server import running
from structurer.review.session import ReviewSession
from structurer.rules import RulesBackend

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SLIP = (
    "| | 其中：财政资金 | | 其中：当年财政拨款 | 0.00 | |",
    "| | 其中：财政资金 | | 其中：当年财政拨款 | 100,000.00 | |",
)


def demo_session(work: Path) -> ReviewSession:
    text = (ROOT / "fixtures/shanghai-2024/source.md").read_text(encoding="utf-8")
    if SLIP[0] not in text:
        sys.exit("the seed changed: update SLIP in make.py")
    source = work / "shanghai-2024.md"
    source.write_text(text.replace(SLIP[0], SLIP[1], 1), encoding="utf-8")
    records = work / "shanghai-2024.jsonl"
    write_records(records, extract_documents([load_document(source)], RulesBackend()).records)
    session = ReviewSession(records, source, reviewer="demo")
    session.mark_reviewed(2)
    return session


PAGE_CASE = ROOT / "fixtures/gen-docling-2025-docling"
PAGE_SLIP = ("1,850,000.00", "1,350,000.00")  # form 1's 当年财政拨款, as an OCR might misread it


def page_session(work: Path) -> ReviewSession:
    """The Docling JSON of the generated case with one amount misread, and its PDF's pages."""
    data = json.loads((PAGE_CASE / "source.json").read_text(encoding="utf-8"))
    cells = data["tables"][0]["data"]["table_cells"]
    hit = next(c for c in cells if c["text"] == PAGE_SLIP[0] and c["start_col_offset_idx"] == 4)
    hit["text"] = PAGE_SLIP[1]
    source = work / "docling.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    records = work / "docling.jsonl"
    write_records(records, extract_documents([load_document(source)], RulesBackend()).records)
    return ReviewSession(records, source, reviewer="demo", pdf=PAGE_CASE / "pages.pdf")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        session = demo_session(Path(tmp))
        token = secrets.token_urlsafe(16)
        with running(session, token) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
            page.goto(base + login_path(token))
            page.keyboard.press("j")
            page.screenshot(path=str(OUT / "review-list.png"))
            page.goto(f"{base}/form/1")
            page.keyboard.press("f")  # the first open finding, its field and its source cell
            page.wait_for_timeout(600)  # the smooth scroll to the highlighted cell
            page.screenshot(path=str(OUT / "review-form.png"))
            page.set_viewport_size({"width": 800, "height": 900})
            page.reload()
            page.keyboard.press("f")
            page.wait_for_timeout(600)
            page.screenshot(path=str(OUT / "review-narrow.png"))
            browser.close()
        with running(page_session(Path(tmp)), token) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 820}, device_scale_factor=1)
            page.goto(base + login_path(token))
            page.goto(f"{base}/form/1")
            page.wait_for_load_state("networkidle")  # the page image
            page.focus('[data-path="funding.current_appropriation"]')
            page.wait_for_timeout(800)  # the smooth scroll to the boxed cell
            page.screenshot(path=str(OUT / "review-page.png"))
            browser.close()
    names = "review-list.png, review-form.png, review-narrow.png and review-page.png"
    print(f"wrote {names} in {OUT}")


if __name__ == "__main__":
    main()
