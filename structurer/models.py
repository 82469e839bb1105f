"""Shared data types: the record contract and the intermediate stages.

This module imports nothing else from the package; every stage imports it. The pydantic models
are the single source of the output format (`structurer schema` prints their JSON Schema).

Flow: file -> SourceText -> Chunk (one per form) -> Grid of Cells -> FormRecord -> Findings ->
scores. A Job is one form on its way through a Backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}

# Field names of the funding block, in form order: whole-project column, then the year column.
PROJECT_AMOUNTS = ("project_total", "project_fiscal", "project_other")
ANNUAL_AMOUNTS = ("annual_total", "current_appropriation", "prior_carryover", "annual_other")
AMOUNT_FIELDS = PROJECT_AMOUNTS + ANNUAL_AMOUNTS
HEADER_FIELDS = (
    "project_name",
    "project_nature",
    "project_category",
    "department",
    "implementing_unit",
    "start_date",
    "end_date",
)
GOAL_FIELDS = ("overall_goal", "annual_goal")
# Budget codes printed with a unit's name (`[607001]<unit>`, `820-<unit>`): a datum of their own.
CODE_FIELDS = ("department_code", "implementing_unit_code")


# --- intermediate stages (plain dataclasses: many are made per form, they never leave the run) ---


class Cell:
    """One table cell after cleaning, remembering where it came from.

    A plain slots class, not a frozen dataclass: a form has ~150 cells and a frozen dataclass
    sets each field through object.__setattr__ (three times the cost). Nothing mutates a cell
    once made (a changed cell is a new one) and nothing hashes one."""

    __slots__ = ("col", "line", "merged", "raw", "repairs", "text")

    def __init__(
        self,
        text: str,
        raw: str,
        line: int,
        col: int,
        repairs: tuple[str, ...] = (),
        merged: bool = False,
    ) -> None:
        self.text = text  # cleaned text ("" for an empty cell)
        self.raw = raw  # the cell as OCR wrote it
        self.line = line  # 1-based line in the source document
        self.col = col  # 0-based column in its source table row
        self.repairs = repairs  # what cleaning changed that may alter meaning (e.g. "O->0")
        self.merged = merged  # a copy of an HTML rowspan cell from the row above

    def _fields(self) -> tuple[Any, ...]:
        return (self.text, self.raw, self.line, self.col, self.repairs, self.merged)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cell) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # equal by value, never a key

    def __repr__(self) -> str:
        return f"Cell({self.text!r}, line={self.line}, col={self.col})"


@dataclass(slots=True)
class Grid:
    """All table rows of one form, in source order; continuation tables appended."""

    rows: list[list[Cell]] = field(default_factory=list)
    layout: str = "markdown"  # the layout reader that built it (read.layouts)
    # cells the reader split by a guess (run together with no separator): the rules say so in an
    # error finding, since no later check can tell a wrong split from a right one
    guessed: list[str] = field(default_factory=list)
    project_line: int | None = None  # Chunk.project_line: the list-table project this form is
    # (source line, text) of each line the grid was read from: what a reader of the text itself
    # needs where the cells lost it (a packed list's pieces in a text layer: read.packed)
    lines: tuple[tuple[int, str], ...] = ()
    # what the stages derive from the grid (its parts, the label map, the grounding index),
    # built once by the first stage that asks and read by the others: read.structure.derived
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a line (or a cell) of a SourceText came from in its file, where the format knows."""

    page: int | None = None  # 1-based page of a PDF or an OCR JSON
    sheet: str | None = None  # spreadsheet sheet name
    row: int | None = None  # 1-based sheet row
    block: int | None = None  # block index in an OCR JSON
    # x0, y0, x1, y1 as fractions of the page's width and height, from its top-left corner: every
    # input states boxes in its own units (PDF points, MinerU's 0-1000, Docling's bottom-left
    # points), fractions are what they have in common and what a rendered page is cropped by
    bbox: tuple[float, float, float, float] | None = None


@dataclass(slots=True)
class SourceText:
    """A file read as text by an input format (read.formats): what the chunker and the layout
    readers see. Lines are what every later stage points at; `lines` and `cells` say where each
    came from in the file (empty for plain text: a line is the file's own line)."""

    text: str
    format: str  # the format reader's name: "text", ...
    encoding: str | None = None
    lines: dict[int, Origin] = field(default_factory=dict)  # 1-based line -> origin
    cells: dict[tuple[int, int], Origin] = field(default_factory=dict)  # (line, col) -> origin
    unread: list[str] = field(default_factory=list)  # pages over a reading limit: "page N: why"


# --- the contract (pydantic) ---


class Chunk(BaseModel):
    """The source text of one 申报表, with its line range (1-based, inclusive)."""

    index: int = Field(description="1-based position of the form in its document")
    year: int | None = Field(None, description="year from the (2024年度) line under the title")
    start_line: int
    end_line: int
    text: str
    lines: list[int] | None = Field(
        None,
        description="source line of each line of text, when the chunk gathers lines that are "
        "not adjacent (a list table's header with one project's rows); else start_line onwards",
    )
    project_line: int | None = Field(
        None,
        description="in a list table whose cells merge across projects (one unit cell beside "
        "several projects), the line where this form's project starts: the chunk keeps the "
        "whole table, and only this project is the form's",
    )

    @property
    def line_numbers(self) -> Sequence[int]:
        """The source line of each line of `text`."""
        return self.lines or range(self.start_line, self.start_line + self.text.count("\n") + 1)

    def source_ref(self) -> SourceRef:
        """Where a record of this form points: its lines (and its project in a list table)."""
        return SourceRef(
            start_line=self.start_line, end_line=self.end_line, project_line=self.project_line
        )

    def is_source_of(self, ref: SourceRef) -> bool:
        return (self.start_line, self.end_line, self.project_line) == (
            ref.start_line,
            ref.end_line,
            ref.project_line,
        )


class Place(BaseModel):
    """Where a source line or cell sits on a page of a paged input (PDF, OCR JSON)."""

    page: int = Field(description="1-based page")
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="x0, y0, x1, y1 as fractions of the page, origin top-left"
    )


class Document(BaseModel):
    """A document of the run. Its identity is `name` (the path relative to the common root of the
    run's inputs) plus `sha256`: two documents with the same file name in different folders, or
    byte-identical files at different paths, are different documents."""

    path: str = Field(description='where it was read from, as given ("-" for stdin)')
    name: str = Field("", description="the path relative to the common root of the inputs")
    encoding: str
    format: str = Field("text", description="the input format reader that read the file")
    sha256: str = Field("", description="of the decoded text: identifies the source across runs")
    title: str | None = Field(None, description="document heading above the first form, if any")
    chunks: list[Chunk]
    set_aside: list[str] = Field(
        default_factory=list,
        description="titles (with their line) of tables that are not project forms, not read",
    )
    unread: list[str] = Field(
        default_factory=list,
        description="pages of a paged input not read, each over a reading limit: 'page N: why'",
    )
    # Pages of a paged input, kept compact (documents travel to worker processes): line -> place
    # of the block it came from, and line -> col -> place of a table cell. Empty for text.
    line_places: dict[int, Place] = Field(default_factory=dict)
    cell_places: dict[int, dict[int, Place]] = Field(default_factory=dict)

    def place_of(self, line: int, col: int) -> Place | None:
        """The cell's own place, else the page (only) of the block its line came from."""
        cell = self.cell_places.get(line, {}).get(col)
        if cell is not None:
            return cell
        block = self.line_places.get(line)
        return Place(page=block.page) if block is not None else None

    @property
    def key(self) -> str:
        """The name records, corrections and the review know this document by."""
        return self.name or Path(self.path).name


class Funding(BaseModel):
    """Amounts as decimal strings in the form's own unit; null for an empty cell (not zero)."""

    unit: str | None = Field(None, description="元 or 万元, as the funding block's label states")
    project_total: str | None = Field(None, description="whole-project column: total")
    project_fiscal: str | None = Field(None, description="whole-project column: fiscal funds")
    project_other: str | None = Field(None, description="whole-project column: other funds")
    annual_total: str | None = Field(None, description="year column: total requested")
    current_appropriation: str | None = Field(
        None, description="year column: this year's appropriation"
    )
    prior_carryover: str | None = Field(None, description="year column: carried over")
    annual_other: str | None = Field(None, description="year column: other funds")


class Indicator(BaseModel):
    level1: str | None = Field(None, description="level-1 name in full, as the hierarchy spells it")
    level2: str | None = Field(None, description="level-2 name in full, under level1")
    name: str | None = Field(None, description="level-3 indicator name")
    target: str | None = Field(None, description="this year's target, cleaned, e.g. ≥90.00(%)")
    op: str | None = Field(None, description="=, ≥, ≤, >, < when target is [op]number[unit]")
    value: str | None = Field(None, description="the number of a quantitative target")
    unit: str | None = Field(None, description="the unit of a quantitative target, e.g. %")


def _is_none(value: Any) -> bool:
    return value is None


class Acceptance(BaseModel):
    """A reviewer's word on a finding: checked, the source itself is so (a sum it prints wrong)."""

    reason: str = Field(description="why the finding stands, in the reviewer's words")
    at: str = Field(description="when it was accepted (UTC, ISO 8601)")


class Finding(BaseModel):
    severity: Severity
    code: str = Field(description="stable identifier, e.g. funding.annual_identity")
    message: str
    paths: list[str] = Field(
        default_factory=list, description="field paths, e.g. funding.annual_total"
    )
    values: dict[str, Any] = Field(default_factory=dict, description="the numbers involved")
    # most findings are not accepted: their JSON stays as it was, without "accepted": null
    accepted: Acceptance | None = Field(
        None,
        description="set when a reviewer accepted the finding: it stays in the record but no "
        "longer flags the form (counted apart)",
        exclude_if=_is_none,
    )


class CellRef(BaseModel):
    """A field's source cell: its line and column in the text the layouts read and, for a paged
    input, the page and the cell's box (fractions of the page, origin top-left). Text inputs have
    no pages: their records keep {"line", "col"}."""

    # The unknown place is left out field by field (exclude_if): a wrapping serializer ran
    # Python for each of a record's ~40 cells.
    line: int
    col: int
    page: int | None = Field(
        None, description="1-based page of a PDF or OCR JSON input", exclude_if=_is_none
    )
    bbox: tuple[float, float, float, float] | None = Field(
        None,
        description="x0, y0, x1, y1 of the cell as fractions of the page, origin top-left",
        exclude_if=_is_none,
    )


class SourceRef(BaseModel):
    """Where a record came from: its document, its line range and, per field path, the cell it
    was read from. `document` + `sha256` identify the document across runs and folders."""

    document: str | None = Field(
        None, description="the document's path relative to the common root of the run's inputs"
    )
    sha256: str | None = Field(None, description="of the document's text")
    path: str | None = Field(
        None, description="the file as read (absolute): where `review` finds the source"
    )
    start_line: int
    end_line: int
    project_line: int | None = Field(
        None,
        description="the line its project starts on, in a list table whose forms share lines",
        exclude_if=_is_none,
    )
    cells: dict[str, CellRef] = Field(default_factory=dict)


class FormRecord(BaseModel):
    """One clean 申报表: one line of the output JSONL."""

    model_config = ConfigDict(extra="allow")

    form_index: int
    year: int | None = None
    project_name: str | None = None
    project_nature: str | None = None
    project_category: str | None = None
    department: str | None = None
    implementing_unit: str | None = None
    department_code: str | None = Field(
        None, description="the budget code printed with the department (`[607001]…`, `820-…`)"
    )
    implementing_unit_code: str | None = Field(
        None, description="the budget code printed with the implementing unit"
    )
    start_date: str | None = Field(None, description="ISO date, e.g. 2024-01-01")
    end_date: str | None = None
    funding: Funding = Field(default_factory=Funding)
    overall_goal: str | None = Field(None, description="the project's overall (multi-year) goal")
    annual_goal: str | None = Field(None, description="this year's goal")
    extra_fields: dict[str, str] = Field(
        default_factory=dict,
        description="labelled values the record has no field for, as printed: label -> value "
        "(项目属性, 项目负责人, 联系电话, a period printed as months only…)",
    )
    indicators: list[Indicator] = Field(default_factory=list)
    backend: str | None = None
    source: SourceRef | None = None
    findings: list[Finding] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict, description="usage, timings, repairs")

    def key(self) -> str:
        """How a form is known across runs: its project name, else its position."""
        return self.project_name or f"#{self.form_index}"

    def value(self, path: str) -> Any:
        """The value of a single-valued field by its path (`department`, `funding.annual_total`)."""
        if path.startswith("funding."):
            return getattr(self.funding, path.removeprefix("funding."))
        return getattr(self, path)

    def set_value(self, path: str, value: Any) -> None:
        if path.startswith("funding."):
            setattr(self.funding, path.removeprefix("funding."), value)
        else:
            setattr(self, path, value)


def record_schema() -> dict[str, Any]:
    return FormRecord.model_json_schema()


# --- a form on its way through a backend ---


@dataclass
class Job:
    """One form to extract: its document, its chunk and the chunk's cell grid."""

    document: Document
    chunk: Chunk
    grid: Grid

    @cached_property
    def key(self) -> str:
        """Identifies this form's input across runs (journal, cache); hashed once per job."""
        digest = hashlib.sha256(self.chunk.text.encode()).hexdigest()[:16]
        return job_key(self.document, self.chunk.index, digest)


def job_key(document: Document, index: int, chunk_digest: str) -> str:
    """A form's input across runs: its document's identity (name and content), its position and
    its text. Byte-identical files at different paths give different keys."""
    return f"{document.key}:{document.sha256[:16]}:{index}:{chunk_digest}"


OnRecord = Callable[[Job, FormRecord], None]


class Backend(Protocol):
    """Turns jobs into records. Must call `on_record` once per job, in any order, and must not
    raise for a single bad form: a form that fails becomes a record with an error finding. It
    may raise errors.RunStopped to stop the whole run (a refused key, a cost cap): the jobs not
    reported then stay pending for a rerun.
    `vocab` is the template vocabulary its records are read and checked with (a backend without
    one gets the bundled vocabulary)."""

    name: str
    vocab: Any  # structurer.vocab.Vocabulary (typed loosely: models imports nothing else)

    def run(self, jobs: Sequence[Job], on_record: OnRecord) -> None: ...
