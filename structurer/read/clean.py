"""Undo OCR damage in cell text: HTML tags, LaTeX, full-width forms, stray spaces, repeats.

Every function here is pure text -> text. Cleaning never "corrects" a fact: it only removes what
the OCR added. Repairs that may change meaning (letter O read as zero) are reported to the caller.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from functools import lru_cache

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef“”‘’"
_PARA_TAG = re.compile(r"</?p\b[^>]*>|<br\s*/?>", re.I)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
# A run of spaces is matched from its first space only (the look-behind) and never given back
# (possessive): tried from every space of a long run, the old pattern took quadratic time.
_SPACE_NEAR_CJK = re.compile(
    rf"(?<=[{_CJK}])[ \t\u00a0]+|(?<![ \t\u00a0])[ \t\u00a0]++(?=[{_CJK}])"
)
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_REPEAT = re.compile(r"(.{4,80}?)\1+", re.S)
_DIGIT_GROUPS = re.compile(r"[\d,.，\s]+")
_LATEX_CMDS = {
    r"\geqslant": "≥",
    r"\leqslant": "≤",
    r"\geq": "≥",
    r"\leq": "≤",
    r"\ge": "≥",
    r"\le": "≤",
    r"\%": "%",
    r"\times": "×",
    r"\sim": "~",
    r"\cdot": "·",
    r"\pm": "±",
    r"\neq": "≠",
    r"\gt": ">",
    r"\lt": "<",
}
_LATEX_CMD = re.compile("|".join(re.escape(k) for k in sorted(_LATEX_CMDS, key=len, reverse=True)))
_LATEX_WRAP = re.compile(r"\\(?:text|mathrm|mathbf|rm|operatorname)\s*\{([^{}]*)\}")
_LATEX_MATH = re.compile(r"\$+([^$]*)\$+")

# Full-width digits and Latin letters are OCR artefacts everywhere; full-width signs and brackets
# are plain Chinese typography in names, so they are converted only where asked (targets, amounts).
_FW_ALNUM = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
_FW_ALNUM.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})
_FW_ALNUM.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})
# Signs that belong to a number or unit; Chinese sentence punctuation (，；：。、) stays as written.
_FW_SIGNS = dict(_FW_ALNUM)
_FW_SIGNS.update({ord(c): ord(c) - 0xFEE0 for c in "＝＞＜％（）＋－．／～＄＼｛｝"})
_FW_SIGNS[0x3000] = 0x20
# The double-bar and slanted forms of ≤ ≥ (`≦核定人数`) are the same signs.
_FW_SIGNS.update({ord(c): ord(plain) for c, plain in zip("≦≧⩽⩾", "≤≥≤≥", strict=True)})


def to_halfwidth(text: str, *, signs: bool = False) -> str:
    return text.translate(_FW_SIGNS if signs else _FW_ALNUM)


def latex_to_text(text: str) -> str:
    """`$\\geq 90.00\\%$` -> `≥ 90.00%`: MinerU writes comparison signs as inline math."""
    if "＄" in text or "＼" in text:  # the whole formula OCR'd full-width: ＄＼ｇｅｑ ９０＼％＄
        text = to_halfwidth(text, signs=True)
    if "$" not in text and "\\" not in text:
        return text

    def plain(m: re.Match[str]) -> str:
        body = _LATEX_WRAP.sub(r"\1", m.group(1))
        body = _LATEX_CMD.sub(lambda c: _LATEX_CMDS[c.group(0)], body)
        return body.replace("{", "").replace("}", "").replace("\\,", "").replace("~", " ")

    text = _LATEX_MATH.sub(plain, text)
    return _LATEX_CMD.sub(lambda c: _LATEX_CMDS[c.group(0)], text)


def strip_html(text: str) -> str:
    """Drop tags and comments; <p> and <br> become line breaks so paragraphs stay apart."""
    if "<" not in text and "&" not in text:
        return text
    text = without_comments(text)
    # Every tag ends at a `>`: past the last one there is none to find, and `<p` after `<p` with
    # no `>` anywhere made the paragraph pattern scan to the end from each (quadratic).
    end = text.rfind(">") + 1
    text = _PARA_TAG.sub("\n", text[:end]) + text[end:]
    return html.unescape(_ANY_TAG.sub("", text))


def without_comments(text: str) -> str:
    """`text` with every closed HTML comment (Docling's `<!-- image -->`, a page marker
    `<!-- 1 -->`) replaced by the line breaks inside it: markup, never text of a form. One pass:
    an opening with no close after it ends the search (it and the rest stay text), so a text
    full of `<!--` costs no more than its length."""
    out: list[str] = []
    at = 0
    while (start := text.find("<!--", at)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        out += [text[at:start], "\n" * text.count("\n", start, end)]
        at = end + 3
    return "".join(out) + text[at:] if out else text


@lru_cache(maxsize=8192)  # grounding collapses the same cells (labels, targets) in every form
def collapse_repeats(text: str) -> str:
    """Text the OCR printed several times in a row is kept once.

    When the copies disagree (`A-variant A A A`), the copy the OCR produced most often wins;
    otherwise runs of identical copies are collapsed where they stand.
    """
    if len(text) < 8:
        return text
    return _majority_copy(text) or _REPEAT.sub(_keep_once, text)


def _keep_once(m: re.Match[str]) -> str:
    # numbers repeat digit groups by nature (1,000,000.00): a unit of digits alone is no copy
    return m.group(0) if _DIGIT_GROUPS.fullmatch(m.group(1)) else m.group(1)


def _majority_copy(text: str) -> str | None:
    """If `text` is several copies that each start with the same characters, and one copy makes
    up more than half of them, return it."""
    for size in range(4, min(len(text) // 2, 40) + 1):
        head = text[:size]
        starts = [m.start() for m in re.finditer(re.escape(head), text)]
        if len(starts) < 2:
            return None  # a longer head cannot occur twice either
        copies = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
        # counted once (counting each distinct copy anew was quadratic in the number of copies)
        best, count = Counter(copies).most_common(1)[0]
        if _DIGIT_GROUPS.fullmatch(best):
            return None
        # the shared start must be a good part of the copy: distinct sentences that merely open
        # alike (`开展培训…；开展培训…`) are not OCR copies
        if size * 5 < len(best) * 2:
            continue
        if count >= 2 and count * 2 > len(copies):
            return best
    return None


@lru_cache(maxsize=65536)  # forms repeat most cells (labels, targets): clean each text once
def clean_text(raw: str | None) -> str:
    """Cell text as a clean record holds it; paragraphs are kept as lines."""
    if not raw:
        return ""
    text = to_halfwidth(latex_to_text(strip_html(raw)))
    lines = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", _SPACE_NEAR_CJK.sub("", line)).strip()
        if line:
            lines.append(collapse_repeats(line))
    return "\n".join(lines)


def squash(text: str | None) -> str:
    """Text with all whitespace removed: for matching labels and grounding values."""
    return "".join((text or "").split())
