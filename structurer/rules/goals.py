"""The goals block: 项目总(体)目标 -> overall_goal, 年度(总体)目标 -> annual_goal."""

from __future__ import annotations

from ..models import Cell, FormRecord
from ..vocab import Vocabulary
from .labels import Trace


def goal_field(text: str, vocab: Vocabulary) -> str | None:
    return vocab.info(text).goal


def read_goals(rows: list[list[Cell]], record: FormRecord, trace: Trace, vocab: Vocabulary) -> None:
    """Goal texts sit in the rows from the goal labels (or the goal block's label) down to the
    indicator table, under (or right of) their label."""
    label_cols: dict[str, int] = {}
    row_labels: dict[int, list[tuple[int, str]]] = {}  # grid row -> (column, goal) labels on it
    spanning: set[int] = set()  # grid rows whose goal label is a copy spanning from above
    texts: list[tuple[int, Cell]] = []  # (grid row, cell)
    started = False
    for r, row in enumerate(rows):
        for cell in row:
            if fld := goal_field(cell.text, vocab):
                label_cols.setdefault(fld, cell.col)
                row_labels.setdefault(r, []).append((cell.col, fld))
                if cell.merged:
                    spanning.add(r)
                started = True
            elif vocab.block_of(cell.text) == "goals":
                started = True  # a goal under the block's label alone is unlabelled
            elif started and cell.text and not cell.merged and _goal_text(cell.text, vocab):
                texts.append((r, cell))
            elif not started and vocab.goal_part_pattern.match(cell.text):
                texts.append((r, cell))
                started = True
    parts: dict[str, dict[str, None]] = {"overall_goal": {}, "annual_goal": {}}  # ordered sets
    for cell, home in _goal_homes(texts, label_cols, row_labels, spanning):
        trace.use(cell)
        for fld, text in _split_goal(cell.text, home, vocab):
            if text not in parts[fld]:  # a goal the OCR printed in several cells is kept once
                parts[fld][text] = None
                trace.ref(fld, cell)
    for fld, chunks in parts.items():
        if chunks:
            setattr(record, fld, "\n".join(chunks))


def _goal_text(text: str, vocab: Vocabulary) -> bool:
    """A cell that may be goal text: no label, and no piece of one (a label printed down the
    page beside the goal, a character per line: 绩 / 效)."""
    info = vocab.info(text)
    return not info.label and not info.fragment


def _goal_homes(
    texts: list[tuple[int, Cell]],
    label_cols: dict[str, int],
    row_labels: dict[int, list[tuple[int, str]]],
    spanning: set[int],
) -> list[tuple[Cell, str]]:
    """Which goal each text cell belongs to, first rule that applies:

    1. one text (however many copies) on one row: the annual goal under a form's two goal labels
       (or none), the label's goal under the one goal label a form prints; but printed once in
       each label's own column, each goal's;
    2. two different texts on one row under both labels: (overall, annual) in that order,
       whatever columns OCR shifted them to;
    3. a text on a row holding a goal label left of it: that label's goal; but when that label
       is a merged cell spanning down from above (a block label) and another goal label heads
       the text's own column on a row above (a column header), the column's label;
    4. else the label whose column is nearest.
    """
    rows: dict[int, list[Cell]] = {}
    for r, cell in texts:
        rows.setdefault(r, []).append(cell)
    if len(rows) == 1 and len({c.text for _, c in texts}) == 1:
        if _under_each_label(texts, label_cols):  # printed twice, once in each goal's own cell
            return [(c, f) for _, c in texts for f, col in label_cols.items() if col == c.col]
        home = next(iter(label_cols)) if len(label_cols) == 1 else "annual_goal"
        return [(c, home) for _, c in texts]
    homes = []
    for r, cells in rows.items():
        distinct = len({c.text for c in cells}) > 1
        for k, cell in enumerate(cells):
            left = [fld for col, fld in row_labels.get(r, []) if col < cell.col]
            if distinct and len(label_cols) == 2 and k in (0, len(cells) - 1):
                homes.append((cell, "overall_goal" if k == 0 else "annual_goal"))
            elif left and r in spanning and (over := _column_label(cell, r, row_labels)):
                homes.append((cell, over))
            elif left:
                homes.append((cell, left[-1]))
            else:
                homes.append((cell, _nearest_goal(cell.col, label_cols)))
    return homes


def _column_label(cell: Cell, r: int, row_labels: dict[int, list[tuple[int, str]]]) -> str | None:
    """The goal label printed in the cell's own column on the nearest row above it, if any."""
    above = [
        fld
        for row in sorted(row_labels, reverse=True)
        if row < r
        for col, fld in row_labels[row]
        if col == cell.col
    ]
    return above[0] if above else None


def _under_each_label(texts: list[tuple[int, Cell]], label_cols: dict[str, int]) -> bool:
    """The same text once under each of the two goal labels, in their own columns (a table read
    cell by cell that prints it in both cells): each goal holds it. Copies OCR spread beside one
    merged cell do not stand one under each label."""
    cols = sorted(c.col for _, c in texts)
    return len(label_cols) == 2 and cols == sorted(label_cols.values())


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
