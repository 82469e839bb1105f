"""A project named only in its title: the title wrapped over two lines starts its form, and a form
that prints no project-name label takes its name (and a coded unit) from the title, saying so."""

from __future__ import annotations

from structurer.read.chunker import split_forms
from structurer.read.layouts import chunk_grid
from structurer.rules import extract_form
from structurer.rules.title import title_parts
from structurer.vocab import resolve

TABLE = """
| 专项资金情况（万元） | 资金总额： | 57.00 |
|---|---|---|
| | 财政拨款： | 57.00 |
| 项目实施期目标 | 完成改造。 | |
| 一级指标 | 二级指标 | 三级指标 | 目标值 |
| 产出指标 | 数量指标 | 改造面积 | 100% |
"""


def forms(text: str):  # type: ignore[no-untyped-def]
    _, chunks = split_forms(text)
    return [extract_form(c, chunk_grid(c, None)) for c in chunks], chunks


def test_a_title_wrapped_inside_its_word_starts_its_form_on_its_first_line() -> None:
    text = (
        "301007_某市公安局机场分局_机场公安综\n合修缮改造项目绩效目标表\n" + TABLE + "\n2 3\n"
        "301008_某市公安局台商分局_科技兴警绩效\n目标表\n" + TABLE
    )
    records, chunks = forms(text)
    assert [c.text.split("\n")[0] for c in chunks] == [
        "301007_某市公安局机场分局_机场公安综",
        "301008_某市公安局台商分局_科技兴警绩效",
    ]
    assert [r.project_name for r in records] == ["机场公安综合修缮改造", "科技兴警"]
    assert [(r.implementing_unit, r.implementing_unit_code) for r in records] == [
        ("某市公安局机场分局", "301007"),
        ("某市公安局台商分局", "301008"),
    ]
    said = [f for f in records[0].findings if f.code == "extract.title_name"]
    assert said and said[0].severity == "info" and "project_name" in said[0].paths


def test_text_above_a_title_is_not_its_first_line() -> None:
    """A sentence ending the form before, a page number or a short heading stays where it is."""
    for above in ("偏离10%得8分；无偏离得满分", "2 3", "表14-1", "某县2023年部门预算公开"):
        _, chunks = forms(f"{above}\n园林绿化养护项目绩效目标表\n{TABLE}")
        assert chunks[0].text.split("\n")[0] == "园林绿化养护项目绩效目标表", above


def test_a_printed_project_name_label_wins_over_the_title() -> None:
    records, _ = forms("园林绿化养护项目绩效目标表\n| 项目名称 | 城区绿化 |\n|---|---|\n" + TABLE)
    assert records[0].project_name == "城区绿化"
    assert not [f for f in records[0].findings if f.code == "extract.title_name"]


def test_title_parts_keep_the_name_and_drop_the_tables_own_words() -> None:
    vocab = resolve(None)
    assert title_parts("预算14表-1促进教育事业均衡发展共同事权转移支付绩效目标表", vocab) == (
        "促进教育事业均衡发展共同事权转移支付",
        None,
        None,
    )
    assert title_parts("2018年城区绿化项目绩效目标申报表(2018年度)", vocab) == (
        "城区绿化",
        None,
        None,
    )
    for bare in (
        "财政项目支出绩效目标申报表",
        "2026年项目支出绩效目标表",
        "部门预算项目绩效目标表",
    ):
        assert title_parts(bare, vocab) is None, bare
