"""Hybrid's field-by-field choice between the rule record and the LLM record of one form.

An emptier record is not a better one. Each value is taken from the record whose reading of it
the checks doubt least:

- where the two agree, the value stands;
- a field the rules left empty takes the LLM's value, unless the checks find an error in it
  that the rules' empty reading is not doubted by as much (an amount they could not read);
- where the layout doubts the rules' reading (the grounding.undecidable warning names the path:
  a merged cell printed between rows, interleaved columns) the LLM's reading is taken when it is
  grounded and no more doubted otherwise: the warning falls on both readings alike, and the
  rules' shadow (recall) is the doubted reading itself, so neither is a reason to keep the rules;
- where both read a value and they disagree, the reading with fewer grounding errors on its path
  wins (a value not in the source, or under another field's label), then fewer other errors,
  then fewer warnings, then fewer recall errors (the LLM lacks or changed what the rules read),
  then fewer errors naming no path (text the reader could not place anywhere); on a tie, a text
  that holds the other (the other cut short), else the rules' reading (cell by cell);
- the indicator list is taken whole from the record with fewer doubts on it, then the longer
  (the layout's doubt on any of the rules' indicators counts as above).

The other reading of each value that differs is named in a hybrid.disagreement warning on its
path, so a reviewer sees both.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..models import AMOUNT_FIELDS, CODE_FIELDS, GOAL_FIELDS, HEADER_FIELDS, Finding, FormRecord
from ..read.clean import squash
from ..read.values import same_amount

SCALARS = (
    "year",
    *HEADER_FIELDS,
    *CODE_FIELDS,
    *GOAL_FIELDS,
    "funding.unit",
    *(f"funding.{f}" for f in AMOUNT_FIELDS),
)
INDICATORS = "indicators"
INDICATOR_FIELDS = ("level1", "level2", "name", "target")
_GROUNDING = "grounding."  # findings that say a value is not what the source holds there
UNDECIDABLE = "grounding.undecidable"  # the layout leaves the value's label or extent undecided


class Doubt(NamedTuple):
    """How much the findings doubt one reading of one value; compared in this order."""

    grounding: int
    errors: int
    warnings: int
    recall: int  # the LLM's recall errors: it lacks or changed what the rules read there
    unplaced: int


class Merge(NamedTuple):
    record: FormRecord
    taken: dict[str, str]  # path -> "rules" | "llm", where the two records differ


def merge(
    rules: FormRecord, rule_found: list[Finding], llm: FormRecord, llm_found: list[Finding]
) -> Merge:
    """The rule record with the LLM's readings where they are doubted less; `*_found` are each
    record's own findings and the checker's. The merged record keeps the backend findings of
    the readings it kept (the checker runs again on it)."""
    out = rules.model_copy(deep=True)
    taken: dict[str, str] = {}
    for path in SCALARS:
        mine, theirs = rules.value(path), llm.value(path)
        if theirs is None or same(path, mine, theirs):
            continue
        if mine is not None and _layout_doubts(rule_found, path, llm_found):
            taken[path] = "llm"
        else:
            taken[path] = pick(mine, theirs, doubt(rule_found, path), doubt(llm_found, path))
        if taken[path] == "llm":
            out.set_value(path, theirs)
            _cell_from(out, llm, path)
    _drop_moved(out, rules, llm, taken)
    if llm.indicators and _indicators_differ(rules, llm):
        taken[INDICATORS] = _pick_list(rules, rule_found, llm, llm_found)
        if taken[INDICATORS] == "llm":
            out.indicators = [i.model_copy() for i in llm.indicators]
            _indicator_cells_from(out, llm)
    out.findings = _kept(rules.findings, taken, "rules") + _kept(llm.findings, taken, "llm")
    out.findings += disagreements(rules, llm, taken)
    return Merge(out, taken)


def _drop_moved(out: FormRecord, rules: FormRecord, llm: FormRecord, taken: dict[str, str]) -> None:
    """A value the rules read at one path and the LLM, leaving that path empty, at another the
    merged record took from it: the same value twice, once where the form does not put it. The
    LLM's placement stands (the rules' code of the department read as the unit's, a single goal
    read as the overall one)."""
    from_llm = [out.value(p) for p, side in taken.items() if side == "llm"]
    for path in SCALARS:
        mine = rules.value(path)
        if mine is None or llm.value(path) is not None or taken.get(path) == "llm":
            continue
        if any(v is not None and squash(str(v)) == squash(str(mine)) for v in from_llm):
            out.set_value(path, None)
            taken[path] = "llm"
            if out.source is not None:
                out.source.cells.pop(path, None)


def same(path: str, a: Any, b: Any) -> bool:
    """Amounts compared as numbers, texts without the spaces OCR puts in."""
    if a is None or b is None:
        return a is b
    if path.startswith("funding.") and path != "funding.unit":
        return same_amount(a, b)
    return squash(str(a)) == squash(str(b))


def doubt(findings: list[Finding], path: str, *, layout: bool = True) -> Doubt:
    """The findings on `path` (or on a path containing it), and the errors naming no path. The
    LLM record's recall findings (hybrid.*) are the rules' reading of the same place: they count
    only after the checker's own doubts, so they decide nothing the rules' doubts already do.
    `layout=False` leaves out the layout's doubt (grounding.undecidable), which falls on any
    reading of the path alike."""
    grounding = errors = warnings = recall = unplaced = 0
    for f in findings:
        if not layout and f.code == UNDECIDABLE:
            continue
        if f.code.startswith("hybrid."):
            recall += f.severity == "error" and any(_covers(p, path) for p in f.paths)
            continue
        if not f.paths:
            unplaced += f.severity == "error"
            continue
        if not any(_covers(p, path) for p in f.paths):
            continue
        if f.severity == "error" and f.code.startswith(_GROUNDING):
            grounding += 1
        elif f.severity == "error":
            errors += 1
        elif f.severity == "warning":
            warnings += 1
    return Doubt(grounding, errors, warnings, recall, unplaced)


def _layout_doubts(rule_found: list[Finding], path: str, llm_found: list[Finding]) -> bool:
    """Whether the layout doubts the rules' reading of `path` (the undecidable warning names it:
    a merged cell printed between rows, wrapped columns interleaved) while the LLM's reading is
    grounded and no more doubted otherwise. The warning falls on both readings alike, so it is
    no reason to keep the rules; nor is the rules' shadow (recall), which is the doubted reading
    itself: the LLM's grounded value is taken."""
    if not any(
        f.code == UNDECIDABLE and any(_covers(p, path) for p in f.paths) for f in rule_found
    ):
        return False
    rules, llm = doubt(rule_found, path, layout=False), doubt(llm_found, path, layout=False)
    return llm.grounding == 0 and llm[:3] <= rules[:3]


def _covers(finding_path: str, path: str) -> bool:
    """A finding's path names `path`: the same, one containing it, or a part of it."""
    if finding_path == path:
        return True
    longer, shorter = (
        (path, finding_path) if len(path) > len(finding_path) else (finding_path, path)
    )
    return longer.startswith(shorter) and longer[len(shorter)] in ".["


def pick(mine: Any, theirs: Any, rules: Doubt, llm: Doubt) -> str:
    """Whose reading of one value to keep."""
    if mine is None:  # the rules read nothing: the LLM's value, unless an error doubts it more
        # than the rules' empty reading is doubted (an amount the rules found but could not
        # read: the LLM's reading may then draw the form's own identity slip, as the gold does)
        return (
            "llm"
            if llm.grounding == 0 and llm.errors <= rules.grounding + rules.errors
            else "rules"
        )
    if llm < rules:
        return "llm"
    if rules < llm:
        return "rules"
    longer = squash(str(theirs))
    return (
        "llm" if len(longer) > len(squash(str(mine))) and squash(str(mine)) in longer else "rules"
    )


def _pick_list(
    rules: FormRecord, rule_found: list[Finding], llm: FormRecord, llm_found: list[Finding]
) -> str:
    def key(record: FormRecord, found: list[Finding]) -> tuple[float, ...]:
        """Grounding errors, then errors on the list itself (text of the table left unplaced),
        then errors and warnings per indicator (a longer list has more rows to doubt: a form
        printing no level draws the same error on every row of either), then the longer list."""
        d = doubt(found, INDICATORS)
        on_list = sum(
            f.severity == "error" and INDICATORS in f.paths and not f.code.startswith("hybrid.")
            for f in found
        )
        n = max(1, len(record.indicators))
        rates = ((d.errors - on_list) / n, d.warnings / n)
        return (d.grounding, on_list, *rates, -len(record.indicators), d.recall)

    if _layout_doubts(rule_found, INDICATORS, llm_found):
        return "llm"
    return "llm" if key(llm, llm_found) < key(rules, rule_found) else "rules"


def _indicators_differ(a: FormRecord, b: FormRecord) -> bool:
    if len(a.indicators) != len(b.indicators):
        return True
    return any(
        not same(f, getattr(x, f), getattr(y, f))
        for x, y in zip(a.indicators, b.indicators, strict=True)
        for f in INDICATOR_FIELDS
    )


def _kept(findings: list[Finding], taken: dict[str, str], side: str) -> list[Finding]:
    """A backend's findings about readings the merged record kept from it: a finding on a path
    taken from the other record is about a value the record no longer holds. One naming no
    path stays with the side the record still mostly is (the rules, unless nothing is theirs)."""
    from ..checks import BACKEND_PREFIXES

    mostly = "llm" if taken and all(v == "llm" for v in taken.values()) else "rules"
    out = []
    for f in findings:
        if not f.code.startswith(BACKEND_PREFIXES):
            continue
        if not f.paths:
            keep = side == mostly
        else:
            keep = any(_taken_from(taken, p) == side for p in f.paths)
        if keep:
            out.append(f)
    return out


def _taken_from(taken: dict[str, str], path: str) -> str:
    key = INDICATORS if path.startswith(INDICATORS) else path
    return taken.get(key, "rules")


def _cell_from(out: FormRecord, llm: FormRecord, path: str) -> None:
    """The source cell of a value taken from the LLM record (where it placed one)."""
    if out.source is None:
        return
    out.source.cells.pop(path, None)
    if llm.source is not None and path in llm.source.cells:
        out.source.cells[path] = llm.source.cells[path]


def _indicator_cells_from(out: FormRecord, llm: FormRecord) -> None:
    if out.source is None:
        return
    cells = {p: c for p, c in out.source.cells.items() if not p.startswith(INDICATORS)}
    if llm.source is not None:
        cells |= {p: c for p, c in llm.source.cells.items() if p.startswith(INDICATORS)}
    out.source.cells = cells


def disagreements(
    rules: FormRecord, llm: FormRecord, taken: dict[str, str] | None = None
) -> list[Finding]:
    """One warning per path where the two readings differ, naming the one not kept."""
    taken = taken if taken is not None else {}
    out = []
    for path, a, b in _pairs(rules, llm):
        if same(path, a, b):
            continue
        kept = _taken_from(taken, path)
        shown = (a, b) if kept == "rules" else (b, a)
        other = "llm" if kept == "rules" else "rules"
        out.append(
            Finding(
                severity="warning",
                code="hybrid.disagreement",
                message=f"{path}: kept {kept} {shown[0]!r}, {other} read {shown[1]!r}",
                paths=[path],
                values={"rules": a, "llm": b, "kept": kept},
            )
        )
    return out


def _pairs(a: FormRecord, b: FormRecord) -> list[tuple[str, Any, Any]]:
    pairs = [(p, a.value(p), b.value(p)) for p in SCALARS if p != "year"]
    if len(a.indicators) != len(b.indicators):
        return [*pairs, (INDICATORS, len(a.indicators), len(b.indicators))]
    for i, (x, y) in enumerate(zip(a.indicators, b.indicators, strict=True)):
        pairs += [(f"indicators[{i}].{f}", getattr(x, f), getattr(y, f)) for f in INDICATOR_FIELDS]
    return pairs
