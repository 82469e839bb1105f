"""End to end in a real headless Chromium: list -> flagged form -> fix an amount -> reload."""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import planted_seed_records

from structurer.review.corrections import read_corrections
from structurer.review.gate import login_path
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
        link = base + login_path(TOKEN)
        page.goto(link)
        assert page.url == f"{base}/"  # the cookie carries it from here on
        first = page.locator("tr.row").first
        assert "st-errors" in first.get_attribute("class") and "孵化基地运营" in first.inner_text()
        assert "有错误" in first.inner_text()  # Chinese by default

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
        assert page.locator("#status").get_attribute("data-status") != "errors"

        page.reload()
        assert page.locator('[data-path="funding.annual_total"]').input_value() == "5900000.00"
        assert page.locator('[data-code="funding.annual_identity"]').count() == 0

        page.keyboard.press("r")  # mark reviewed
        page.locator('#status[data-status="reviewed"]').wait_for()
        page.keyboard.press("u")
        page.wait_for_url(f"{base}/")
        last = page.locator("tr.row").last
        assert "st-reviewed" in last.get_attribute("class") and "孵化基地运营" in last.inner_text()
        other = browser.new_page()  # the link in the browser's history signs nobody in
        assert other.goto(link).status == 403

    assert records.read_bytes() == before
    log = read_corrections(session.log.path)
    assert [(c.op, c.path, c.old, c.new) for c in log] == [
        ("set", "funding.annual_total", PLANTED, "5900000.00"),
        ("review", "", None, True),
    ]
    assert {c.reviewer for c in log} == {"e2e"}


DOCLING_CASE = ROOT / "fixtures" / "gen-docling-2025-docling"


def misread_docling(folder: Path) -> tuple[Path, Path]:
    """The generated Docling JSON with form 1's 当年财政拨款 misread (1,850,000 -> 1,350,000),
    and its records: the annual identity breaks; only the page shows which cell is wrong."""
    import json

    from structurer.io import write_records
    from structurer.pipeline import extract_documents
    from structurer.read import load_document
    from structurer.rules import RulesBackend

    data = json.loads((DOCLING_CASE / "source.json").read_text(encoding="utf-8"))
    cells = data["tables"][0]["data"]["table_cells"]
    cell = next(c for c in cells if c["text"] == "1,850,000.00")
    cell["text"] = "1,350,000.00"
    source = folder / "docling.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    records = folder / "docling.jsonl"
    write_records(records, extract_documents([load_document(source)], RulesBackend()).records)
    return source, records


def test_the_page_beside_the_grid_boxes_the_selected_fields_cell(tmp_path, browser) -> None:
    source, records = misread_docling(tmp_path)
    session = ReviewSession(records, source, reviewer="e2e", pdf=DOCLING_CASE / "pages.pdf")
    with running(session, TOKEN) as base:
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        page.set_default_timeout(10_000)
        page.goto(base + login_path(TOKEN))
        page.goto(f"{base}/form/1")
        image = page.locator('section.pages figure[data-page="1"] img')
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        assert page.locator('[data-code="funding.annual_identity"]').count() >= 1
        assert page.locator(".cellbox").count() == 0

        page.locator('[data-path="funding.current_appropriation"]').focus()
        box = page.locator('figure[data-page="1"] .sheet .cellbox')
        box.wait_for()
        td = page.locator("section.source td.hl")
        assert td.inner_text() == "1,350,000.00"  # what the OCR read ...
        left, top, width, height = map(float, td.get_attribute("data-box").split(","))
        # both rectangles in one call: the page may still be scrolling the cell into view
        img, drawn = page.evaluate(
            """([img, box]) => [img, box].map(e => {
                const r = e.getBoundingClientRect();
                return {x: r.x, y: r.y, width: r.width, height: r.height};
            })""",
            [image.element_handle(), box.element_handle()],
        )
        # ... boxed where that cell is printed on the page image
        assert abs(drawn["x"] - (img["x"] + img["width"] * left / 100)) < 4
        assert abs(drawn["y"] - (img["y"] + img["height"] * top / 100)) < 4
        assert abs(drawn["width"] - img["width"] * width / 100) < 6
        assert abs(drawn["height"] - img["height"] * height / 100) < 6
        assert img["x"] <= drawn["x"] and drawn["x"] + drawn["width"] <= img["x"] + img["width"] + 2

        page.locator('[data-path="project_name"]').focus()  # another field: the box moves
        page.wait_for_timeout(100)
        assert page.locator(".cellbox").count() == 1
        moved = page.locator(".cellbox").bounding_box()
        assert moved["y"] < drawn["y"] - 20  # the project name is printed above the amounts


def corpus_records(tmp_path: Path) -> Path:
    """Three documents in two folders extracted as one corpus; the second document's form 2 gets
    a planted fault (its 年度资金申请总额 off by 1,000), so it heads the queue."""
    from typer.testing import CliRunner

    from structurer.cli import app

    for folder, case in (("2024", "shanghai-2024"), ("2025", "synthetic-district-2026"),
                         ("2025/other", "synthetic-paddle-2025")):  # fmt: skip
        (tmp_path / "corpus" / folder).mkdir(parents=True, exist_ok=True)
        data = (ROOT / "fixtures" / case / "source.md").read_bytes()
        (tmp_path / "corpus" / folder / "预算.md").write_bytes(data)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "corpus"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    records = [json.loads(x) for x in lines]
    target = next(
        r for r in records if r["source"]["document"] == "2025/预算.md" and r["form_index"] == 2
    )
    amount = Decimal(target["funding"]["annual_total"]) + 1000
    target["funding"]["annual_total"] = f"{amount:.2f}"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return out


def test_one_queue_over_a_three_document_corpus(tmp_path, browser) -> None:
    records = corpus_records(tmp_path)
    session = ReviewSession(records, reviewer="e2e", sample=2, seed=7)  # sources from the records
    assert len(session.documents) == 3 and len(session.sample) == 2
    with running(session, TOKEN) as base:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.goto(base + login_path(TOKEN))
        rows = page.locator("tr.row")
        assert rows.count() == len(session.base) == 13 + 4 + 4
        head = rows.first.inner_text()
        assert "2025/预算.md" in head and "st-errors" in rows.first.get_attribute("class")
        assert "3 个文档" in page.locator(".summary").inner_text()
        assert {rows.nth(i).locator("td.docname").inner_text() for i in range(rows.count())} == {
            "2024/预算.md", "2025/预算.md", "2025/other/预算.md"
        }  # fmt: skip
        estimate = page.locator("#estimate")
        assert "2 张无问题表中已审核 0 张" in estimate.inner_text()

        page.keyboard.press("n")  # the first form of the queue, beside its own document
        page.wait_for_url(re.compile(r"/form/\d+$"))
        assert page.locator("header .doc").inner_text().startswith("2025/预算.md")
        finding = page.locator('#record-pane .finding[data-code="funding.annual_identity"]')
        assert finding.count() == 1
        name = page.locator('[data-path="project_name"]')
        name.focus()
        assert page.locator("td.hl").inner_text() == name.input_value()  # its own source cell

        # the sampled clean forms come after the flagged ones: review both, one needing a fix
        sampled = sorted(session.sample)
        page.goto(f"{base}/form/{sampled[0]}")
        goal = page.locator('[data-path="annual_goal"]')
        goal.fill(goal.input_value() + "。")
        goal.press("Escape")  # leaving the field saves it
        page.wait_for_function(
            "() => !document.activeElement || document.activeElement.tagName === 'BODY'"
        )
        _wait_for_lines(session.log.path, 1)
        page.keyboard.press("r")
        page.locator('#status[data-status="reviewed"]').wait_for()
        page.goto(f"{base}/form/{sampled[1]}")
        page.keyboard.press("r")
        page.locator('#status[data-status="reviewed"]').wait_for()
        page.goto(f"{base}/")
        text = page.locator("#estimate").inner_text()
        assert "已审核 2 张，1 张需要更正" in text
        assert "50%" in text
    log = read_corrections(session.log.path)
    assert {c.form.document for c in log} <= {s.record.source.document for s in session.states()}
    first = session.state(sampled[0]).record
    assert next(c.form.document for c in log) == first.source.document


def _wait_for_lines(path: Path, n: int) -> None:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text(encoding="utf-8").splitlines()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not get {n} lines")


# --- issue 20: keyboard first, live checks, accepting ---

PRINTED = "| 年度资金申请总额 | 5,900,000.00 |"
MISREAD = "| 年度资金申请总额 | 5,800,000.00 |"


def misread_seed(folder: Path) -> Path:
    """The seed with form 1's 年度资金申请总额 misread in the source (5,800,000), extracted."""
    from typer.testing import CliRunner

    from structurer.cli import app

    source = folder / "seed.md"
    text = (SEED / "source.md").read_text(encoding="utf-8")
    source.write_text(text.replace(PRINTED, MISREAD, 1), encoding="utf-8")
    out = folder / "out.jsonl"
    assert CliRunner().invoke(app, ["extract", str(source), "-o", str(out)]).exit_code == 0
    return out


def test_the_keyboard_alone_fixes_one_form_and_accepts_anothers_finding(tmp_path, browser):
    records = misread_seed(tmp_path)
    session = ReviewSession(records, reviewer="keys")
    with running(session, TOKEN) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(10_000)
        page.goto(base + login_path(TOKEN))
        page.keyboard.press("n")  # the first form to review: form 1, its sum is off
        page.wait_for_url(f"{base}/form/1")
        page.keyboard.press("?")  # the help lists the keys
        assert page.locator("dialog#help").is_visible()
        assert "接受选中的问题" in page.locator("dialog#help").inner_text()
        page.keyboard.press("f")  # no key acts behind the help
        page.keyboard.press("Escape")
        assert not page.locator("dialog#help").is_visible()
        assert page.locator(".finding.current").count() == 0
        page.keyboard.press("f")  # its finding is selected ...
        current = page.locator(".finding.current")
        assert current.get_attribute("data-code") == "funding.annual_identity"
        assert page.locator("td.hl").inner_text() == "5,800,000.00"  # ... with its source cell
        page.keyboard.press("Enter")  # edit its field
        field = page.locator('[data-path="funding.annual_total"]')
        assert page.evaluate("document.activeElement.dataset.path") == "funding.annual_total"
        page.keyboard.type("5,900,000.00")
        page.locator(".live").wait_for()  # the checks answer before saving
        assert "✓" in page.locator(".live").inner_text()
        page.keyboard.press("Enter")  # save
        page.locator('#status[data-status="clean"]').wait_for()
        assert field.input_value() == "5900000.00"
        assert page.locator('[data-code="review.corrected"]').count() == 1
        page.keyboard.press("r")
        page.locator('#status[data-status="reviewed"]').wait_for()

        page.keyboard.press("j")  # the next form to review: a target the source leaves blank
        page.wait_for_url(re.compile(r"/form/11$"))
        page.keyboard.press("f")
        assert page.locator(".finding.current").get_attribute("data-code") == (
            "indicator.missing_target"
        )
        page.keyboard.press("a")  # accept it, with a reason
        reason = page.locator(".finding.current form.reason input")
        assert page.evaluate("document.activeElement.placeholder") == reason.get_attribute(
            "placeholder"
        )
        page.keyboard.type("原表未填")  # typed over the suggested reason
        page.keyboard.press("Enter")
        page.locator('#status[data-status="clean"]').wait_for()
        assert page.locator(".finding.accepted").count() == 1
        assert "原表未填" in page.locator(".finding.accepted").inner_text()

    log = read_corrections(session.log.path)
    assert [(c.op, c.path) for c in log] == [
        ("set", "funding.annual_total"), ("review", ""),
        ("accept", "indicators[14].target"),
    ]  # fmt: skip
    assert log[2].new == "原表未填" and log[2].old["code"] == "indicator.missing_target"


def test_the_checks_answer_as_the_reviewer_types(tmp_path, browser) -> None:
    records = misread_seed(tmp_path)
    session = ReviewSession(records, reviewer="live")
    with running(session, TOKEN) as base:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.goto(base + login_path(TOKEN))
        page.goto(f"{base}/form/1")
        other = page.locator('[data-path="funding.annual_other"]')
        other.fill("5,800,000.00")  # the parts now sum to the printed total
        live = page.locator('.field:has([data-path="funding.annual_other"]) .live')
        live.wait_for()
        assert "✓" in live.inner_text() and "bad" not in live.get_attribute("class")
        other.fill("5,000,000.00")
        page.wait_for_function("el => el.textContent.includes('不等于')", arg=live.element_handle())
        other.fill("五百万")
        page.wait_for_function(
            "el => el.textContent.includes('not an amount')", arg=live.element_handle()
        )
        assert read_corrections(session.log.path) == []  # nothing saved while typing
