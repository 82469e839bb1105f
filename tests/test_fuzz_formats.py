"""Fuzzing the structured input formats (issue 21), as tests/test_fuzz.py fuzzes the text ones:
seeded mutations of the PDF, XLSX, XLS, MinerU, Docling and Marker sources go through one
`structurer extract FOLDER` run, its address space capped. Whatever the damage: no traceback, no
reader out of memory, exit 0, 1 or 2, every file either read or named on stderr (nothing lost
silently), every line written valid against `structurer schema`.

Mutations: bytes flipped, cut, duplicated or inserted anywhere (every format); inside a
workbook, its XML parts damaged and re-zipped (hostile merges, spans, entities, huge numbers);
inside OCR JSON, values swapped for wrong types, deep nests and huge numbers. Seeded: a failure
names its file, `<format>-<seed>`, and the run is repeated file by file to find the one.
The suite runs a few per format; the long run is behind the `slow` marker, and
STRUCTURER_FUZZ_FORMATS=N runs N more per format with a fresh seed (printed on failure).
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_fuzz import VALIDATOR

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CLI = str(Path(sys.executable).with_name("structurer"))
SOURCES = {  # format -> sources to mutate
    "pdf": [FIXTURES / "gen-district-2026-pdf/source.pdf"],
    "xlsx": [FIXTURES / "gen-district-2026-xlsx/source.xlsx",
             FIXTURES / "gen-paddle-2025-xlsx-sheets/source.xlsx"],
    "xls": [FIXTURES / "gen-district-2026-xls/source.xls"],
    "mineru": [FIXTURES / "gen-shanghai-2024-mineru/source.json",
               FIXTURES / "gen-paddle-2025-mineru-middle/source.json",
               *sorted((FIXTURES / "ocr-shapes").glob("mineru-*/*.json"))],
    "docling": [FIXTURES / "gen-docling-2025-docling/source.json",
                *sorted((FIXTURES / "ocr-shapes").glob("docling-*/*.json"))],
    "marker": sorted((FIXTURES / "ocr-shapes").glob("marker-*/*.json")),
}  # fmt: skip
SUFFIX = {"pdf": ".pdf", "xlsx": ".xlsx", "xls": ".xls"}
PER_FORMAT = 3  # in the suite: a few seconds in one process
SLOW_PER_FORMAT = 40
MORE = int(os.environ.get("STRUCTURER_FUZZ_FORMATS") or 0)
ADDRESS_SPACE = 1536 << 20  # the interpreter and its libraries take ~0.6 GB of it


# --- bytes, any format ---


def flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 30)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def cut(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def splice(data: bytes, rng: random.Random) -> bytes:
    a, b = sorted(rng.randrange(len(data) + 1) for _ in range(2))
    at = rng.randrange(len(data) + 1)
    return data[:at] + data[a:b] * rng.choice((1, 2, 8)) + data[at:]


def insert(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(BYTE_TOKENS) * rng.choice((1, 3, 100)) + data[at:]


BYTE_TOKENS = [
    b"\0" * 64, b"\xff" * 16, b"stream\n", b"endobj", b" 0 R ", b"/Count 99999999", b"q Q ",
    b"(AAAAAAAA) Tj ", b"/Length -1", b"%%EOF", b"<< /Type /Pages /Kids [", b"PK\x03\x04",
    b'"', b"{", b"[", b"]", b"}", b"\\u0000",
]  # fmt: skip
BYTES: list[Callable[[bytes, random.Random], bytes]] = [flip, cut, splice, insert]

# --- inside a workbook ---

XML_TOKENS = [
    b'<mergeCell ref="A1:XFD1048576"/>', b'<mergeCells count="1"><mergeCell ref="B2:A1"/></mergeCells>',
    b'<c r="XFD1048576"><v>1</v></c>', b'<c r="A1" t="s"><v>99999</v></c>', b'<c r="A1" s="9999"/>',
    b'<c r="B3" t="n"><v>1e999</v></c>', b'<c t="d"><v>not a date</v></c>', b'<f>SUM(A1:A9)</f>',
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>', b"&b;",
    b'<row r="0">', b"</row>", b"<sheetData>", b'<numFmt numFmtId="200" formatCode="0.0%"/>',
]  # fmt: skip


def damage_workbook(data: bytes, rng: random.Random) -> bytes:
    """One XML part of the workbook damaged (a token in, a cut, flipped bytes), then re-zipped."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src:
            parts = {i.filename: src.read(i) for i in src.infolist()}
    except (zipfile.BadZipFile, ValueError):
        return flip(data, rng)
    name = rng.choice(sorted(parts))
    body = parts[name]
    at = rng.randrange(len(body) + 1)
    parts[name] = rng.choice(
        [body[:at] + rng.choice(XML_TOKENS) + body[at:], cut(body, rng), flip(body, rng)]
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for part, content in parts.items():
            dst.writestr(part, content)
    return buffer.getvalue()


# --- inside OCR JSON ---

WRONG = [5, -1, "ab", "", [], {}, None, True, 1e308, 10**30, "9" * 5000, [[[[[[]]]]]],
         {"$ref": 5}, {"cref": "#/texts/999999"}, "<td colspan='1000000000'>x</td>"]  # fmt: skip


def damage_json(data: bytes, rng: random.Random) -> bytes:
    """Some values of the parsed JSON swapped for wrong types, keys dropped, a list nested."""
    try:
        doc = json.loads(data)
    except ValueError:
        return flip(data, rng)
    nodes: list[Any] = []
    stack = [doc]
    while stack:  # every container, to pick from
        node = stack.pop()
        if isinstance(node, dict | list):
            nodes.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    for _ in range(rng.randint(1, 12)):
        node = rng.choice(nodes)
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            continue
        key = rng.choice(keys)
        action = rng.random()
        if action < 0.6:
            node[key] = rng.choice(WRONG)
        elif action < 0.8 and isinstance(node, dict):
            del node[key]
        else:
            node[key] = [node[key]] * rng.randint(1, 3)
    return json.dumps(doc, ensure_ascii=False).encode()


def mutate(fmt: str, source: Path, seed: int) -> bytes:
    rng = random.Random(seed)
    data = source.read_bytes()
    inner = {"xlsx": damage_workbook, "mineru": damage_json, "docling": damage_json,
             "marker": damage_json}.get(fmt)  # fmt: skip
    for _ in range(rng.randint(1, 3)):
        data = inner(data, rng) if inner and rng.random() < 0.7 else rng.choice(BYTES)(data, rng)
    return data


# --- the run ---


def write_cases(folder: Path, seeds: range) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt, sources in SOURCES.items():
        for k in seeds:
            path = folder / f"{fmt}-{k}{SUFFIX.get(fmt, '.json')}"
            path.write_bytes(mutate(fmt, sources[k % len(sources)], k))
            paths.append(path)
    return paths


def extract(inputs: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "extract", str(inputs), "-o", str(out), "-j", "1"],
        capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "COLUMNS": "300"}, preexec_fn=_capped,
    )  # fmt: skip


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def problems(done: subprocess.CompletedProcess[str], out: Path, names: list[str]) -> list[str]:
    found = []
    if done.returncode not in (0, 1, 2):
        found.append(f"exit {done.returncode}")
    for bad in ("Traceback", "out of memory", "MemoryError", "RecursionError"):
        if bad in done.stderr:
            found.append(f"{bad}: {done.stderr[-1500:]}")
    lines = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
    written = set()
    for n, line in enumerate(lines, 1):
        record = json.loads(line)
        written.add(record["source"]["document"])
        errors = sorted(VALIDATOR.iter_errors(record), key=str)
        if errors:
            found.append(f"line {n}: {errors[0].message} at {list(errors[0].path)}")
    silent = [n for n in names if n not in written and n not in done.stderr]
    if silent and done.returncode != 2:  # exit 2: nothing readable, one error line says why
        found.append(f"neither read nor named on stderr: {silent}")
    return found


def run_fuzz(folder: Path, seeds: range) -> None:
    paths = write_cases(folder / "in", seeds)
    done = extract(folder / "in", folder / "out.jsonl")
    found = problems(done, folder / "out.jsonl", [p.name for p in paths])
    if found:  # find the file: each alone (only on failure)
        culprits = [p.name for p in paths if problems(extract(p, folder / f"{p.stem}.jsonl"),
                                                      folder / f"{p.stem}.jsonl", [p.name])]  # fmt: skip
        raise AssertionError(f"{found[0]}\nfiles that fail alone: {culprits} (seeds {seeds})")


def test_mutated_format_inputs_never_crash(tmp_path: Path) -> None:
    run_fuzz(tmp_path, range(PER_FORMAT))


@pytest.mark.slow
def test_many_mutated_format_inputs_never_crash(tmp_path: Path) -> None:
    run_fuzz(tmp_path, range(PER_FORMAT, PER_FORMAT + SLOW_PER_FORMAT))


@pytest.mark.skipif(not MORE, reason="set STRUCTURER_FUZZ_FORMATS=N")
def test_more_mutated_format_inputs_with_a_fresh_seed(tmp_path: Path) -> None:
    base = random.SystemRandom().randrange(1 << 30)
    print(f"format fuzz base seed {base}")
    run_fuzz(tmp_path, range(base, base + MORE))
