"""The eval matrix: several configurations (backend × model × prompt × settings) scored on the
same cases, side by side, with intervals, paired tests and cost per correct field.

A matrix file is TOML: `[[row]]` tables, each a `MatrixRow` — the LLM configuration
(`LLMConfig`, the same model the CLI options and the config file fill) plus `name`, `backend`
and `batch`. Keys at the top of the file are shared by every row (a row's own keys win); keys a
row leaves out come from the environment and the config file, as for a command. Rows run one
after another on the same cases; LLM replies go through the one reply cache (a row repeated costs
nothing the second time). A row with `batch = true` sends its forms through the provider's batch
API first (`llm/batch.py`), then scores them as any other row.

The numbers (`matrix_dict`): per row the eval report's headline (fields, indicator F1, goals,
forms found, silent forms, unflagged wrong values, errors on the gold records), its LLM use
(calls, tokens, cost, cost per correct value, seconds per form), 95% intervals from the document
bootstrap (`stats.py`), real and synthetic cases apart, accuracy per field; then each pair of rows
compared on the same cases. Rendering (markdown, plots) is in `matrix_report.py`.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from ..errors import StructurerError
from ..llm.settings import LLMConfig, config_problem, load_config
from ..models import Backend
from . import stats
from .evaluate import Case, EvalReport, git_commit, load_source, run_case
from .scoring import GOALS, INDICATOR_PARTS, SCORED_FUNDING, SCORED_HEADER, CaseScore

ROW_KEYS = ("name", "backend", "batch")  # a row's own keys; the others are its LLMConfig
# Differences a reader may want to see, in accuracy points: the forms needed for each.
DIFFERENCES = (0.01, 0.02, 0.05)


class MatrixRow(LLMConfig):
    """One configuration of the matrix."""

    name: str = Field(min_length=1)
    backend: Literal["rules", "llm", "hybrid"]
    batch: bool = Field(False, description="Send the forms through the provider's batch API.")

    def config(self) -> dict[str, Any]:
        """The LLM keys this row sets itself (the others come from env and config file)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude=set(ROW_KEYS))


def load_matrix(path: str | Path) -> list[MatrixRow]:
    """The rows of a matrix file, validated; StructurerError naming the row and key at fault."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StructurerError(f"{path}: not a readable matrix file: {exc}") from None
    tables = data.pop("row", None)
    if not isinstance(tables, list) or not tables:
        raise StructurerError(f'{path}: no [[row]] table (each: name = "...", backend = "...")')
    rows = []
    for n, table in enumerate(tables, 1):
        try:
            rows.append(MatrixRow.model_validate({**data, **table}))
        except ValidationError as exc:
            raise StructurerError(config_problem(exc, f"{path}: row {n}")) from None
    names = [r.name for r in rows]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise StructurerError(f"{path}: two rows are named {dupes[0]!r}; names must differ")
    if bad := [r.name for r in rows if r.batch and r.backend != "llm"]:
        raise StructurerError(f"{path}: row {bad[0]!r}: batch = true needs backend = llm")
    return rows


def row_backend(row: MatrixRow, vocab: Any, **extra: Any) -> Backend:
    """The backend of a row: its own keys over the environment and the config file."""
    from ..backends import make_backend

    if row.backend == "rules":
        return make_backend("rules", vocab=vocab)
    config = load_config(row.config())
    return make_backend(row.backend, vocab=vocab, **config.model_dump(exclude_none=True), **extra)


def _llm(backend: Any) -> Any:
    """The LLM backend inside an llm or hybrid backend, None for rules."""
    return getattr(backend, "llm", None) or (backend if hasattr(backend, "usage") else None)


@dataclass
class RowResult:
    row: MatrixRow
    report: EvalReport
    seconds: float
    cost: float | None  # of the configuration, cache hits at what they cost when asked
    spent: float | None = None  # in this run (cache hits free); None without prices
    prompt: dict[str, str] | None = None  # the prompt's version and template sha (LLM rows)


def run_matrix(
    rows: Sequence[MatrixRow],
    cases: Sequence[Case],
    vocab: Any,
    *,
    work: Path,
    poll: float = 30.0,
    on_case: Callable[[MatrixRow, Case], None] | None = None,
) -> list[RowResult]:
    """Each row over every case, one row after another (`work`: the batch rows' files)."""
    backends = [row_backend(row, vocab) for row in rows]  # a row that cannot run fails first
    documents = {case.name: load_source(case, vocab) for case in cases}  # read once for all
    results = []
    for row, backend in zip(rows, backends, strict=True):
        started = time.perf_counter()
        if row.batch:
            prefetch_batch(backend, documents, vocab, work / row.name, poll)
        scores = []
        for case in cases:
            if on_case:
                on_case(row, case)
            scores.append(run_case(case, backend, documents[case.name]))
        llm = _llm(backend)
        report = EvalReport(backend.name, llm.settings.model if llm else None, scores)
        spent, cost = _costs(llm, report.overall())
        prompt = {"version": llm.prompt.version, "sha": llm.prompt.sha} if llm else None
        seconds = time.perf_counter() - started
        results.append(RowResult(row, report, seconds, cost, spent, prompt))
    return results


def _costs(llm: Any, total: CaseScore) -> tuple[float | None, float | None]:
    """(this run's spend, the configuration's cost): the second adds what the cache hits cost
    when they were asked, so a row's cost does not depend on the rows run before it."""
    if llm is None:
        return 0.0, 0.0
    spent = llm.usage.cost()
    used = total.llm
    cached = llm.settings.cost(int(used.get("cached_prompt_tokens", 0)),
                               int(used.get("cached_completion_tokens", 0)))  # fmt: skip
    return spent, (None if spent is None or cached is None else spent + cached)


def prefetch_batch(
    backend: Any, loaded: dict[str, Any], vocab: Any, folder: Path, poll: float
) -> None:
    """Send the forms the cache lacks as one provider batch, wait for it, and give the replies to
    the backend (it then re-asks live only the replies that fail validation)."""
    from ..llm.batch import build_lines, collect_replies, new_job, submit, wait_until_done
    from ..pipeline import plan_jobs

    documents = [d for d in loaded.values() if d is not None]
    lines, _ = build_lines(backend, plan_jobs(documents, vocab))
    if not lines:
        return
    folder.mkdir(parents=True, exist_ok=True)
    job = new_job(backend, documents, [], folder / "batch.jsonl")
    job.lines = len(lines)
    submit(backend.settings, job, folder / "batch.job.json", lines)
    wait_until_done(backend.settings, job, poll)
    replies, _ = collect_replies(backend.settings, job)
    backend.batch_replies = replies.ok


# --- estimating (--dry-run) ---


def estimate_matrix(rows: Sequence[MatrixRow], cases: Sequence[Case], vocab: Any) -> list[dict]:
    """Per row: forms, forms for the LLM, calls and cost expected / at most. Sends nothing."""
    from ..llm.estimate import estimate
    from ..pipeline import plan_jobs

    loaded = (load_source(case, vocab) for case in cases)
    jobs = plan_jobs([d for d in loaded if d is not None], vocab)
    out = []
    for row in rows:
        line: dict[str, Any] = {"name": row.name, "backend": row.backend, "forms": len(jobs)}
        if row.backend == "rules":
            out.append({**line, "to_llm": 0, "calls": [0, 0], "cost": [0.0, 0.0]})
            continue
        found = estimate(row_backend(row, vocab, need_key=False), jobs)
        tokens = (found.expected, found.at_most)
        line.update(to_llm=found.to_llm, cached=found.cached, calls=[t.calls for t in tokens],
                    cost=[found.cost(t) for t in tokens])  # fmt: skip
        out.append(line)
    return out


# --- the numbers ---


def matrix_dict(results: Sequence[RowResult], source: str = "") -> dict[str, Any]:
    """The matrix report as data: rows, then each pair of rows compared."""
    cases = results[0].report.cases if results else []
    counts = {r.row.name: stats.clusters(r.report.cases) for r in results}
    draws = stats.resamples(len(next(iter(counts.values()), [])))
    pairs = stats.compare_all(counts, draws)
    wanted = DIFFERENCES
    return {
        "date": results[0].report.date if results else "",
        "commit": git_commit(),
        "matrix": source,
        "cases": [
            {"name": c.name, "kind": c.kind, "layout": c.layout, "document": c.origin}
            for c in cases
        ],
        "documents": len(draws[0]) if draws else 0,
        "forms": sum(c.forms_expected for c in cases),
        "rows": [row_dict(r, counts[r.row.name], draws) for r in results],
        "pairs": [p.to_dict(wanted) for p in pairs],
    }


def row_dict(result: RowResult, counts: list[stats.Counts], draws: list[list[int]]) -> dict:
    report = result.report
    overall = report.overall()
    return {
        "name": result.row.name,
        "backend": result.row.backend,
        "model": report.model,
        "config": result.row.config() | {"batch": result.row.batch},
        "prompt": result.prompt,
        "headline": headline(overall, result.cost, result.seconds) | {"spent": result.spent},
        "intervals": stats.intervals(counts, draws),
        "groups": _groups(report),
        "fields": field_accuracy(overall),
        "report": report.to_dict(),
    }


def headline(total: CaseScore, cost: float | None, seconds: float) -> dict[str, Any]:
    """A row's numbers: the eval headline, LLM use, cost per correct value, seconds per form."""
    m = total.metrics()
    correct = total.fields_correct + sum(total.part_correct.values())
    forms = total.forms_expected or 1
    out = {k: m.get(k) for k in ("forms_found", "forms_expected", "forms_extra", "field_accuracy",
                                 "indicator_f1", "goal_mean", "silent_errors", "silent_error_rate",
                                 "values_wrong", "unflagged_wrong_values", "errors_on_gold")}  # fmt: skip
    out.update({k: m.get(k, 0) for k in ("calls", "prompt_tokens", "completion_tokens",
                                         "cache_hits")})  # fmt: skip
    out["cached_calls"] = int(total.llm.get("cached_calls", 0))
    out["values_correct"] = correct
    out["cost"] = cost
    out["cost_per_correct_value"] = cost / correct if cost is not None and correct else None
    out["seconds_per_form"] = round(seconds / forms, 4)
    return out


def _groups(report: EvalReport) -> dict[str, Any]:
    """Real and synthetic cases apart: their headline and their own intervals."""
    out = {}
    for kind in sorted({c.kind for c in report.cases}):
        mine = [c for c in report.cases if c.kind == kind]
        total = CaseScore(kind)
        for case in mine:
            total.add(case)
        groups = stats.clusters(mine)
        out[kind] = {
            "cases": len(mine),
            "documents": len(groups),
            "headline": headline(total, None, total.seconds),
            "intervals": stats.intervals(groups, stats.resamples(len(groups))),
        }
    return out


def field_accuracy(total: CaseScore) -> dict[str, float | None]:
    """Share right per field over every gold form (a missing form is wrong in every field);
    indicator parts over every gold indicator."""
    wrong = total.field_errors()
    missing = total.forms_expected - total.forms_found
    out: dict[str, float | None] = {}
    names = [*SCORED_HEADER, *(f"funding.{f}" for f in SCORED_FUNDING), *GOALS]
    for name in names:
        n = total.forms_expected
        out[name] = round(1 - (wrong.get(name, 0) + missing) / n, 4) if n else None
    for part in INDICATOR_PARTS:
        n = total.ind_gold
        out[f"indicators[].{part}"] = round(total.part_correct[part] / n, 4) if n else None
    return out


def matrix_history_line(data: dict[str, Any]) -> dict[str, Any]:
    """One history line per matrix run: each row's headline."""
    return {
        "date": data["date"],
        "commit": data["commit"],
        "matrix": data["matrix"],
        "cases": len(data["cases"]),
        "rows": [
            {"name": r["name"], "backend": r["backend"], "model": r["model"], **r["headline"]}
            for r in data["rows"]
        ],
    }
