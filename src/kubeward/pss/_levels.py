"""Policy levels and versions.

Follows ``k8s.io/pod-security-admission/api/helpers.go`` (``ParseLevel``, ``ParseVersion``,
``Version.Older``, ``LevelVersion``). Two parsers exist on purpose:

* :func:`parse_level` / :func:`parse_version` are the *user-facing* parsers (CLI flags,
  config): they ignore case and surrounding whitespace and accept ``1.25`` as well as
  ``v1.25``. They raise :class:`ValueError` on anything else.
* :func:`parse_level_strict` / :func:`parse_version_strict` are upstream's exact parsers,
  used for namespace labels (see :mod:`kubeward.pss.namespace`): case-sensitive,
  ``latest`` or ``v1.<minor>`` only, no leading zeros.

A version is a ``(major, minor)`` tuple or the :data:`LATEST` sentinel, which compares
greater than every tuple ("latest is always considered newer, even than future versions").
A version newer than the newest known policy version is kept as parsed; evaluation clamps
it to the newest policy version, exactly like the upstream registry does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "BASELINE",
    "LATEST",
    "LEVELS",
    "PRIVILEGED",
    "RESTRICTED",
    "LatestVersion",
    "Level",
    "LevelVersion",
    "PolicyVersion",
    "compare_levels",
    "format_version",
    "parse_level",
    "parse_level_strict",
    "parse_version",
    "parse_version_strict",
]

Level: TypeAlias = Literal["privileged", "baseline", "restricted"]

PRIVILEGED: Final = "privileged"
BASELINE: Final = "baseline"
RESTRICTED: Final = "restricted"
#: Levels from least to most strict.
LEVELS: Final[tuple[Level, Level, Level]] = (PRIVILEGED, BASELINE, RESTRICTED)
_LEVEL_NAMES: Final = frozenset(LEVELS)
_STRICTNESS: Final[dict[str, int]] = {PRIVILEGED: 0, BASELINE: 1, RESTRICTED: 2}


class LatestVersion:
    """The ``latest`` policy version: greater than every ``(major, minor)`` tuple."""

    __slots__ = ()
    _instance: LatestVersion | None = None

    def __new__(cls) -> LatestVersion:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "LATEST"

    def __str__(self) -> str:
        return "latest"

    def __reduce__(self) -> str:
        return "LATEST"

    def __hash__(self) -> int:
        return hash("latest")

    def __eq__(self, other: object) -> bool:
        return other is self

    def __lt__(self, other: object) -> bool:
        if other is self or isinstance(other, tuple):
            return False
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, tuple):
            return False
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if other is self:
            return False
        if isinstance(other, tuple):
            return True
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if other is self or isinstance(other, tuple):
            return True
        return NotImplemented


#: The ``latest`` sentinel.
LATEST: Final = LatestVersion()

PolicyVersion: TypeAlias = tuple[int, int] | LatestVersion

_LEVEL_ERROR = "must be one of privileged, baseline, restricted"
_VERSION_ERROR = 'must be "latest" or "v1.x"'
# upstream: ^v1\.([0-9]|[1-9][0-9]*)$
_STRICT_VERSION_RE: Final = re.compile(r"v1\.(0|[1-9][0-9]*)")
_LENIENT_VERSION_RE: Final = re.compile(r"v?1\.(0|[1-9][0-9]*)")


def parse_level_strict(text: str) -> Level:
    """Upstream ``api.ParseLevel``: exact, case-sensitive match or :class:`ValueError`."""
    if text in _LEVEL_NAMES:
        return text
    raise ValueError(_LEVEL_ERROR)


def parse_level(level: Any) -> Level:
    """Parse a user-supplied level, ignoring case and whitespace.

    ``parse_level("Restricted") == "restricted"``; raises :class:`ValueError` otherwise.
    """
    if isinstance(level, str):
        norm = level.strip().lower()
        if norm in _LEVEL_NAMES:
            return norm
    raise ValueError(f"invalid Pod Security level {level!r}: {_LEVEL_ERROR}")


def parse_version_strict(text: str) -> tuple[int, int] | LatestVersion:
    """Upstream ``api.ParseVersion``: ``latest`` or ``v1.<minor>``, else :class:`ValueError`."""
    if text == "latest":
        return LATEST
    m = _STRICT_VERSION_RE.fullmatch(text)
    if m is None:
        raise ValueError(_VERSION_ERROR)
    return (1, int(m.group(1)))


def parse_version(version: Any) -> tuple[int, int] | LatestVersion:
    """Parse a user-supplied policy version.

    Accepts :data:`LATEST`, a ``(1, minor)`` tuple, or a string: ``latest`` or ``v1.<minor>``
    (case-insensitive, surrounding whitespace ignored, the ``v`` optional).
    Raises :class:`ValueError` with a clear message on anything else.
    """
    if isinstance(version, LatestVersion):
        return LATEST
    if isinstance(version, tuple):
        if (
            len(version) == 2
            and type(version[0]) is int
            and type(version[1]) is int
            and version[0] == 1
            and version[1] >= 0
        ):
            return (1, version[1])
        raise ValueError(f"invalid Pod Security version {version!r}: {_VERSION_ERROR}")
    if isinstance(version, str):
        norm = version.strip().lower()
        if norm == "latest":
            return LATEST
        m = _LENIENT_VERSION_RE.fullmatch(norm)
        if m is not None:
            return (1, int(m.group(1)))
    raise ValueError(f"invalid Pod Security version {version!r}: {_VERSION_ERROR}")


def format_version(version: tuple[int, int] | LatestVersion) -> str:
    """``(1, 25)`` -> ``"v1.25"``; :data:`LATEST` -> ``"latest"``."""
    if isinstance(version, LatestVersion):
        return "latest"
    return f"v{version[0]}.{version[1]}"


def compare_levels(a: str, b: str) -> int:
    """Upstream ``api.CompareLevels``: -1, 0 or +1 by strictness."""
    if a == b:
        return 0
    sa, sb = _STRICTNESS.get(a), _STRICTNESS.get(b)
    if sa is None or sb is None:
        if a == PRIVILEGED:
            return -1
        if a == RESTRICTED:
            return 1
        return 0
    return -1 if sa < sb else 1


@dataclass(frozen=True, slots=True)
class LevelVersion:
    """A level at a policy version, e.g. ``restricted:latest`` or ``baseline:v1.25``."""

    level: Level
    version: tuple[int, int] | LatestVersion = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{format_version(self.version)}"

    @classmethod
    def parse(cls, level: Any, version: Any = "latest") -> LevelVersion:
        """Build from user-supplied strings (lenient parsers)."""
        return cls(parse_level(level), parse_version(version))
