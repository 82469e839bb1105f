"""Keyboard-only review of the planted-fault seed: keystrokes and seconds per form.

    .venv/bin/python benchmarks/bench_review_keys.py [--rounds 3]

The seed's 13 gold forms, each with one fault from eval/planted_faults.py (a changed amount, a
swapped level, an invented target, shifted dates ...; one per form, all fixable by typing a
value), are reviewed in headless Chromium (Debian's /usr/bin/chromium) with the keyboard alone,
as a reviewer who knows the true value (the gold) would: from the list, `n` opens the first form
to review; `f` selects the next open finding; when the selected finding's field holds a wrong
value, Enter edits it, the true value is typed and Enter saves; when no open finding is on a
wrong field, `a` accepts the selected one (Enter takes the suggested reason: the seed's form 11
genuinely leaves a target blank); with no open finding left, `r` marks the form reviewed and `j`
goes to the next. Keys are the command keys pressed; typed characters are counted apart.

Floor, in the same run: the same loop over the clean gold (nothing to fix: `j`, `r` per form),
so the ratio says what the findings cost beyond moving through forms. Results (with the machine)
in results/review_keys.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "eval"))
import planted_faults as pf  # noqa: E402
from machine import describe  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from structurer.io import write_records  # noqa: E402
from structurer.models import FormRecord  # noqa: E402
from structurer.review.fields import get_value  # noqa: E402
from structurer.review.gate import login_path  # noqa: E402
from structurer.review.server import running  # noqa: E402
from structurer.review.session import ReviewSession  # noqa: E402

SEED = ROOT / "fixtures" / "shanghai-2024"
RESULTS = Path(__file__).resolve().parent / "results"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TOKEN = "bench-review-keys"
# one fault per form, in this order; a fault that does not apply to a form is skipped for it
FAULTS = (
    "changed annual total", "swapped level 2", "invented target", "deleted target",
    "invented implementing unit", "dates shifted a year", "= percent above 100",
    "invalid date", "unknown level", "swapped total/appropriation", "invented indicator name",
    "missing indicator name", "changed appropriation", "invented department", "wrong level 1",
)  # fmt: skip
MAX_STEPS = 60  # per form: a loop that does not converge is reported, not run for ever


def planted(folder: Path) -> tuple[Path, list[FormRecord], dict[int, str]]:
    """The seed's gold as records with one planted fault per form; the gold; the fault names."""
    gold = pf.load_fixture(SEED)[1]  # type: ignore[index]
    by_name = {f.name: f for f in (*pf.FAULTS, *pf.MISLABELLINGS)}
    records, names, queue = [], {}, list(FAULTS)
    for record in gold:
        copy = record.model_copy(deep=True)
        for name in list(queue):
            trial = record.model_copy(deep=True)
            if by_name[name].plant(trial) is not None:
                copy, names[record.form_index] = trial, name
                queue.remove(name)
                break
        records.append(copy)
    path = folder / "planted.jsonl"
    write_records(path, records)
    return path, gold, names


class Reviewer:
    """Drives the page with the keyboard and counts what it pressed."""

    def __init__(self, page: Page, gold: list[FormRecord]) -> None:
        self.page = page
        self.gold = {r.form_index: r for r in gold}
        self.keys = 0
        self.typed = 0

    def press(self, key: str) -> None:
        self.keys += 1
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.typed += len(text)
        self.page.keyboard.type(text)

    def act(self, *keys: str, text: str = "") -> None:
        """Press `keys` (typing `text` before the last one) and wait for the re-checked pane."""
        self.page.evaluate("document.querySelector('#record-pane .pane-head').dataset.old = 1")
        for key in keys[:-1]:
            self.press(key)
        if text:
            self.type(text)
        self.press(keys[-1])
        self.page.wait_for_function(
            "() => !document.querySelector('#record-pane .pane-head').dataset.old"
        )

    def form(self) -> dict[str, Any]:
        return self.page.evaluate(
            """() => ({
              index: +document.querySelector("h2 .n").textContent.slice(1),
              open: document.querySelectorAll(".finding[data-open]").length,
            })"""
        )

    def clear(self) -> str:
        """Clear every open finding of the form on screen; returns how it went."""
        index, fixes, accepts = self.form()["index"], 0, 0
        for _ in range(MAX_STEPS):
            open_now = self.form()["open"]
            if not open_now:
                return f"{fixes} fixed, {accepts} accepted"
            wrong = self._select_fixable(open_now, index)
            if wrong is None:  # no open finding is about a wrong value: the source is so
                self.act("a", "Enter")
                accepts += 1
            else:
                path, truth = wrong
                self.press("Enter")  # edit the finding's own field ...
                self._tab_to(path)  # ... or tab to the one of its fields that is wrong
                self.act("Enter", text=truth)
                fixes += 1
        return "did not converge"

    def _select_fixable(self, count: int, index: int) -> tuple[str, str] | None:
        """Press f until the selected finding is about a field holding a wrong value (its own
        field first, then the others it names): that field and its true value. At most once
        round the open findings; else None, the first one selected."""
        for _ in range(count):
            self.press("f")
            for path, shown in self.page.evaluate(FIELDS_OF_SELECTED):
                value = get_value(self.gold[index], path)
                truth = "" if value is None else str(value)
                if truth != shown:
                    return path, truth
        return None

    def _tab_to(self, path: str) -> None:
        """Tab (or Shift+Tab) from the focused field to the field of `path`, through what lies
        between (other fields, a finding's accept button), as a reviewer would."""
        order = self.page.evaluate("() => [...document.querySelectorAll('#record-pane [data-path]')]"
                                   ".map((e) => e.dataset.path)")  # fmt: skip
        here = self.page.evaluate("document.activeElement.dataset.path || ''")
        if here not in order or here == path:
            return
        key = "Tab" if order.index(path) > order.index(here) else "Shift+Tab"
        for _ in range(60):
            self.press(key)
            if self.page.evaluate("document.activeElement.dataset.path") == path:
                self.page.evaluate("document.activeElement.select()")  # as Tab into one does
                return
        raise RuntimeError(f"could not tab to {path}")


# the selected finding's fields, its own first: [path, value shown]
FIELDS_OF_SELECTED = """() => {
  const el = document.querySelector(".finding.current");
  const holder = el.closest(".field, .cell") || el.closest(".ind");
  const own = holder && holder.querySelector("[data-path]");
  const paths = [own && own.dataset.path, ...el.dataset.paths.split(" ")].filter(Boolean);
  return [...new Set(paths)].map((p) => document.querySelector(`[data-path="${CSS.escape(p)}"]`))
    .filter(Boolean).map((i) => [i.dataset.path, i.value]);
}"""


def review_all(page: Page, base: str, gold: list[FormRecord]) -> list[dict[str, Any]]:
    """The keyboard session over the queue: a row per form cleared."""
    me = Reviewer(page, gold)
    page.goto(base + login_path(TOKEN))
    page.goto(base + "/")
    me.press("n")
    page.wait_for_url(f"{base}/form/*")
    rows = []
    while "/form/" in page.url:
        page.locator("#status").wait_for()
        keys, typed, start = me.keys, me.typed, time.perf_counter()
        form = me.form()
        how = me.clear()
        me.act("r")
        here = page.url
        next_form = page.evaluate("document.querySelector('#record-pane .pane-head').dataset.next")
        me.press("j")
        if next_form:
            page.wait_for_url(f"{base}/form/{next_form}")
        rows.append({"form": form["index"], "open_findings": form["open"], "outcome": how,
                     "keys": me.keys - keys, "typed": me.typed - typed,
                     "seconds": round(time.perf_counter() - start, 3)})  # fmt: skip
        if page.url == here:  # no form left to review
            break
    return rows


def run(records: Path, gold: list[FormRecord], browser: Any) -> tuple[list[dict], ReviewSession]:
    session = ReviewSession(records, SEED / "source.md", reviewer="bench")
    with running(session, TOKEN) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(20_000)
        rows = review_all(page, base, gold)
        page.close()
    return rows, session


def floor(folder: Path, gold: list[FormRecord], browser: Any) -> float:
    """Seconds per form to move through clean forms: open each (list order), r, next."""
    records = folder / "clean.jsonl"
    write_records(records, gold)
    session = ReviewSession(records, SEED / "source.md", reviewer="bench", sample=len(gold))
    with running(session, TOKEN) as base:  # sampled: clean forms are in the queue
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        rows = review_all(page, base, gold)
        page.close()
    return statistics.median(r["seconds"] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="sessions to time (median reported)")
    args = ap.parse_args()
    rounds: list[list[dict]] = []
    floors: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                records, gold, names = planted(Path(tmp))
                rows, session = run(records, gold, browser)
                for row in rows:
                    row["fault"] = names.get(row["form"], "(none: the seed's own)")
                wrong = _still_wrong(session, gold)
                floors.append(floor(Path(tmp), gold, browser))
                rounds.append(rows)
        browser.close()
    result = _summary(rounds, floors, wrong)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "review_keys.json"
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        json.dumps({k: v for k, v in result.items() if k != "forms"}, indent=1, ensure_ascii=False)
    )


def _still_wrong(session: ReviewSession, gold: list[FormRecord]) -> list[str]:
    """Forms whose reviewed record still differs from the gold (a fault no finding led to)."""
    out = []
    run_data = {"findings", "meta", "source", "backend"}
    for state, truth in zip(session.states(), gold, strict=True):
        mine, true = state.record.model_dump(exclude=run_data), truth.model_dump(exclude=run_data)
        out += [f"form {truth.form_index}: {k}" for k in mine if mine[k] != true[k]]
    return out


def _summary(rounds: list[list[dict]], floors: list[float], wrong: list[str]) -> dict[str, Any]:
    last = rounds[-1]
    per_form = [statistics.median(r[i]["seconds"] for r in rounds) for i in range(len(last))]
    for row, seconds in zip(last, per_form, strict=True):
        row["seconds"] = round(seconds, 3)
    keys = [r["keys"] for r in last]
    floor_s = statistics.median(floors)
    return {
        "machine": describe(),
        "rounds": len(rounds),
        "forms_reviewed": len(last),
        "findings_cleared": sum(r["open_findings"] for r in last),
        "keys_per_form": {"median": statistics.median(keys), "max": max(keys), "total": sum(keys)},
        "typed_chars_total": sum(r["typed"] for r in last),
        "seconds_per_form": {
            "median": round(statistics.median(per_form), 3),
            "max": round(max(per_form), 3),
        },
        "floor_seconds_per_form": round(floor_s, 3),
        "ratio_to_floor": round(statistics.median(per_form) / floor_s, 2),
        "still_wrong_after_review": wrong,
        "forms": last,
    }


if __name__ == "__main__":
    main()
