"""Every text path costs time linear in its input (issue 16): each is timed at n and 4n.

A quadratic path takes ~16x as long at 4n as at n, a linear one ~4x. These are ratios measured in
the same run, not timings against a clock, so a slow machine does not fail them; to ride out a
busy one, each size is timed a few times and the fastest run kept, n is grown until the small run
takes a few milliseconds, and a ratio over the bound is measured again before the test fails.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import pytest

from structurer.models import Chunk
from structurer.read.clean import clean_text
from structurer.read.layouts import read_grid
from structurer.rules import extract_form
from structurer.vocab import default_vocabulary

BOUND = 6.0  # linear is ~4, quadratic ~16
MIN_SECONDS = 0.002  # grow n until the small run takes this long: well above timer noise,
# small enough that the large input still fits the CPU caches (a cache miss is not quadratic)
MAX_N = 1 << 20


def rules(text: str) -> None:
    """The rules path of one form: its grid, then its record."""
    vocab = default_vocabulary()
    chunk = Chunk(index=1, year=2024, start_line=1, end_line=text.count("\n") + 1, text=text)
    extract_form(chunk, read_grid(text, vocab=vocab), vocab)


# name -> (input of size n, the path that reads it)
PATHS: dict[str, tuple[Callable[[int], Any], Callable[[Any], object]]] = {
    "clean: a run of spaces between non-CJK text": (lambda n: "a" + " " * n + "a", clean_text),
    "tables: a pipe row like a separator with spaces inside": (
        lambda n: "|--" + " " * n + "x|",
        read_grid,
    ),
    "tables: HTML cells whose attribute is never closed": (
        lambda n: "<table><tr>" + '<td colspan="2' * n,
        read_grid,
    ),
    "tables: HTML cells with a bare attribute value run on": (
        lambda n: "<table><tr>" + "<td b=" * n,
        read_grid,
    ),
    "tables: HTML end tags and comments never closed": (
        lambda n: "<table><tr><td>" + "</td <!-- x" * n,
        read_grid,
    ),
}


def _fastest(run: Callable[[Any], object], arg: Any, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        clean_text.cache_clear()  # cleaning is cached per cell text: time the work itself
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run(arg)
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


def _ratio(make: Callable[[int], Any], run: Callable[[Any], object]) -> tuple[int, float]:
    run(make(64))  # warm up: first calls load the vocabulary and compile patterns
    n = 64
    while n < MAX_N and _fastest(run, make(n), repeats=1) < MIN_SECONDS:
        n *= 2
    return n, _fastest(run, make(4 * n)) / _fastest(run, make(n))


@pytest.mark.parametrize("name", PATHS)
def test_time_grows_linearly(name: str) -> None:
    make, run = PATHS[name]
    ratios = []
    for _ in range(3):  # a busy machine can slow one run down; a quadratic path is always slow
        n, ratio = _ratio(make, run)
        ratios.append(round(ratio, 1))
        if ratio < BOUND:
            return
    pytest.fail(f"{name}: time x{ratios} for input x4 (n={n}); linear stays below x{BOUND}")
