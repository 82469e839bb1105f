"""`structurer eval --matrix`: configurations side by side on the same cases, proven on stand-ins
of known quality (tests/fake_openai_server.StandIn: each asked value wrong with probability p)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, read_jsonl
from fake_openai_server import FakeOpenAI, StandIn, by_model
from typer.testing import CliRunner

from structurer.cli import app
from structurer.errors import StructurerError
from structurer.quality.evaluate import discover_cases, load_case
from structurer.quality.matrix import MatrixRow, load_matrix, matrix_dict, run_matrix
from structurer.vocab import load_vocabulary

runner = CliRunner()
# Forms whose grid never shows the project name as a cell: the stand-in cannot tell which gold
# record to answer with, so its quality there would not be the one it was built with.
UNANSWERABLE = {"real-chongqing-2026-listtable", "real-sichuan-nodate-spacerows-ganzi",
                "real-central-2026-pdftext"}  # fmt: skip
USAGE = {"good": (1000, 200), "poor": (800, 200)}  # tokens billed per call
P = {"good": 0.02, "poor": 0.08}
PRICES = (0.15, 0.60)  # per million prompt / completion tokens
ASKED, SCORED = 15, 16  # header and funding values the model gives, of the fields scored (year)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The fixtures the stand-ins can answer, as a --cases folder; one server with both models."""
    root = tmp_path_factory.mktemp("matrix")
    cases = root / "cases"
    cases.mkdir()
    folders = [p for p in discover_cases(ROOT / "fixtures") if p.name not in UNANSWERABLE]
    for folder in folders:
        (cases / folder.name).symlink_to(folder)
    gold = [r for f in folders for r in read_jsonl(f / "gold.jsonl")]
    models = {m: StandIn(gold, P[m], seed, USAGE[m]) for seed, m in enumerate(P, 1)}
    with FakeOpenAI(by_model(models)) as server:
        yield {"root": root, "cases": cases, "server": server, "cache": root / "cache"}


def matrix_file(world: dict, rows: str) -> Path:
    path = world["root"] / "matrix.toml"
    shared = (f'base_url = "{world["server"].url}"\ncache_dir = "{world["cache"]}"\n'
              f"max_reasks = 0\nconcurrency = 8\nprice_in = {PRICES[0]}\n"
              f"price_out = {PRICES[1]}\n")  # fmt: skip
    path.write_text(shared + rows, encoding="utf-8")
    return path


FOUR_ROWS = """
[[row]]
name = "rules"
backend = "rules"

[[row]]
name = "hybrid-good"
backend = "hybrid"
model = "good"

[[row]]
name = "hybrid-poor"
backend = "hybrid"
model = "poor"

[[row]]
name = "llm-good"
backend = "llm"
model = "good"
"""


def expected_fields(p: float) -> float:
    return 1 - p * ASKED / SCORED


def run(*args: object):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def test_four_rows_side_by_side_with_intervals_verdicts_cost_and_plots(world) -> None:
    path, report, history = matrix_file(world, FOUR_ROWS), world["root"] / "r1", world["root"] / "h"
    sent = len(world["server"].requests)
    dry = run("eval", "--matrix", path, "--cases", world["cases"], "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "nothing sent" in dry.output and "llm-good" in dry.output
    assert len(world["server"].requests) == sent  # a dry run sends nothing

    result = run("eval", "--matrix", path, "--cases", world["cases"], "--report", report,
                 "--history", history)  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    rows = {r["name"]: r for r in data["rows"]}
    assert list(rows) == ["rules", "hybrid-good", "hybrid-poor", "llm-good"]
    for row in rows.values():
        low, high = row["intervals"]["field_accuracy"]
        assert low <= row["headline"]["field_accuracy"] <= high
        assert set(row["groups"]) == {"real", "synthetic"}
        assert {"silent_errors", "unflagged_wrong_values", "errors_on_gold"} <= set(row["headline"])
    good = rows["llm-good"]["headline"]
    low, high = rows["llm-good"]["intervals"]["field_accuracy"]
    assert low <= expected_fields(P["good"]) <= high
    per_call = (USAGE["good"][0] * PRICES[0] + USAGE["good"][1] * PRICES[1]) / 1e6
    # the cost of the configuration: replies hybrid-good left in the shared cache count too
    # one call per form read (a form the chunker missed is not asked)
    asked = good["forms_found"] + good["forms_extra"]
    assert good["cached_calls"] and good["calls"] + good["cached_calls"] == asked
    assert good["cost"] == pytest.approx((good["calls"] + good["cached_calls"]) * per_call)
    assert good["spent"] == pytest.approx(good["calls"] * per_call)
    assert good["cost_per_correct_value"] == pytest.approx(good["cost"] / good["values_correct"])
    assert rows["rules"]["headline"]["cost"] == 0 and rows["rules"]["headline"]["calls"] == 0
    assert 0 < rows["hybrid-good"]["headline"]["calls"] < good["calls"]  # flagged forms only
    verdicts = {(p["a"], p["b"], p["metric"]): p["verdict"] for p in data["pairs"]}
    assert set(verdicts.values()) <= {"better", "worse", "no difference at this n"}
    assert len(verdicts) == 6 * 4  # every pair of rows on every metric
    markdown = (report / "report.md").read_text(encoding="utf-8")
    from structurer.llm.prompt import load_prompt

    current = load_prompt()
    assert rows["llm-good"]["prompt"] == {"version": current.version, "sha": current.sha}
    for part in ("## Configurations", f"{current.version} ({current.sha})", "## Paired comparisons", "forms needed", "## Real and synthetic apart",
                 "## Accuracy per field", "fields.png", "frontier.png", "errors on gold"):  # fmt: skip
        assert part in markdown, part
    assert (report / "fields.png").stat().st_size and (report / "frontier.png").stat().st_size
    [line] = read_jsonl(history)
    assert [r["name"] for r in line["rows"]] == list(rows)

    # again, from the shared cache, compared with the first run: nothing sent, nothing changed
    sent = len(world["server"].requests)
    again = run("eval", "--matrix", path, "--cases", world["cases"], "--report",
                world["root"] / "r2", "--no-history", "--compare", report / "report.json")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert len(world["server"].requests) == sent
    second = json.loads((world["root"] / "r2" / "report.json").read_text())
    assert not [c for c in second["changes"] if c["worse"]]
    costs = [[r["headline"]["cost"] for r in d["rows"]] for d in (data, second)]
    assert costs[0] == pytest.approx(costs[1])  # all from the cache, the same cost


def test_stand_ins_of_known_quality_get_the_right_verdicts(world) -> None:
    """p = 2% against p = 8% is a difference the fixtures' n shows; the same stand-in twice is
    none; each row's interval covers its stand-in's accuracy."""
    rows = [
        MatrixRow(name="llm-good", backend="llm", model="good", **_shared(world)),
        MatrixRow(name="llm-poor", backend="llm", model="poor", **_shared(world)),
        MatrixRow(name="llm-good-again", backend="llm", model="good", **_shared(world)),
    ]
    cases = [load_case(p) for p in sorted(world["cases"].iterdir())]
    results = run_matrix(rows, cases, load_vocabulary(), work=world["root"] / "w")
    data = matrix_dict(results)
    pairs = {(p["a"], p["b"], p["metric"]): p for p in data["pairs"]}
    for metric in ("field_accuracy", "indicator_f1"):
        assert pairs[("llm-good", "llm-poor", metric)]["verdict"] == "better"
        assert pairs[("llm-poor", "llm-good-again", metric)]["verdict"] == "worse"
        same = pairs[("llm-good", "llm-good-again", metric)]
        assert same["verdict"] == "no difference at this n" and same["difference"] == 0
    for row in data["rows"]:
        low, high = row["intervals"]["field_accuracy"]
        assert low <= expected_fields(P[row["model"]]) <= high, row["name"]
    needed = pairs[("llm-good", "llm-poor", "field_accuracy")]["forms_needed"]
    assert needed["0.01"] > needed["0.02"] > needed["0.05"] > 0


def _shared(world: dict) -> dict:
    return {"base_url": world["server"].url, "cache_dir": world["cache"], "max_reasks": 0,
            "concurrency": 8, "price_in": PRICES[0], "price_out": PRICES[1]}  # fmt: skip


def test_a_batch_row_sends_its_forms_through_the_batch_api(tmp_path: Path) -> None:
    case = ROOT / "fixtures" / "synthetic-paddle-2025"
    gold = read_jsonl(case / "gold.jsonl")
    with FakeOpenAI(by_model({"m": StandIn(gold)})) as server:
        rows = [MatrixRow(name="batched", backend="llm", model="m", batch=True,
                          base_url=server.url, no_cache=True, max_reasks=0)]  # fmt: skip
        results = run_matrix(rows, [load_case(case)], load_vocabulary(), work=tmp_path, poll=0.05)
    assert len(server.batch_bodies) == len(gold) and not server.requests  # all from the batch
    assert results[0].report.overall().metrics()["field_accuracy"] == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no [[row]] table"),
        ('[[row]]\nname = "a"\n', "row 1: backend"),
        ('[[row]]\nname = "a"\nbackend = "rules"\nmodle = "x"\n', "row 1: modle: not an LLM"),
        ('[[row]]\nname = "a"\nbackend = "rules"\n[[row]]\nname = "a"\nbackend = "llm"\n',
         "two rows are named 'a'"),
        ('[[row]]\nname = "a"\nbackend = "hybrid"\nbatch = true\n', "batch = true needs"),
    ],
)  # fmt: skip
def test_a_bad_matrix_file_names_the_row_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StructurerError, match=message.replace("[", r"\[")):
        load_matrix(path)


def test_a_one_row_matrix_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[[row]]\nname = "rules"\nbackend = "rules"\n', encoding="utf-8")
    [row] = load_matrix(path)
    assert (row.name, row.backend, row.config()) == ("rules", "rules", {})


def _readme_toml(first_line: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```toml\n")[1:]]
    [block] = [b for b in blocks if b.startswith(first_line)]
    return block


def test_the_readmes_matrix_and_config_examples_are_valid(tmp_path: Path) -> None:
    from structurer.llm.settings import load_config

    (tmp_path / "matrix.toml").write_text(_readme_toml("# matrix.toml"), encoding="utf-8")
    rows = load_matrix(tmp_path / "matrix.toml")
    assert [r.backend for r in rows] == ["rules", "hybrid", "llm", "llm", "llm"]
    assert rows[2].batch and rows[4].prompt == "extract-v2" and rows[1].max_reasks == 1
    (tmp_path / "structurer.toml").write_text(_readme_toml("# structurer.toml"), encoding="utf-8")
    assert load_config(environ={}, cwd=tmp_path).model == "gpt-4o-mini"
