"""The indicator hierarchy (一级指标 -> 二级指标) and canonical level names.

OCR wraps labels (`服务对象 满意度指 标`) and forms drop the 指标 suffix (`社会效益`); both map to the
canonical name. Official variant names (环境效益指标, 社会公众或服务对象满意度指标) are kept as written.
"""

from __future__ import annotations

import re

HIERARCHY: dict[str, tuple[str, ...]] = {
    "产出指标": ("数量指标", "质量指标", "时效指标", "成本指标"),
    "成本指标": ("经济成本指标", "社会成本指标", "生态环境成本指标"),
    "效益指标": ("经济效益指标", "社会效益指标", "生态效益指标", "环境效益指标", "可持续影响指标"),
    "满意度指标": ("服务对象满意度指标", "社会公众或服务对象满意度指标", "满意度指标"),
}
LEVEL1_NAMES = tuple(HIERARCHY)
# 成本指标 is both a 2021+ level 1 and a legacy level 2 under 产出指标; 满意度指标 likewise appears
# as its own level 2 on some forms. Those two names are ambiguous and resolved by context.
AMBIGUOUS = frozenset(n for n in LEVEL1_NAMES if any(n in kids for kids in HIERARCHY.values()))
LEVEL2_PARENT: dict[str, str] = {
    kid: parent for parent, kids in HIERARCHY.items() for kid in kids if kid not in AMBIGUOUS
}
LEVEL2_PARENT["成本指标"] = "产出指标"
LEVEL2_PARENT["满意度指标"] = "满意度指标"

_SPACE = re.compile(r"\s+")
_ALIASES: dict[str, str] = {}
for _name in (*LEVEL1_NAMES, *LEVEL2_PARENT):
    _ALIASES[_name] = _name
    _ALIASES[_name.removesuffix("指标")] = _name  # 社会效益 -> 社会效益指标
_ALIASES["产出"] = "产出指标"
_ALIASES["效益"] = "效益指标"
_ALIASES["满意度"] = "满意度指标"
_ALIASES["服务对象满意度"] = "服务对象满意度指标"


def canonical_level(text: str | None) -> str | None:
    """The canonical level name a cell spells, or None if it is not a level name."""
    if not text:
        return None
    key = _SPACE.sub("", text).strip(":：")
    return _ALIASES.get(key)


def is_level1(name: str | None) -> bool:
    return name in HIERARCHY


def is_level2(name: str | None) -> bool:
    return name in LEVEL2_PARENT


def parent_of(level2: str | None) -> str | None:
    """Level 1 implied by a level 2 name (canonical), None if unknown."""
    return LEVEL2_PARENT.get(level2) if level2 else None


def belongs(level1: str | None, level2: str | None) -> bool:
    """Whether level2 is a child of level1 in the hierarchy."""
    return bool(level1 and level2 and level2 in HIERARCHY.get(level1, ()))
