"""The vocabulary learns from each answer: a new template read by hybrid costs LLM calls on its
first document; `structurer vocab learn` keeps the label spellings the answers were found under;
the template's other documents are then read by rules alone, with no call and the same records.

The template here is generated (a renamed variant of the seed's layout, two documents of it with
their own values), so the test knows both documents' true records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAI, gold_responder
from typer.testing import CliRunner

from structurer.backends import make_backend
from structurer.cli import app
from structurer.pipeline import extract_documents
from structurer.read import load_document
from structurer.vocab import load_vocabulary

runner = CliRunner()

# Spellings no vocabulary lists and none is like (a template from a province never seen).
TEMPLATE = """财政项目支出绩效目标申报表
（2025年度）
| 工程名称 | {name} | 项目性质 | 其他经常性项目 |
| 归口单位 | {dept} | 实施单位 | {unit} |
| 项目资金（元） | 本年预算安排 | {total} | | |
| | 其中：本级拨付 | {fiscal} | | |
| | 上年结转资金 | 0.00 | | |
| 项目绩效目标 | 年度总体目标 | {goal} | | |
| 一级指标 | 二级指标 | 三级指标 | 年度指标值 |
| 产出指标 | 数量指标 | {ind} | ≥{n}(次) |
| 满意度指标 | 服务对象满意度指标 | 服务对象满意度 | ≥90(%) |"""

FORMS = {
    "a": dict(name="乡村道路养护", dept="某县交通运输局", unit="某县公路管理站", total="1,200,000.00",
              fiscal="1,200,000.00", goal="完成全县乡村道路日常养护，保障道路安全畅通。",
              ind="道路养护次数", n="12"),
    "b": dict(name="农村饮水安全巡查", dept="某县水利局", unit="某县水务服务中心", total="350,000.00",
              fiscal="350,000.00", goal="按月巡查全县农村饮水工程，及时处置安全隐患。",
              ind="巡查次数", n="24"),
}  # fmt: skip


def _gold(v: dict[str, str]) -> dict:
    amount = v["total"].replace(",", "")
    return {
        "form_index": 1, "year": 2025, "project_name": v["name"], "project_nature": "其他经常性项目",
        "project_category": None, "department": v["dept"], "implementing_unit": v["unit"],
        "start_date": None, "end_date": None,
        "funding": {"unit": "元", "project_total": None, "project_fiscal": None,
                    "project_other": None, "annual_total": amount,
                    "current_appropriation": v["fiscal"].replace(",", ""),
                    "prior_carryover": "0.00", "annual_other": None},
        "overall_goal": None, "annual_goal": v["goal"],
        "indicators": [
            {"level1": "产出指标", "level2": "数量指标", "name": v["ind"], "target": f"≥{v['n']}(次)"},
            {"level1": "满意度指标", "level2": "服务对象满意度指标", "name": "服务对象满意度",
             "target": "≥90(%)"},
        ],
    }  # fmt: skip


@pytest.fixture
def template(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for key, values in FORMS.items():
        paths[key] = tmp_path / f"{key}.md"
        paths[key].write_text(TEMPLATE.format(**values), encoding="utf-8")
    return paths


def _hybrid(source: Path, server: FakeOpenAI, vocab_files: list[Path] = ()) -> list:  # type: ignore[assignment]
    vocab = load_vocabulary(vocab_files)
    backend = make_backend("hybrid", vocab=vocab, base_url=server.url, model="m", no_cache=True)
    return extract_documents([load_document(source, vocab)], backend).records


def _values(record) -> dict:  # type: ignore[no-untyped-def]
    data = record.model_dump(include={"project_name", "department", "implementing_unit",
                                      "funding", "annual_goal", "indicators"})  # fmt: skip
    for ind in data["indicators"]:
        for k in ("op", "value", "unit"):
            ind.pop(k)
    return data


def _want(key: str) -> dict:
    gold = _gold(FORMS[key])
    return {k: gold[k] for k in ("project_name", "department", "implementing_unit", "funding",
                                 "annual_goal", "indicators")}  # fmt: skip


def test_a_template_learned_from_one_answer_is_read_by_rules_alone(template, tmp_path) -> None:
    golds = [_gold(v) for v in FORMS.values()]
    with FakeOpenAI(gold_responder(golds)) as server:
        first = _hybrid(template["a"], server)
        calls_first = len(server.requests)
    assert calls_first >= 1  # the rules could not read the unseen labels
    assert _values(first[0]) == _want("a")  # hybrid kept the model's answer where rules had none
    records = tmp_path / "a.jsonl"
    records.write_text(first[0].model_dump_json() + "\n", encoding="utf-8")

    learned = tmp_path / "learned.toml"
    result = runner.invoke(app, ["vocab", "learn", str(records), "-o", str(learned)])
    assert result.exit_code == 0, result.output
    text = learned.read_text(encoding="utf-8")
    for label in ("工程名称", "归口单位", "本年预算安排", "其中：本级拨付"):
        assert label in text, text  # each with the form it came from
    assert "a.md form 1" in text

    with FakeOpenAI(gold_responder(golds)) as server:
        before = _hybrid(template["b"], server)
        calls_before = len(server.requests)
    with FakeOpenAI(gold_responder(golds)) as server:
        after = _hybrid(template["b"], server, [learned])
        calls_after = len(server.requests)
    assert calls_before >= 1 and calls_after == 0  # the other document: rules alone
    assert _values(after[0]) == _values(before[0]) == _want("b")


def test_a_learned_vocabulary_changes_no_fixture_record(template, tmp_path) -> None:
    golds = [_gold(FORMS["a"])]
    with FakeOpenAI(gold_responder(golds)) as server:
        first = _hybrid(template["a"], server)
    records = tmp_path / "a.jsonl"
    records.write_text(first[0].model_dump_json() + "\n", encoding="utf-8")
    learned = tmp_path / "learned.toml"
    assert runner.invoke(app, ["vocab", "learn", str(records), "-o", str(learned)]).exit_code == 0
    root = Path(__file__).resolve().parents[1] / "fixtures"
    for case in (
        "shanghai-2024",
        "real-hunan-2018-webtext-nanyue-a",
        "real-tianjin-2023-piperows-hebeicourt",
    ):
        source = next(p for p in sorted((root / case).glob("source.*")))
        rows = []
        for files in ((), (learned,)):
            vocab = load_vocabulary(files)
            got = extract_documents(
                [load_document(source, vocab)], make_backend("rules", vocab=vocab)
            )
            rows.append([json.loads(r.model_dump_json(exclude={"meta"})) for r in got.records])
        assert rows[0] == rows[1], case


def test_a_template_familys_levels_are_not_learned_into_the_default_hierarchy() -> None:
    from structurer.models import FormRecord
    from structurer.review.learn import learn
    from structurer.vocab import default_vocabulary

    case = Path(__file__).resolve().parents[1] / "fixtures" / "real-anhui-2023-cellperline-shucheng"
    document = load_document(case / "source.txt")
    gold = json.loads((case / "gold.jsonl").read_text(encoding="utf-8").splitlines()[0])
    record = FormRecord.model_validate(gold)
    record.source = document.chunks[0].source_ref()
    record.source.document = document.key
    found = learn([record], {document.key: document}, default_vocabulary())
    assert not found.levels and not [x for x in found.left_out if "level" in x]
