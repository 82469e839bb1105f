"""Labels read by likeness (read/likeness.py): a printed label the vocabulary lacks, close to one
it lists, is read as its field where the grid agrees, and said in an info finding."""

from __future__ import annotations

from structurer.checks import check_record
from structurer.models import Chunk
from structurer.read import read_grid
from structurer.read.likeness import find_likeness
from structurer.read.structure import grid_parts
from structurer.rules import extract_form
from structurer.vocab import default_vocabulary

VOCAB = default_vocabulary()

FORM = """财政项目支出绩效目标申报表
（2024年度）
| 项目名称 | 孵化基地运营 | 项目性质 | 其他一次性项目 |
| 主管部门 | 上海市科学技术委员会 | 实施单位 | 上海市科技创业中心 |
| 项目资金（元） | 年度资金安排总额 | 5,900,000.00 | | |
| | 其中：当年财政拨款小计 | 5,900,000.00 | | |
| | 上年结转资金 | 0.00 | | |
| 项目绩效目标 | 年度总体目标 | 确保孵化基地安全稳定运营，服务入驻企业。 | | |
| 一级指标 | 二级指标 | 三级指标 | 年度指标值 |
| 产出指标 | 数量指标 | 服务企业数 | ≥100(家) |"""


def _read(text: str):  # type: ignore[no-untyped-def]
    chunk = Chunk(index=1, year=2024, start_line=1, end_line=text.count("\n") + 1, text=text)
    grid = read_grid(text, vocab=VOCAB)
    return extract_form(chunk, grid, VOCAB), grid


def test_labels_like_known_ones_are_read_and_said() -> None:
    record, grid = _read(FORM)
    assert record.funding.annual_total == "5900000.00"  # 年度资金安排总额, like 年度资金申请总额
    assert record.funding.current_appropriation == "5900000.00"  # <label>小计
    notes = {
        f.values["label"]: f.paths for f in record.findings if f.code == "extract.label_likeness"
    }
    assert notes == {
        "年度资金安排总额": ["funding.annual_total"],
        "其中：当年财政拨款小计": ["funding.current_appropriation"],
    }
    assert all(f.severity == "info" for f in record.findings if f.code == "extract.label_likeness")
    # the checker binds the values under the same labels: no accusation of a right value
    checked = check_record(record, source_text=FORM, vocab=VOCAB, grid=grid)
    assert not [f for f in checked if f.severity == "error"]


def test_no_likeness_where_the_grid_disagrees_or_the_field_has_its_own_label() -> None:
    text = FORM.replace("| 年度资金安排总额 | 5,900,000.00 |", "| 年度资金安排总额 | 见附件 |")
    found = {x.text for x in find_likeness(read_grid(text, vocab=VOCAB).rows[:6], VOCAB)}
    assert "年度资金安排总额" not in found  # text where an amount should stand
    text = FORM.replace("| 上年结转资金 | 0.00 |", "| 年度资金总额 | 0.00 |")
    grid = read_grid(text, vocab=VOCAB)
    found = {x.field for x in grid_parts(grid, VOCAB).likeness}
    assert "funding.annual_total" not in found  # the form prints the field's own label


def test_a_value_is_not_read_as_a_label() -> None:
    rows = read_grid(FORM, vocab=VOCAB).rows
    texts = {x.text for x in find_likeness(rows[:6], VOCAB)}
    assert not texts & {"孵化基地运营", "上海市科学技术委员会", "其他一次性项目"}
