"""Target values: cleaned text always; op/value/unit only for [op]number[unit]."""

import pytest

from structurer.read.values import parse_target


@pytest.mark.parametrize(
    ("raw", "target", "op", "value", "unit"),
    [
        ("=100.00(%)", "=100.00(%)", "=", "100.00", "%"),
        ("≥90.00 (%)", "≥90.00(%)", "≥", "90.00", "%"),
        # a unit with a bracketed alternative (issue 22: 台(套) was no unit, the gold warned)
        ("≥330台（套）", "≥330台(套)", "≥", "330", "台(套)"),
        # a number that is no measure keeps its text (not 12 of unit 月底到位)
        ("12月底到位", "12月底到位", None, None, None),
        ("95%以上", "95%以上", None, None, None),
        ("2021年全年", "2021年全年", None, None, None),  # a year, not 2021 of 年全年
        ("$\\geq 90.00\\%$", "≥90.00%", "≥", "90.00", "%"),
        ("≥55.00 (亿元)", "≥55.00(亿元)", "≥", "55.00", "亿元"),
        ("≤2.00(小时)", "≤2.00(小时)", "≤", "2.00", "小时"),
        ("985米", "985米", None, "985", "米"),
        ("≥４.30(元/人次)", "≥4.30(元/人次)", "≥", "4.30", "元/人次"),
        ("＝１００％", "=100%", "=", "100", "%"),
        ("＞95%", ">95%", ">", "95", "%"),
        ("<=3天", "≤3天", "≤", "3", "天"),
        ("$\\leq 2.00$", "≤2.00", "≤", "2.00", None),
        ("＄＼geq 10.00＄(场)", "≥10.00(场)", "≥", "10.00", "场"),  # LaTeX OCR'd full-width
        ("＄＼ｇｅｑ ８０．００＼％＄", "≥80.00%", "≥", "80.00", "%"),
        ("=1OO(%)", "=100(%)", "=", "100", "%"),  # letter O for zero
        ("有效实现", "有效实现", None, None, None),
        ("不少于10家紧密合作基地", "不少于10家紧密合作基地", None, None, None),
        ("平均每个项目不少于2件", "平均每个项目不少于2件", None, None, None),
        ("不少于3轮（次）", "不少于3轮(次)", None, None, None),
        ("提高，持续。", "提高，持续。", None, None, None),  # sentence punctuation stays
        ("", None, None, None, None),
    ],
)
def test_parse_target(raw, target, op, value, unit) -> None:  # type: ignore[no-untyped-def]
    assert tuple(parse_target(raw)) == (target, op, value, unit)
