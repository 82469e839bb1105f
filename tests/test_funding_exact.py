"""The funding identities hold to the cent: no tolerance, whatever the unit, the notation or the
size of the amounts (issue 24, item 8)."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from structurer.checks import check_record
from structurer.models import FormRecord, Funding

ANNUAL = ("annual_total", "current_appropriation", "prior_carryover", "annual_other")
PROJECT = ("project_total", "project_fiscal", "project_other")


def _codes(unit: str, **amounts: str) -> list[str]:
    record = FormRecord(form_index=1, year=2024, project_name="测试项目",
                        funding=Funding(unit=unit, **amounts))  # fmt: skip
    return [f.code for f in check_record(record) if f.code.endswith("_identity")]


def _holding(names: tuple[str, ...], total: str, parts: tuple[str, ...]) -> dict[str, str]:
    return dict(zip(names, (total, *parts), strict=True))


# (total, parts) that hold exactly, in each notation the forms print
HOLDING = [
    ("元", "5900000.00", ("1200000.00", "4699999.99", "0.01")),
    ("元", "5900000", ("5899999.990", "0.01", "0")),
    ("万元", "426.80", ("400", "26.79", "0.01")),
    ("万元", "0.0002", ("0.0001", "0.0001", "0")),
    # 30 significant digits: beyond Decimal's default 28-digit context, still exact
    ("元", "123456789012345678901234567.89", ("123456789012345678901234567.88", "0.01", "0")),
]


@pytest.mark.parametrize(("unit", "total", "parts"), HOLDING)
def test_an_identity_that_holds_to_the_cent_raises_nothing(unit, total, parts):
    assert _codes(unit, **_holding(ANNUAL, total, parts)) == []
    assert _codes(unit, **_holding(PROJECT, total, (*parts[:1], _sum_rest(parts)))) == []


def _sum_rest(parts: tuple[str, ...]) -> str:
    with localcontext() as ctx:
        ctx.prec = 100
        return str(sum((Decimal(p) for p in parts[1:]), Decimal(0)))


@pytest.mark.parametrize(("unit", "total", "parts"), HOLDING)
@pytest.mark.parametrize("off", range(4))
@pytest.mark.parametrize("delta", ["0.01", "-0.01"])
def test_one_cent_off_anywhere_breaks_the_annual_identity(unit, total, parts, off, delta):
    values = list(_holding(ANNUAL, total, parts).values())
    values[off] = _shift(values[off], delta if unit == "元" else "0.0001")
    assert _codes(unit, **dict(zip(ANNUAL, values, strict=True))) == ["funding.annual_identity"]


@pytest.mark.parametrize(("unit", "total", "parts"), HOLDING)
@pytest.mark.parametrize("off", range(3))
def test_one_cent_off_anywhere_breaks_the_project_identity(unit, total, parts, off):
    values = [total, parts[0], _sum_rest(parts)]
    values[off] = _shift(values[off], "0.01" if unit == "元" else "0.0001")
    found = _codes(unit, **dict(zip(PROJECT, values, strict=True)))
    assert found == ["funding.project_identity"]


def _shift(amount: str, delta: str) -> str:
    with localcontext() as ctx:
        ctx.prec = 100
        return str(Decimal(amount) + Decimal(delta))


def test_the_difference_is_reported_exactly():
    record = FormRecord(form_index=1, funding=Funding(
        unit="元", annual_total="123456789012345678901234567.90",
        current_appropriation="123456789012345678901234567.88", prior_carryover="0.01",
        annual_other="0"))  # fmt: skip
    (found,) = [f for f in check_record(record) if f.code == "funding.annual_identity"]
    assert found.values["difference"] == "0.01"
