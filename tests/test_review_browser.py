"""End to end in a real headless Chromium: list -> flagged form -> fix an amount -> reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import planted_seed_records

from structurer.review.corrections import read_corrections
from structurer.review.server import running
from structurer.review.session import ReviewSession

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "shanghai-2024"
TOKEN = "browser-test-token"
PLANTED = "5800000.00"  # form 1's 年度资金申请总额 is 5900000.00 = 0 + 0 + 5900000.00
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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium at /usr/bin/chromium",
    ),
]


def planted_records(folder: Path) -> Path:
    return planted_seed_records(folder, PLANTED)


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_reviewer_fixes_a_flagged_amount_and_the_fix_survives_reload(tmp_path, browser) -> None:
    records = planted_records(tmp_path)
    before = records.read_bytes()
    session = ReviewSession(records, SEED / "source.md", reviewer="e2e")
    with running(session, TOKEN) as base:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        assert page.goto(f"{base}/").status == 403  # no token, no page
        page.goto(f"{base}/?token={TOKEN}")
        assert "token" not in page.url  # the cookie carries it from here on
        first = page.locator("tr.row").first
        assert "errors" in first.inner_text() and "孵化基地运营" in first.inner_text()

        page.keyboard.press("n")  # first flagged form
        page.wait_for_url(f"{base}/form/1")
        field = page.locator('[data-path="funding.annual_total"]')
        finding = page.locator('#record-pane .finding[data-code="funding.annual_identity"]')
        assert finding.count() == 1
        field.click()
        assert page.locator("td.hl").count() == 0  # 5800000 is in no source cell
        page.locator('[data-path="project_name"]').focus()
        hl = page.locator("td.hl")
        assert hl.inner_text() == "孵化基地运营及创业孵化服务支出"  # its source cell lights up

        field.fill("5,900,000.00")
        field.press("Enter")  # leaving the field saves it
        finding.wait_for(state="detached")
        assert page.locator("#status").inner_text() != "errors"

        page.reload()
        assert page.locator('[data-path="funding.annual_total"]').input_value() == "5900000.00"
        assert page.locator('[data-code="funding.annual_identity"]').count() == 0

        page.keyboard.press("r")  # mark reviewed
        page.locator("#status", has_text="reviewed").wait_for()
        page.keyboard.press("u")
        page.wait_for_url(f"{base}/")
        last = page.locator("tr.row").last
        assert "reviewed" in last.inner_text() and "孵化基地运营" in last.inner_text()

    assert records.read_bytes() == before
    log = read_corrections(session.log.path)
    assert [(c.op, c.path, c.old, c.new) for c in log] == [
        ("set", "funding.annual_total", PLANTED, "5900000.00"),
        ("review", "", None, True),
    ]
    assert {c.reviewer for c in log} == {"e2e"}
