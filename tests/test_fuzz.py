"""Fuzzing the fixture sources (issue 16): mutated copies of fixtures/*/source.* go through
`structurer extract` (and `split`). Whatever the damage: no traceback, exit code 0, 1 or 2, and
every line written is valid against `structurer schema` (checked with a JSON Schema validator,
so the published schema and the output cannot drift apart).

The mutations are seeded, so a failure names its case and reproduces. The suite runs a fixed,
small number (bounded time) spread over the text sources (.md and .txt: OCR markdown, web-page
and PDF text); STRUCTURER_FUZZ=N runs N more with a fresh seed, printed on failure:
    STRUCTURER_FUZZ=500 .venv/bin/python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from structurer.cli import app
from structurer.io import read_text

ROOT = Path(__file__).resolve().parents[1]
# The text sources (OCR markdown, web-page and PDF text): what a mutation can damage as text.
SOURCES = sorted(p for p in ROOT.glob("fixtures/*/source.*") if p.suffix in (".md", ".txt"))
CASES = 60  # spread over the sources in turn: a few seconds
MORE = int(os.environ.get("STRUCTURER_FUZZ") or 0)  # read now: the tests' fixture clears it
runner = CliRunner()

# What OCR, a bad converter or a hostile user puts into a document.
TOKENS = [
    "|", "||", "|---|---|", "<table>", "</table>", "<tr>", "<td>", "</td>",
    '<td colspan="1000000000">', '<td rowspan="99999">', '<td colspan="2', "<td b=", "<![x",
    "<!--", "<style>", "<p", "<br/>", "&amp;", "&#0;", "&#xD800;", "$\\geq", "$", "\\text{",
    "财政项目支出绩效目标申报表", "项目名称", "其中：", "其他资金", "年度资金申请总额", "产出指标",
    "满意度指标", "成本指标", "=", "≥", "(%)", "1,000,000.00", "9" * 400, "1e999999999", "NaN",
    "O.OO", "２０２４年", "\u3000", "\u00a0", "\u2028", "\u0085", "\u200b", "\u202e", "\ufeff",
    "\x00", "\x01", "\x0c", "\x1b", "\r", "\t", " " * 300, "甲" * 300, "\U0001f600", "e\u0301",
]  # fmt: skip


def _lines(text: str, rng: random.Random) -> tuple[list[str], int, int]:
    lines = text.split("\n")
    a = rng.randrange(len(lines))
    return lines, a, min(len(lines), a + rng.randint(1, 12))


def delete_lines(text: str, rng: random.Random) -> str:
    lines, a, b = _lines(text, rng)
    return "\n".join(lines[:a] + lines[b:])


def duplicate_lines(text: str, rng: random.Random) -> str:
    lines, a, b = _lines(text, rng)
    return "\n".join(lines[:b] + lines[a:b] + lines[b:])


def swap_lines(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def insert_tokens(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(TOKENS) * rng.choice((1, 1, 2, 50)) + text[at:]
    return text


def replace_chars(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 40)):
        chars[rng.randrange(len(chars))] = rng.choice("|-:O0.,，　(（)）<>/\\$%=≥ \n甲") or ""
    return "".join(chars)


def truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text) + 1)]


def pipes_to_html(text: str, rng: random.Random) -> str:
    lines, a, b = _lines(text, rng)
    rows = [
        "<tr>" + "".join(f"<td>{c}</td>" for c in ln.strip("|").split("|")) for ln in lines[a:b]
    ]
    return "\n".join([*lines[:a], "<table>", *rows, *(["</table>"] if rng.random() < 0.5 else []), *lines[b:]])  # fmt: skip


MUTATIONS: list[Callable[[str, random.Random], str]] = [
    delete_lines, duplicate_lines, swap_lines, insert_tokens, insert_tokens, replace_chars,
    truncate, pipes_to_html,
]  # fmt: skip


def encode(text: str, rng: random.Random) -> bytes:
    """The text as some converter saved it, now and then with its bytes damaged too."""
    encoding = rng.choice(["utf-8", "utf-8", "utf-8-sig", "gb18030", "utf-16"])
    data = text.encode(encoding, "replace" if encoding == "gb18030" else "surrogatepass")
    if rng.random() < 0.2:  # flipped or cut bytes: half a UTF-8 sequence, a bad BOM
        data = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data[: rng.randrange(len(data) + 1)] if rng.random() < 0.3 else data)
    return data


def mutate(source: Path, seed: int) -> bytes:
    rng = random.Random(seed)
    text, _ = read_text(source)
    for _ in range(rng.randint(1, 4)):
        text = rng.choice(MUTATIONS)(text, rng)
    return encode(text, rng)


VALIDATOR = Draft202012Validator(
    json.loads(runner.invoke(app, ["schema"]).stdout)  # exactly what `structurer schema` prints
)


def run_case(source: Path, seed: int, folder: Path) -> None:
    doc = folder / f"{source.parent.name}-{seed}.md"
    doc.write_bytes(mutate(source, seed))
    out = folder / f"{doc.stem}.jsonl"
    where = f"{source.parent.name} seed {seed} (tests/test_fuzz.py: mutate({source.name}, {seed}))"
    for args in (["extract", str(doc), "-o", str(out)], ["split", str(doc), "--json"]):
        result = runner.invoke(app, args)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{where}: {args[0]} crashed") from result.exception
        assert result.exit_code in (0, 1, 2), f"{where}: {args[0]} exit {result.exit_code}"
        assert "Traceback" not in result.output, f"{where}: {result.output[-2000:]}"
    if out.exists():
        for n, line in enumerate(out.read_text(encoding="utf-8").split("\n")[:-1], 1):
            errors = sorted(VALIDATOR.iter_errors(json.loads(line)), key=str)
            assert not errors, f"{where}: line {n}: {errors[0].message} at {list(errors[0].path)}"


@pytest.mark.parametrize("seed", range(0, CASES, 10), ids=lambda s: f"seeds {s}-{s + 9}")
def test_mutated_sources_never_crash_and_write_only_valid_records(
    seed: int, tmp_path: Path
) -> None:
    for k in range(seed, seed + 10):
        run_case(SOURCES[k % len(SOURCES)], k, tmp_path)


@pytest.mark.skipif(not MORE, reason="set STRUCTURER_FUZZ=N")
def test_more_mutations_with_a_fresh_seed(tmp_path: Path) -> None:
    base = random.SystemRandom().randrange(1 << 30)
    print(f"fuzz base seed {base}")
    for k in range(MORE):
        run_case(SOURCES[k % len(SOURCES)], base + k, tmp_path)
