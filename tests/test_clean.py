"""Cell cleaning: what OCR adds is removed, facts are never changed."""

import pytest

from structurer.read.clean import clean_text, squash
from structurer.read.values import parse_amount, parse_date


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("项目 绩效 目标", "项目绩效目标"),  # spaces OCR put between Chinese characters
        ("服务对象 满意度指 标", "服务对象满意度指标"),
        ("组织CTO 社区活动", "组织CTO社区活动"),
        ("AABI IBI", "AABI IBI"),  # spaces between Latin words are real
        ("<p>第一段</p> <p>第二段</p>", "第一段\n第二段"),
        ("数据处理<br>功能", "数据处理\n功能"),
        ("$\\geq 90.00\\%$", "≥ 90.00%"),
        ("２０２６年", "2026年"),  # full-width digits are OCR damage
        ("（AABI）秘书处", "（AABI）秘书处"),  # full-width brackets are Chinese typography
        ("达标达标", "达标达标"),  # too short to call a repeat
        ("=100.00(%)=100.00(%)", "=100.00(%)"),  # a repeated target is a copy
        ("课程满意度评价课程满意度评价课程满意度评价", "课程满意度评价"),
        # copies that disagree: the one the OCR produced most often wins
        (
            "小巨人总裁班课程满意度小巨人总裁班参培人员满意度小巨人总裁班参培人员满意度"
            "小巨人总裁班参培人员满意度",
            "小巨人总裁班参培人员满意度",
        ),
        ("开展培训活动；开展讲座活动", "开展培训活动；开展讲座活动"),  # alike, not copies
        ("", ""),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "value", "repaired"),
    [
        ("5,900,000.00", "5900000.00", False),
        ("0", "0", False),
        ("1,280.50", "1280.50", False),
        ("１，２８０．５０", "1280.50", False),
        ("5,9OO,OOO.OO", "5900000.00", True),
        ("1,2oo.5o", "1200.50", True),
        ("1,000,000.00", "1000000.00", False),  # digit groups are not OCR repeats
        ("10,000,000.00", "10000000.00", False),
        ("100,100,100", "100100100", False),
        ("", None, False),
        ("  ", None, False),
    ],
)
def test_parse_amount(raw: str, value: str | None, repaired: bool) -> None:
    got, repairs = parse_amount(raw)
    assert got == value
    assert bool(repairs) is repaired


def test_parse_amount_rejects_text() -> None:
    with pytest.raises(ValueError):
        parse_amount("见附件")


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2024-01-01", "2024-01-01"),
        ("2026/1/1", "2026-01-01"),
        ("2026/12/31", "2026-12-31"),
        ("2024年1月1日", "2024-01-01"),
        ("2024.03.05", "2024-03-05"),
        ("２０２６/１/１", "2026-01-01"),
        ("待定", "待定"),  # not a date: kept for the checker to flag
        ("", None),
    ],
)
def test_parse_date(raw: str, iso: str | None) -> None:
    assert parse_date(raw) == iso


def test_squash() -> None:
    assert squash(" a b\n c ") == "abc"
