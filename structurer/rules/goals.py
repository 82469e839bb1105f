"""The goals block: 项目总(体)目标 -> overall_goal, 年度(总体)目标 -> annual_goal."""

from __future__ import annotations

from ..models import GOAL_FIELDS, Cell, FormRecord
from ..vocab import Vocabulary
from .labels import Trace


def goal_field(text: str, vocab: Vocabulary) -> str | None:
    return next((f for f in vocab.fields_of(text) if f in GOAL_FIELDS), None)


def read_goals(rows: list[list[Cell]], record: FormRecord, trace: Trace, vocab: Vocabulary) -> None:
    """Goal texts sit in the rows from the goal labels down to the indicator table, under (or
    right of) their label; each text goes to the label whose column is nearest."""
    label_cols: dict[str, int] = {}
    texts: list[Cell] = []
    started = False
    for row in rows:
        for cell in row:
            if fld := goal_field(cell.text, vocab):
                label_cols.setdefault(fld, cell.col)
                started = True
            elif started and cell.text and not cell.merged and not vocab.is_label(cell.text):
                texts.append(cell)
            elif not started and vocab.goal_part_pattern.match(cell.text):
                texts.append(cell)
                started = True
    parts: dict[str, list[str]] = {"overall_goal": [], "annual_goal": []}
    for cell, home in _goal_homes(texts, label_cols):
        for fld, text in _split_goal(cell.text, home, vocab):
            if text not in parts[fld]:  # a goal the OCR printed in several cells is kept once
                parts[fld].append(text)
                trace.ref(fld, cell)
    for fld, chunks in parts.items():
        if chunks:
            setattr(record, fld, "\n".join(chunks))


def _goal_homes(texts: list[Cell], label_cols: dict[str, int]) -> list[tuple[Cell, str]]:
    """Which goal each text cell belongs to. A single text is the annual goal (the labelling
    convention for an unlabelled goal). Two different texts on one row under both labels are
    (overall, annual) in that order, whatever columns OCR shifted them to; other texts go to the
    nearest label."""
    if len({c.text for c in texts}) == 1:
        # one text alone is the annual goal by convention, whatever column OCR moved it to
        return [(c, "annual_goal") for c in texts]
    rows: dict[int, list[Cell]] = {}
    for cell in texts:
        rows.setdefault(cell.line, []).append(cell)
    homes = []
    for cells in rows.values():
        distinct = len({c.text for c in cells}) > 1
        for k, cell in enumerate(cells):
            if distinct and len(label_cols) == 2 and k in (0, len(cells) - 1):
                homes.append((cell, "overall_goal" if k == 0 else "annual_goal"))
            else:
                homes.append((cell, _nearest_goal(cell.col, label_cols)))
    return homes


def _nearest_goal(col: int, label_cols: dict[str, int]) -> str:
    if not label_cols:
        return "annual_goal"
    # ties go to the annual goal: an unlabelled text is the annual goal by convention
    return min(label_cols, key=lambda f: (abs(label_cols[f] - col), f != "annual_goal"))


def _split_goal(text: str, home: str, vocab: Vocabulary) -> list[tuple[str, str]]:
    """Split a goal cell at `<goal label>：` parts; text before any label stays home."""
    out: list[tuple[str, str]] = []
    pos, fld = 0, home
    for m in vocab.goal_part_pattern.finditer(text):
        if part := text[pos : m.start()].strip():
            out.append((fld, part))
        fld = goal_field(m.group(1), vocab) or home
        pos = m.end()
    if part := text[pos:].strip():
        out.append((fld, part))
    return out
