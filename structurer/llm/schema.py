"""What the model is asked to return, the checks it can fix, and the conversion to a FormRecord.

`FormDraft` is the reply's shape (the contract's field names; op/value/unit are not asked: code
computes them from `target`). `FormExtraction` adds the checks a model can fix by re-reading the
grid - hierarchy, target syntax, the annual funding identity - as one validation error listing
every problem precisely, which instructor sends back as the re-ask. When the re-asks run out the
last reply is kept as a `FormDraft` and its problems become findings: a source that is itself
inconsistent does not loop.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from ..clean import amount_value, parse_amount, parse_date
from ..hierarchy import belongs, canonical_level, parent_of
from ..models import AMOUNT_FIELDS, ANNUAL_AMOUNTS, FormRecord, Funding, Indicator
from ..targets import clean_target, parse_target

_OPERATORS = "=≥≤><"


def _text(value: Any) -> Any:
    """Strip a string; an empty one means the cell was empty."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class DraftFunding(BaseModel):
    unit: str | None = Field(None, description="元 or 万元, from the 项目资金(…) label")
    project_total: str | None = Field(None, description="项目资金总额")
    project_fiscal: str | None = Field(None, description="其中:财政资金 (project column)")
    project_other: str | None = Field(None, description="其他资金 (project column)")
    annual_total: str | None = Field(None, description="年度资金申请总额")
    current_appropriation: str | None = Field(None, description="其中:当年财政拨款")
    prior_carryover: str | None = Field(None, description="上年结转资金")
    annual_other: str | None = Field(None, description="其他资金 (year column)")

    @field_validator("*", mode="before")
    @classmethod
    def _amount(cls, value: Any, info: Any) -> Any:
        """`5,900,000.00` -> `5900000.00`; text that is no number is kept for the checks."""
        value = _text(value)
        if isinstance(value, int | float):
            value = str(value)
        if info.field_name == "unit" or value is None:
            return value
        try:
            return parse_amount(value)[0]
        except ValueError:
            return value


class DraftIndicator(BaseModel):
    level1: str | None = Field(None, description="一级指标, filled down from the rows above")
    level2: str | None = Field(None, description="二级指标, filled down from the rows above")
    name: str | None = Field(None, description="三级指标")
    target: str | None = Field(None, description="年度指标值 as written, null if empty")

    _strip = field_validator("*", mode="before")(lambda cls, v: _text(v))


class FormDraft(BaseModel):
    """One 财政项目支出绩效目标申报表."""

    project_name: str | None = Field(None, description="项目名称")
    project_nature: str | None = Field(None, description="项目性质")
    project_category: str | None = Field(None, description="项目类别")
    department: str | None = Field(None, description="主管部门")
    implementing_unit: str | None = Field(None, description="实施单位")
    start_date: str | None = Field(None, description="计划开始日期, ISO yyyy-mm-dd")
    end_date: str | None = Field(None, description="计划完成日期, ISO yyyy-mm-dd")
    funding: DraftFunding = Field(default_factory=DraftFunding)
    overall_goal: str | None = Field(None, description="项目总目标 / 项目总体目标")
    annual_goal: str | None = Field(None, description="年度总体目标")
    indicators: list[DraftIndicator] = Field(default_factory=list, description="in table order")

    _strip = field_validator(
        "project_name",
        "project_nature",
        "project_category",
        "department",
        "implementing_unit",
        "overall_goal",
        "annual_goal",
        mode="before",
    )(lambda cls, v: _text(v))

    @field_validator("start_date", "end_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return parse_date(value) if isinstance(value, str) else value

    @field_validator("funding", mode="before")
    @classmethod
    def _no_null_funding(cls, value: Any) -> Any:
        return {} if value is None else value


class FormExtraction(FormDraft):
    """A draft that passes the checks a model can fix; failing ones become the re-ask message."""

    @model_validator(mode="after")
    def _fixable(self) -> FormExtraction:
        problems = fixable_problems(self)
        if problems:
            raise ValueError("re-read the grid and fix:\n" + "\n".join(f"- {p}" for p in problems))
        return self


def fixable_problems(draft: FormDraft) -> list[str]:
    """Every problem the model can fix by re-reading, each naming the field and the fix."""
    # the identity is only meaningful once every amount is a number
    problems = _amount_problems(draft.funding) or _identity_problems(draft.funding)
    for i, ind in enumerate(draft.indicators):
        problems += _level_problems(i, ind)
        problems += _target_problems(i, ind)
    return problems


def _amount_problems(funding: DraftFunding) -> list[str]:
    return [
        f"funding.{f} {getattr(funding, f)!r} is not a number: copy the amount's digits "
        "(null if the cell is empty)"
        for f in AMOUNT_FIELDS
        if getattr(funding, f) is not None and amount_value(getattr(funding, f)) is None
    ]


def _level_problems(i: int, ind: DraftIndicator) -> list[str]:
    where = f"indicators[{i}]"
    if not ind.level1 or not ind.level2:
        return [
            f"{where} ({ind.name}): level1 and level2 must be filled; blank cells inherit the "
            "labels of the row above (rows before any label take the first label below)"
        ]
    l1, l2 = canonical_level(ind.level1), canonical_level(ind.level2)
    if l2 is None:
        return [
            f"{where}.level2 {ind.level2!r} is not a 二级指标 name (e.g. 数量指标, 社会效益指标); "
            "the name may have landed in the wrong column"
        ]
    if l1 is None or not belongs(l1, l2):
        parent = parent_of(l2)
        return [
            f"{where}: level2 {ind.level2!r} is not under level1 {ind.level1!r}; by the "
            f"hierarchy its level1 is {parent!r}"
        ]
    return []


def _target_problems(i: int, ind: DraftIndicator) -> list[str]:
    raw = ind.target
    if raw is None:
        return []
    if "$" in raw or "\\" in raw:
        return [f"indicators[{i}].target {raw!r}: write plain signs (≥ ≤ % ( )), not LaTeX"]
    cleaned = clean_target(raw) or ""
    if cleaned[:1] in _OPERATORS and parse_target(cleaned).value is None:
        return [
            f"indicators[{i}].target {raw!r} starts with an operator but is not "
            "[operator]number[unit] such as ≥90.00(%): copy the target cell exactly"
        ]
    return []


def _identity_problems(funding: DraftFunding) -> list[str]:
    values = [amount_value(getattr(funding, f)) for f in ANNUAL_AMOUNTS]
    if any(v is None for v in values):
        return []
    total, *parts = values
    if total == sum(parts):
        return []
    a, b, c, d = (getattr(funding, f) for f in ANNUAL_AMOUNTS)
    return [
        f"funding: annual_total {a} != current_appropriation {b} + prior_carryover {c} + "
        f"annual_other {d} = {sum(parts)}; check each amount and the label it sits under"
    ]


def schema_hash() -> str:
    """Changes whenever the reply's shape or descriptions change: part of the cache key."""
    text = json.dumps(FormExtraction.model_json_schema(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def to_record(draft: FormDraft, *, form_index: int, year: int | None) -> FormRecord:
    """The contract record: targets split into op/value/unit by code, never by the model."""
    funding = Funding(**draft.funding.model_dump())
    indicators = [_indicator(ind) for ind in draft.indicators]
    header = draft.model_dump(exclude={"funding", "indicators"})
    return FormRecord(
        form_index=form_index, year=year, **header, funding=funding, indicators=indicators
    )


def _indicator(ind: DraftIndicator) -> Indicator:
    target = parse_target(ind.target)
    return Indicator(
        level1=canonical_level(ind.level1) or ind.level1,  # `社会效益` -> `社会效益指标`
        level2=canonical_level(ind.level2) or ind.level2,
        name=ind.name,
        target=target.target,
        op=target.op,
        value=target.value,
        unit=target.unit,
    )
