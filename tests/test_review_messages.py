"""One message table (review/messages.toml) for every finding the code base can emit, in Chinese
and English; the review page renders from it (issue 20, item 3)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from conftest import readable_case

from structurer.models import Finding
from structurer.review.messages import LANGS, finding_message, messages
from structurer.vocab import default_vocabulary

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "structurer"
CODE = re.compile(r"^[a-z]+\.[a-z_0-9]+$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _code_params() -> dict[str, set[int]]:
    """Every function of the package that takes a `code`: its name -> the argument's position."""
    out: dict[str, set[int]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.args]
                if "code" in names:
                    out.setdefault(node.name, set()).add(names.index("code"))
    return out


def _constant(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
        return node.value
    return None


def emitted_codes() -> set[str]:
    """The finding codes written in the package: `code=` keywords, the `code` argument of any
    function that takes one (finding(), _identity(), ...), and `CODE = ...` constants."""
    params = _code_params()
    codes: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
                for at in params.get(name, set()):
                    if at < len(node.args):
                        codes.add(_constant(node.args[at]) or "")
                codes.update(_constant(k.value) or "" for k in node.keywords if k.arg == "code")
            elif isinstance(node, ast.Assign):
                named = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if any("CODE" in n or n == "CORRECTED" for n in named):
                    codes.add(_constant(node.value) or "")
    return codes - {""}


def test_the_collector_sees_the_codes_each_kind_of_site_writes() -> None:
    found = emitted_codes()
    # finding(sev, code, ...), _identity(..., code, ...), Finding(code=...), CODE = ...
    assert {"indicator.none", "funding.annual_identity", "extract.failed", "llm.failed",
            "hybrid.disagreement", "review.corrected", "extract.unread"} <= found  # fmt: skip
    assert "funding.annual_total" not in found  # field paths are not codes


def test_every_entry_has_both_languages() -> None:
    assert messages().problems() == []
    assert set(LANGS) == {"zh", "en"}


def test_every_code_the_code_base_emits_has_a_message() -> None:
    missing = sorted(emitted_codes() - set(messages().findings))
    assert missing == [], f"add to structurer/review/messages.toml: {missing}"


def test_no_message_for_a_code_nothing_emits() -> None:
    assert sorted(set(messages().findings) - emitted_codes()) == []


def _fixture_findings() -> list[Finding]:
    """Every finding the checker raises on the fixtures' gold records, on the faults planted in
    them (eval/planted_faults.py) and on the document faults, as `extract` would check them."""
    sys.path.insert(0, str(ROOT / "eval"))
    import planted_faults as pf

    from structurer.checks import check_document

    found: list[Finding] = []
    for folder in sorted(p for p in (ROOT / "fixtures").iterdir() if p.is_dir()):
        loaded = pf.load_fixture(folder)
        if loaded is None:
            continue
        doc, gold = loaded
        found += [f for r in gold for f in pf._check(r, doc)]
        found += check_document(gold[:-1], doc) + check_document([gold[0], gold[0]], doc)
        if not readable_case(folder):
            continue
        for fault in (*pf.FAULTS, *pf.MISLABELLINGS):
            for record in gold[:2]:
                copy = record.model_copy(deep=True)
                if fault.plant(copy) is not None:
                    found += pf._check(copy, doc)
    return found


@pytest.fixture(scope="module")
def raised() -> list[Finding]:
    return _fixture_findings()


def test_the_fixtures_and_planted_faults_raise_only_codes_in_the_table(raised) -> None:
    assert len({f.code for f in raised}) >= 15
    assert sorted({f.code for f in raised} - set(messages().findings)) == []


def test_every_raised_finding_renders_in_both_languages_from_its_values(raised) -> None:
    vocab = default_vocabulary()
    seen: dict[str, Finding] = {}
    for f in raised:
        seen.setdefault(f"{f.code}:{sorted(f.values)}:{len(f.paths)}", f)
    for f in seen.values():
        zh, en = finding_message(f, "zh", vocab), finding_message(f, "en", vocab)
        assert zh != f.message and CJK.search(zh), (f.code, f.values, zh)  # not the fallback
        assert "{" not in zh and "{" not in en, (f.code, zh, en)


def test_a_finding_names_its_fields_by_their_labels_in_chinese() -> None:
    f = Finding(
        severity="error",
        code="funding.annual_identity",
        message="…",
        paths=["funding.annual_total", "funding.current_appropriation"],
        values={"left": "5800000.00", "right": "5900000.00", "difference": "-100000.00"},
    )
    vocab = default_vocabulary()
    zh = finding_message(f, "zh", vocab)
    assert zh.startswith(vocab.display("funding.annual_total") + " 5800000.00")
    assert "≠" not in zh and "sum" not in zh  # not the English message
    assert finding_message(f, "en", vocab).startswith("funding.annual_total 5800000.00 ≠")
    target = Finding(
        severity="warning", code="indicator.missing_target", message="…",
        paths=["indicators[14].target"],
    )  # fmt: skip
    assert "第15项指标" in finding_message(target, "zh", vocab)


def test_an_unknown_code_or_missing_value_falls_back_to_the_records_message() -> None:
    odd = Finding(severity="error", code="nobody.knows", message="as written")
    assert finding_message(odd, "zh") == "as written"
    short = Finding(severity="error", code="funding.annual_identity", message="as written")
    assert finding_message(short, "zh") == "as written"  # no left/right in its values
