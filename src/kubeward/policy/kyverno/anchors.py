"""Kyverno anchors on pattern keys: `(k)`, `=(k)`, `X(k)`, `^(k)`, `<(k)`, `+(k)`.

Port of kyverno `pkg/engine/anchor/anchor.go` (`Parse`, the regex
`^(?P<modifier>[+<=X^])?\\((?P<key>.+)\\)$`) and `utils.go` (`IsCondition` ...,
`ContainsCondition`).
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

__all__ = [
    "ADD_IF_ABSENT",
    "CONDITION",
    "EQUALITY",
    "EXISTENCE",
    "GLOBAL",
    "NEGATION",
    "Anchor",
    "has_nested_anchors",
    "parse_anchor",
]

CONDITION = ""
GLOBAL = "<"
NEGATION = "X"
ADD_IF_ABSENT = "+"
EQUALITY = "="
EXISTENCE = "^"

_ANCHOR = re.compile(r"^(?P<modifier>[+<=X^])?\((?P<key>.+)\)$", re.DOTALL)


class Anchor(NamedTuple):
    modifier: str  # one of the constants above
    key: str

    def __str__(self) -> str:
        return f"{self.modifier}({self.key})"


@functools.lru_cache(maxsize=8192)
def parse_anchor(text: str) -> Anchor | None:
    """`anchor.Parse`: the anchor of a pattern key, or None for a plain key."""
    if not text.endswith(")") or "(" not in text:
        return None
    m = _ANCHOR.match(text)
    if m is None:
        return None
    return Anchor(m.group("modifier") or CONDITION, m.group("key"))


#: The anchors `validateMap` evaluates in its first phase (`GetAnchorsResourcesFromMap`).
VALIDATE_ANCHORS = frozenset({CONDITION, GLOBAL, NEGATION, EQUALITY, EXISTENCE})


def has_nested_anchors(pattern: Any) -> bool:
    """`hasNestedAnchors` (pkg/engine/validate/utils.go): any anchor key at any depth."""
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            a = parse_anchor(key) if isinstance(key, str) else None
            if a is not None and a.modifier in VALIDATE_ANCHORS:
                return True
            if has_nested_anchors(value):
                return True
        return False
    if isinstance(pattern, list):
        return any(has_nested_anchors(v) for v in pattern)
    return False
