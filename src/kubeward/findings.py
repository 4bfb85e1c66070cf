"""Severity and Finding: what every analysis returns and every output renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubeward.inventory.resource import Resource
    from kubeward.rules.base import Rule

__all__ = ["Finding", "Fix", "Severity", "Suppression", "fingerprint"]


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(slots=True, frozen=True)
class Fix:
    """A safe change that resolves a finding: set `value` at `path` inside the object.

    `path` is relative to the object root; lists are addressed by index. The patcher of
    `kubeward fix` applies these without losing comments.
    """

    path: tuple[str | int, ...]
    value: Any
    description: str


@dataclass(slots=True, frozen=True)
class Suppression:
    """Why a finding is not counted: an exception that matched it."""

    source: str  # "annotation" or the exceptions file path
    reason: str
    expires: str | None = None


@dataclass(slots=True)
class Finding:
    rule: Rule
    resource: Resource | None
    message: str
    path: tuple[str | int, ...] = ()
    severity: Severity = Severity.MEDIUM
    fixes: tuple[Fix, ...] = ()
    suppressed: Suppression | None = None
    _line: int | None = field(default=None, repr=False)

    @property
    def line(self) -> int:
        """1-based line of the offending field (located lazily, only when shown)."""
        if self._line is None:
            self._line = self.resource.origin.line_of(self.path) if self.resource else 0
        return self._line

    @property
    def file(self) -> str:
        return self.resource.display_path if self.resource else ""

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (-self.severity, self.rule.id, self.file, self.line)


def resolve_lines(findings: list[Finding]) -> None:
    """Locate every finding's line, one document at a time.

    The locators cache a few documents; resolving in rule order would revisit each
    document once per rule and miss those caches. Grouped by document, each is read once.
    """
    def doc_order(f: Finding) -> tuple[int, int]:
        origin = f.resource.origin if f.resource else None
        if origin is None or origin.doc is None:
            return (0, 0)
        return (id(origin.source), origin.doc.start)

    for f in sorted(findings, key=doc_order):
        _ = f.line


def fingerprint(f: Finding) -> str:
    """A finding's identity across runs: rule + kind + namespace + name + message.

    Survives line moves and re-ordering (no file or line in it); the message is already
    redacted. SARIF's `partialFingerprints` and the history store both use it.
    """
    import hashlib

    res = f.resource
    key = "|".join(
        [f.rule.id, res.kind if res else "", (res.namespace or "") if res else "",
         res.name if res else "", f.message]
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]
