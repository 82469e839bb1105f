"""The shape of the package: one-way imports between stages, one vocabulary, a complete wheel."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from structurer.vocab import default_vocabulary

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "structurer"


def test_import_contracts_hold():
    """pyproject's [tool.importlinter] layers: reading and the vocabulary import neither rules,
    llm nor cli; nothing imports cli; every stage imports only the stages below it."""
    run = subprocess.run(
        [sys.executable, "-m", "importlinter.cli", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def _spellings() -> set[str]:
    spec = default_vocabulary().spec
    words = {*spec.titles.forms, *spec.periods.labels}
    words.update(w for labels in spec.fields.values() for w in labels)
    words.update(w for labels in spec.indicator_columns.values() for w in labels)
    words.update(spec.levels)
    words.update(w for kids in spec.levels.values() for w in kids)
    return {w for w in words if len(w) >= 4}  # shorter words (指标, 元) occur in any prose


def test_every_label_spelling_lives_only_in_the_vocabulary():
    sources = [
        p
        for p in PACKAGE.rglob("*")
        if p.suffix in (".py", ".html", ".js") and "__pycache__" not in p.parts
    ]
    texts = {p: p.read_text(encoding="utf-8") for p in sources}
    spelled = {
        word: sorted(str(p.relative_to(ROOT)) for p, t in texts.items() if word in t)
        for word in _spellings()
    }
    assert {w: files for w, files in spelled.items() if files} == {}


def test_every_package_folder_is_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
