"""The review page fits the screens reviewers use (issue 20, item 4): at 1440, 1280, 1024 and
800 px, with and without the PDF page pane, element boxes are measured in headless Chromium: no
element overlaps another, no input or source cell shows fewer than six characters, the heads and
column headers stay in view when the panes scroll, the panes sit side by side from 1000 px and
stack below, and nothing is wider than the window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_review_browser import (  # noqa: F401  (browser: a fixture)
    CHROMIUM,
    DOCLING_CASE,
    browser,
    misread_docling,
    misread_seed,
)

from structurer.review.gate import login_path
from structurer.review.server import running
from structurer.review.session import ReviewSession

WIDTHS = (1440, 1280, 1024, 800)
HEIGHT = 860
TOKEN = "layout-test"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

# What the page looks like, measured in the browser: a list of problems (empty: it fits).
MEASURE = """() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
    (el.dataset.path ? `[${el.dataset.path}]` : "") + " '" + (el.innerText || el.value || "").slice(0, 12) + "'";
  const overlap = (a, b) => {
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return w > 1.5 && h > 1.5;
  };
  // what of an element is on screen: each of its line boxes, clipped by the panes it scrolls in
  const stuck = document.querySelector(".ind-head");
  const shown = (el) => {
    let clip = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
    if (stuck && el.closest(".ind:not(.ind-head)"))  // rows scroll on under the column headers
      clip.top = stuck.getBoundingClientRect().bottom;
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (getComputedStyle(up).overflow === "visible") continue;
      const r = up.getBoundingClientRect();
      clip = { left: Math.max(clip.left, r.left), top: Math.max(clip.top, r.top),
               right: Math.min(clip.right, r.right), bottom: Math.min(clip.bottom, r.bottom) };
    }
    return [...el.getClientRects()].map((r) => ({
      left: Math.max(r.left, clip.left), top: Math.max(r.top, clip.top),
      right: Math.min(r.right, clip.right), bottom: Math.min(r.bottom, clip.bottom) }))
      .filter((r) => r.right > r.left && r.bottom > r.top);
  };
  const overlaps = (a, b) => a.some((x) => b.some((y) => overlap(x, y)));
  // 1. the regions of the page do not overlap: the top bar and each pane
  const regions = [document.querySelector("header.top"),
                   ...document.querySelectorAll("main.split > section, main.list")].filter(visible);
  for (let i = 0; i < regions.length; i++)
    for (let j = i + 1; j < regions.length; j++)
      if (overlap(regions[i].getBoundingClientRect(), regions[j].getBoundingClientRect()))
        problems.push(`overlap: ${name(regions[i])} / ${name(regions[j])}`);
  // 2. inside each region, no two elements overlap (a region clips what it scrolls)
  const leaves = "input, textarea, button, label, .badge, h2, h3, .nav a, .finding .msg, " +
    ".mark, .live, .colhead, .ind-head > span, .c-n, .derived, table.grid td, table.grid th, " +
    "table.forms th, table.forms td, .tally, .estimate, header.top > *, img";
  for (const region of regions) {
    const els = [...region.querySelectorAll(leaves)].filter(visible);
    const boxes = els.map(shown);
    for (let i = 0; i < els.length; i++)
      for (let j = i + 1; j < els.length; j++) {
        if (els[i].contains(els[j]) || els[j].contains(els[i])) continue;
        if (overlaps(boxes[i], boxes[j])) problems.push(`overlap: ${name(els[i])} / ${name(els[j])}`);
      }
  }
  // the selected finding and its field are on screen, under no header
  const current = document.querySelector(".finding.current");
  for (const el of current ? [current, current.parentElement.querySelector("[data-path]")] : []) {
    const r = el && el.getBoundingClientRect();
    const seen = el && shown(el)[0];
    if (!seen || Math.abs(seen.top - r.top) > 1 || Math.abs(seen.bottom - r.bottom) > 1)
      problems.push(`hidden: the selected ${name(el)}`);
  }
  // 3. every input shows six characters, every source cell with text six characters
  const chars = (el) => {
    const s = getComputedStyle(el);
    const inner = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    return inner / parseFloat(s.fontSize);
  };
  for (const el of document.querySelectorAll("input, textarea, table.grid td.text, table.forms td.project"))
    if (visible(el) && chars(el) < 5.95) problems.push(`narrow: ${name(el)} shows ${chars(el).toFixed(1)} characters`);
  // 4. nothing is wider than the window
  if (document.documentElement.scrollWidth > innerWidth + 1)
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide in ${innerWidth}`);
  return problems;
}"""

# Scroll every pane to its end: its head and column headers stay in view.
HEADS_IN_VIEW = """() => {
  const problems = [];
  const inside = (el, box) => {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  };
  const top = document.querySelector("header.top").getBoundingClientRect();
  for (const scroller of document.querySelectorAll(".scroller, main.list")) {
    scroller.scrollTop = scroller.scrollHeight;
  }
  if (top.top !== 0) problems.push("the top bar moved");
  for (const section of document.querySelectorAll("main.split > section")) {
    const head = section.querySelector(".pane-head");
    if (head && !inside(head, section.getBoundingClientRect()))
      problems.push(`${section.className}: its head scrolled away`);
  }
  const body = document.querySelector(".record-body");
  const rows = document.querySelectorAll(".ind:not(.ind-head)");
  if (body && rows.length) {
    rows[rows.length - 1].scrollIntoView({ block: "end" });  // the last indicator in view
    const head = document.querySelector(".ind-head").getBoundingClientRect();
    const view = body.getBoundingClientRect();
    if (!inside(document.querySelector(".ind-head"), view))
      problems.push(`indicator headers at ${head.top}, out of the pane (${view.top}-${view.bottom})`);
    const first = rows[0].getBoundingClientRect();
    if (first.top < view.top && Math.abs(head.top - view.top) > 2)
      problems.push("the indicator headers did not stay at the top of the pane");
    const last = rows[rows.length - 1].getBoundingClientRect();
    if (last.top < head.bottom - 1 && last.bottom > head.top) problems.push("the headers cover the last row");
  }
  const list = document.querySelector("main.list");
  if (list) {
    const th = document.querySelector("table.forms th");
    if (!inside(th, list.getBoundingClientRect())) problems.push("the list's headers scrolled away");
  }
  return problems;
}"""

PANES = """() => Object.fromEntries([...document.querySelectorAll("main.split > section")].map(
  (s) => [s.className.split(" ")[0], s.getBoundingClientRect().toJSON()]))"""


def _check(page, width: int, what: str) -> dict:
    problems = page.evaluate(MEASURE)
    assert problems == [], f"{what} at {width} px: {json.dumps(problems, ensure_ascii=False)}"
    panes = page.evaluate(PANES)
    problems = page.evaluate(HEADS_IN_VIEW)
    assert problems == [], f"{what} at {width} px: {json.dumps(problems, ensure_ascii=False)}"
    return panes


def _side_by_side(panes: dict, width: int) -> None:
    source, record = panes["source"], panes["record"]
    if width >= 1000:  # beside each other
        assert (
            source["right"] <= record["left"] + 1 and abs(source["bottom"] - record["bottom"]) < 2
        )
        if "pages" in panes:  # the page above the source, both left of the record
            assert panes["pages"]["bottom"] <= source["top"] + 1
            assert panes["pages"]["right"] <= record["left"] + 1
    else:  # stacked: the record below the source (and the page)
        assert source["bottom"] <= record["top"] + 1
        assert record["width"] >= width - 2
        if "pages" in panes:
            assert panes["pages"]["bottom"] <= record["top"] + 1


@pytest.fixture(scope="module")
def seed_session(tmp_path_factory: pytest.TempPathFactory) -> ReviewSession:
    return ReviewSession(misread_seed(tmp_path_factory.mktemp("seed")), reviewer="layout")


@pytest.fixture(scope="module")
def paged_session(tmp_path_factory: pytest.TempPathFactory) -> ReviewSession:
    source, records = misread_docling(tmp_path_factory.mktemp("paged"))
    return ReviewSession(records, source, reviewer="layout", pdf=DOCLING_CASE / "pages.pdf")


def _open(browser, base: str, width: int):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": HEIGHT})
    page.set_default_timeout(10_000)
    page.failed = []  # every resource the pages ask for is there (a favicon answered 404)
    page.on("response", lambda r: r.status >= 400 and page.failed.append(f"{r.status} {r.url}"))
    page.goto(base + login_path(TOKEN))
    return page


# the funding block's rows as the form prints them: each project field beside its year field
FUNDING_ROWS = """() => [["project_total", "annual_total"], ["project_fiscal", "current_appropriation"],
  ["project_other", "annual_other"]].map(([a, b]) => [a, b].map(
    (f) => document.getElementById("f-funding." + f).getBoundingClientRect().top))
  .filter(([a, b]) => Math.abs(a - b) > 1)"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_list_and_the_forms_fit(seed_session, browser, width) -> None:  # noqa: F811
    with running(seed_session, TOKEN) as base:
        page = _open(browser, base, width)
        _check(page, width, "the list")
        # form 1: an identity error across the funding block; form 11: a missing target, and
        # the form's indicator table scrolls; form 3: a long one
        for number in (1, 11, 3):
            page.goto(f"{base}/form/{number}")
            page.keyboard.press("f")  # a finding selected: its field and source cell lit
            assert page.evaluate(FUNDING_ROWS) == []
            panes = _check(page, width, f"form {number}")
            _side_by_side(panes, width)
        assert page.failed == []


@pytest.mark.parametrize("width", WIDTHS)
def test_the_form_with_its_page_fits(paged_session, browser, width) -> None:  # noqa: F811
    with running(paged_session, TOKEN) as base:
        page = _open(browser, base, width)
        page.goto(f"{base}/form/1")
        image = page.locator("section.pages img").first
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        page.locator('[data-path="funding.current_appropriation"]').focus()
        page.wait_for_timeout(300)  # the smooth scroll to the boxed cell
        panes = _check(page, width, "the paged form")
        _side_by_side(panes, width)
        assert {"pages", "source", "record"} <= set(panes)
        assert page.failed == []
        # the source pane is wide enough to read: at least two cells of six characters
        assert panes["source"]["width"] >= 2 * 6 * 14 + 60
