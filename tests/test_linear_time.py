"""Every text path costs time linear in its input (issue 16): each is timed at n and 4n.

A quadratic path takes ~16x as long at 4n as at n, a linear one ~4x. These are ratios measured in
the same run, not timings against a clock, so a slow machine does not fail them. To ride out a
busy one (this suite shares 2 cores with other work): the clock is this process's CPU time, so
time spent waiting for a core is not counted; the two sizes are timed in turn, four times each,
and the fastest of each kept; a ratio over the bound is measured again before the test fails.
Each n is the smallest at which the quadratic version of that path was dominated by its
quadratic part (the n² term outweighed the linear one), so a regression shows as x10-16.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import pytest

from structurer.models import Chunk, Grid
from structurer.read.clean import clean_text
from structurer.read.layouts import read_grid
from structurer.rules import extract_form
from structurer.vocab import default_vocabulary

BOUND = 6.0  # linear is ~4, quadratic ~16


def form(text: str) -> tuple[Chunk, Grid]:
    """One form's chunk and grid, made before the clock starts: the rules are timed alone."""
    chunk = Chunk(index=1, year=2024, start_line=1, end_line=text.count("\n") + 1, text=text)
    return chunk, read_grid(text)


def rules(chunk_and_grid: tuple[Chunk, Grid]) -> None:
    extract_form(*chunk_and_grid, default_vocabulary())


# name -> (n, input of size n, the path that reads it)
PATHS: dict[str, tuple[int, Callable[[int], Any], Callable[[Any], object]]] = {
    "clean: a run of spaces between non-CJK text": (
        8000,
        lambda n: "a" + " " * n + "a",
        clean_text,
    ),
    "clean: text of many different copies of one opening": (
        500,
        lambda n: "".join(f"abcd{i}" for i in range(n)),
        clean_text,
    ),
    "clean: paragraph tags never closed": (
        2000,
        lambda n: "<p" * n,
        clean_text,
    ),
    "tables: a pipe row like a separator with spaces inside": (
        4000,
        lambda n: "|--" + " " * n + "x|",
        read_grid,
    ),
    "tables: HTML cells whose attribute is never closed": (
        1000,
        lambda n: "<table><tr>" + '<td colspan="2' * n,
        read_grid,
    ),
    "tables: HTML cells with a bare attribute value run on": (
        1000,
        lambda n: "<table><tr>" + "<td b=" * n,
        read_grid,
    ),
    "tables: HTML end tags and comments never closed": (
        1000,
        lambda n: "<table><tr><td>" + "</td <!-- x" * n,
        read_grid,
    ),
    "rules: a row of one label printed many times": (
        250,
        lambda n: form("|" + "|项目名称" * n + "|"),
        rules,
    ),
    "rules: a row of labels over a row of values": (
        500,
        lambda n: form("|项目名称|主管部门" * n + "|\n" + "|甲" * (2 * n) + "|"),
        rules,
    ),
    "rules: labels merged down a row (HTML rowspan)": (
        250,
        lambda n: form("<table><tr>" + '<td rowspan="2">项目名称</td>' * n + "<td>x</td></tr><tr>"),
        rules,
    ),
    "rules: many funding rows with a label of both columns": (
        1000,
        lambda n: form("\n".join(f"|项目资金总额|{i}|\n|其他资金|{i}|" for i in range(n))),
        rules,
    ),
    "rules: many indicator rows": (
        500,
        lambda n: form("\n".join(f"|产出指标|数量指标|名称{i}|={i}|" for i in range(n))),
        rules,
    ),
    "rules: a row of level names that are both level 1 and level 2": (
        1000,
        lambda n: form("|" + "|满意度指标" * n + "|"),
        rules,
    ),
    "rules: many goal texts": (
        1000,
        lambda n: form("|年度目标|\n" + "\n".join(f"|目标{i}|" for i in range(n))),
        rules,
    ),
}


def _cpu_seconds(run: Callable[[Any], object], arg: Any) -> float:
    clean_text.cache_clear()  # cleaning is cached per cell text: time the work itself
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        run(arg)
        return time.process_time() - start
    finally:
        gc.enable()


def _ratio(n: int, make: Callable[[int], Any], run: Callable[[Any], object]) -> float:
    small, large = make(n), make(4 * n)
    run(small)  # warm up: the first call loads the vocabulary and compiles patterns
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(4):
        times[0].append(_cpu_seconds(run, small))
        times[1].append(_cpu_seconds(run, large))
    return min(times[1]) / max(min(times[0]), 1e-6)


@pytest.mark.parametrize("name", PATHS)
def test_time_grows_linearly(name: str) -> None:
    n, make, run = PATHS[name]
    ratios = []
    for _ in range(3):  # a busy machine can slow one run down; a quadratic path is always slow
        ratio = _ratio(n, make, run)
        ratios.append(round(ratio, 1))
        if ratio < BOUND:
            return
    pytest.fail(f"{name}: time x{ratios} for input x4 (n={n}); linear stays below x{BOUND}")
