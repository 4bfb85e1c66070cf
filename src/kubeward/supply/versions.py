"""Is version V inside an OSV range? Per-ecosystem ordering from univers, OSV's algorithm.

The evaluation follows the OSV schema exactly (https://ossf.github.io/osv-schema/#evaluation,
`IsVulnerable` / `IncludedInRanges` / `BeforeLimits`): a version listed in `versions` is
affected; otherwise, for each range that is not GIT and whose `limit` events (implicit `*`)
lie above V, the events are sorted by version (`introduced: "0"` first) and replayed:
`introduced` <= V turns "vulnerable" on, `fixed` <= V turns it off (fixed is exclusive),
`last_affected` < V turns it off (last_affected is inclusive).

Ordering per ecosystem (OSV's own list: osv.dev `osv/ecosystems/_ecosystems.py`), all from
univers (aboutcode-org/univers) so that no comparison is hand-written:

| OSV ecosystem | univers class | notes |
|---|---|---|
| PyPI | PypiVersion | PEP 440: epochs, pre/post/dev releases, `1.0 == 1.0.0` |
| npm, crates.io, Hex, Pub, SwiftURL, Go, SEMVER ranges | SemverVersion | SemVer 2.0 (1) |
| Maven | MavenVersion | ComparableVersion: alpha < beta < milestone < rc < snapshot < "" < sp (2) |
| Debian, Ubuntu | DebianVersion | dpkg: epochs, `~` sorts before everything |
| Alpine, Wolfi, Chainguard | AlpineLinuxVersion | apk-tools: `_rc`/`_p` suffixes, `-rN` |
| RubyGems | RubygemsVersion | Gem::Version: a letter segment makes a pre-release |
| NuGet | NugetVersion | `1.0 == 1.0.0.0` |
| Packagist | ComposerVersion | |
| Red Hat, AlmaLinux, Rocky Linux, SUSE, openSUSE, Mageia, openEuler | RpmVersion | rpmvercmp |

(1) A leading `v` and `+build` metadata are dropped first (SemVer §10: build metadata does
not count), so Go's `+incompatible` compares as the plain version and Go pseudo-versions
sort as pre-releases. (2) Maven's ComparableVersion aliases the qualifiers `ga`, `final`
and `release` to "" (StringItem.ALIASES); univers 32 lacks `release`, so `5.3.18.RELEASE`
(Spring's spelling) would sort above `5.3.18`: those qualifiers are removed before parsing.

Other ecosystems are matched only through the advisory's explicit `versions` list and its
SEMVER ranges. Parsed versions are memoised (one parse per distinct string and ordering).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

__all__ = ["Evaluation", "ecosystem_base", "evaluate", "ordering_for", "supported"]

_SEMVER = "semver"
_BY_ECOSYSTEM = {
    "PyPI": "pypi",
    "npm": _SEMVER,
    "crates.io": _SEMVER,
    "Hex": _SEMVER,
    "Pub": _SEMVER,
    "SwiftURL": _SEMVER,
    "Go": _SEMVER,
    "Maven": "maven",
    "Debian": "debian",
    "Ubuntu": "debian",
    "Alpine": "alpine",
    "Wolfi": "alpine",
    "Chainguard": "alpine",
    "RubyGems": "gem",
    "NuGet": "nuget",
    "Packagist": "composer",
    "Red Hat": "rpm",
    "AlmaLinux": "rpm",
    "Rocky Linux": "rpm",
    "SUSE": "rpm",
    "openSUSE": "rpm",
    "Mageia": "rpm",
    "openEuler": "rpm",
}


def ecosystem_base(ecosystem: str) -> tuple[str, str]:
    """Split an OSV ecosystem into (base, release): `Debian:11` -> ("Debian", "11").

    `Maven:https://…` and `Packagist:https://…` carry a repository URL, not a release; the
    URL is kept as the release so two repositories never mix."""
    base, _, release = ecosystem.partition(":")
    return base.strip(), release.strip()


def supported(ecosystem: str) -> bool:
    return ecosystem_base(ecosystem)[0] in _BY_ECOSYSTEM


def ordering_for(ecosystem: str, range_type: str) -> str | None:
    """The ordering name for a range: SEMVER ranges always use SemVer; ECOSYSTEM ranges use
    the ecosystem's own; GIT ranges and unknown ecosystems have none (None)."""
    if range_type == "SEMVER":
        return _SEMVER
    if range_type == "ECOSYSTEM":
        return _BY_ECOSYSTEM.get(ecosystem_base(ecosystem)[0])
    return None


def _factories() -> dict[str, Callable[[str], Any]]:
    import univers.versions as uv  # lazy: ~130 ms

    return {
        "pypi": uv.PypiVersion,
        _SEMVER: uv.SemverVersion,
        "maven": uv.MavenVersion,
        "debian": uv.DebianVersion,
        "alpine": uv.AlpineLinuxVersion,
        "gem": uv.RubygemsVersion,
        "nuget": uv.NugetVersion,
        "composer": uv.ComposerVersion,
        "rpm": uv.RpmVersion,
    }


_FACTORIES: dict[str, Callable[[str], Any]] = {}
_MAVEN_RELEASE = re.compile(r"[.-](?:release|final|ga)(?=$|[.-])", re.IGNORECASE)


@lru_cache(maxsize=65536)
def parse(ordering: str, text: str) -> Any | None:
    """The comparable version of TEXT under ORDERING, or None when it does not parse."""
    if not _FACTORIES:
        _FACTORIES.update(_factories())
    value = text.strip()
    if ordering == _SEMVER:
        value = value.removeprefix("v").partition("+")[0]
    elif ordering == "maven":
        value = _MAVEN_RELEASE.sub("", value)
    if not value:
        return None
    try:
        return _FACTORIES[ordering](value)
    except Exception:  # noqa: BLE001 - univers raises many types for junk input
        return None


class Evaluation:
    """The answer for one affected entry: whether V is affected and the version that fixes it."""

    __slots__ = ("affected", "fixed")

    def __init__(self, affected: bool, fixed: str | None = None) -> None:
        self.affected = affected
        self.fixed = fixed

    def __repr__(self) -> str:
        return f"Evaluation(affected={self.affected}, fixed={self.fixed!r})"


_NOT_AFFECTED = Evaluation(False)


def evaluate(ecosystem: str, version: str, versions: Sequence[str],
             ranges: Sequence[dict[str, Any]]) -> Evaluation:
    """OSV `IsVulnerable` for one `affected[]` entry (see the module docstring).

    `ranges` are OSV range objects (`{"type": …, "events": […]}`). The fixed version is
    the first `fixed` event above V in the range that matched (None when unfixed or when
    only `last_affected` is known)."""
    listed = version in versions
    hit = False
    fixed: str | None = None
    for rng in ranges:
        ordering = ordering_for(ecosystem, str(rng.get("type", "")))
        if ordering is None:
            continue
        v = parse(ordering, version)
        if v is None:
            continue
        events = _sorted_events(ordering, rng.get("events") or ())
        if events is None or not _before_limits(v, events):
            continue
        vulnerable = False
        # Only `<` is used: univers's apk/Gentoo versions define `<` and `>` but inherit
        # `<=`/`>=` from attrs, which compares the raw strings ("3.0.9" >= "3.0.10").
        for kind, _text, ev in events:
            if kind == "introduced" and (ev is None or not v < ev):
                vulnerable = True
            elif (kind == "fixed" and not v < ev) or (kind == "last_affected" and ev < v):
                vulnerable = False
        next_fix = next((text for kind, text, ev in events
                         if kind == "fixed" and ev is not None and v < ev), None)
        if vulnerable:
            hit = True
            if fixed is None:
                fixed = next_fix
        elif listed and fixed is None:
            fixed = next_fix
    if hit or listed:
        return Evaluation(True, fixed)
    return _NOT_AFFECTED


_Event = tuple[str, str, Any]
_KINDS = ("introduced", "fixed", "last_affected", "limit")


def _sorted_events(ordering: str, raw: Sequence[Any]) -> list[_Event] | None:
    """Events as (kind, text, parsed), sorted by version; `introduced: "0"` (parsed None)
    sorts first and `limit: "*"` (parsed None) last. Events whose version does not parse
    under the ordering are dropped (they cannot be placed on the timeline)."""
    out: list[_Event] = []
    for event in raw:
        if not isinstance(event, dict):
            continue
        for kind in _KINDS:
            text = event.get(kind)
            if not isinstance(text, str):
                continue
            if (kind == "introduced" and text == "0") or (kind == "limit" and "*" in text):
                out.append((kind, text, None))
            else:
                parsed = parse(ordering, text)
                if parsed is not None:
                    out.append((kind, text, parsed))
            break
    if not out:
        return None
    zero = [e for e in out if e[2] is None and e[0] == "introduced"]
    star = [e for e in out if e[2] is None and e[0] == "limit"]
    rest = sorted((e for e in out if e[2] is not None), key=_key)
    return zero + rest + star


class _key:
    """Sort key comparing parsed versions with their own `<` (univers objects are not
    guaranteed to be totally ordered with `sorted`'s default tuple comparison)."""

    __slots__ = ("v",)

    def __init__(self, event: _Event) -> None:
        self.v = event[2]

    def __lt__(self, other: _key) -> bool:
        return bool(self.v < other.v)


def _before_limits(v: Any, events: list[_Event]) -> bool:
    """OSV `BeforeLimits`: with no limit event, true; else true if V < some limit."""
    limits = [e for e in events if e[0] == "limit"]
    if not limits:
        return True
    return any(ev is None or v < ev for _kind, _text, ev in limits)
