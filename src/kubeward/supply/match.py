"""Matching an SBOM's packages against the vulnerability database.

For each package with a known ecosystem, the database returns the affected entries of that
(ecosystem, normalised name); an entry applies when its release matches the package's
(when both are known: `Debian:11` never applies to a Debian 12 package) and the version is
affected by OSV's evaluation (`versions.evaluate`). One package affected by several
advisories that are aliases of each other (GHSA-x and PYSEC-y both naming CVE-z) is one
Vulnerability: the ids are merged, as osv-scanner groups them, keeping the highest severity
and the lowest fixed version that fixes every one of them (the highest of their fixes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubeward.supply.osv import normalise_name
from kubeward.supply.sbom import Package, Sbom
from kubeward.supply.severity import VulnSeverity
from kubeward.supply.versions import evaluate, parse, supported
from kubeward.supply.vulndb import AffectedRow, VulnDB

if TYPE_CHECKING:
    from kubeward.k8s.images import ImageRef

__all__ = ["MatchResult", "Vulnerability", "match_sbom", "sbom_for_image"]


@dataclass(slots=True, frozen=True)
class Vulnerability:
    package: Package
    installed: str
    id: str
    aliases: tuple[str, ...]
    severity: VulnSeverity
    score: float | None
    fixed: str | None
    summary: str
    sbom: str  # the SBOM's source (file or attestation)

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


@dataclass(slots=True, frozen=True)
class MatchResult:
    sbom: Sbom
    vulnerabilities: tuple[Vulnerability, ...]
    unsupported: int  # packages whose ecosystem the database cannot match (no purl, …)


def match_sbom(sbom: Sbom, db: VulnDB) -> MatchResult:
    by_key: dict[tuple[str, str], list[Package]] = defaultdict(list)
    unsupported = 0
    for pkg in sbom.packages:
        if not pkg.ecosystem or not pkg.version or not pkg.name:
            unsupported += 1
            continue
        by_key[(pkg.ecosystem, normalise_name(pkg.ecosystem, pkg.name))].append(pkg)
    hits: dict[Package, list[tuple[AffectedRow, str | None]]] = defaultdict(list)
    for key, row in db.lookup(sorted(by_key)):
        for pkg in by_key[key]:
            if pkg.release and row.release and pkg.release != row.release:
                continue
            ecosystem = row.ecosystem
            if not supported(ecosystem) and not any(r.get("type") == "SEMVER" for r in row.ranges) \
                    and pkg.version not in row.versions:
                continue
            result = evaluate(ecosystem, pkg.version, row.versions, row.ranges)
            if result.affected:
                hits[pkg].append((row, result.fixed))
    vulns: list[Vulnerability] = []
    for pkg, found in hits.items():
        vulns.extend(_group(pkg, found, sbom.source))
    vulns.sort(key=lambda v: (-v.severity, v.package.name, v.installed, v.id))
    return MatchResult(sbom, tuple(vulns), unsupported)


def _group(pkg: Package, found: list[tuple[AffectedRow, str | None]],
           source: str) -> list[Vulnerability]:
    """Merge advisories of one package that share an id or alias (union-find on ids)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row, _fixed in found:
        for alias in row.aliases:
            parent[root(alias)] = root(row.advisory)
        root(row.advisory)
    groups: dict[str, list[tuple[AffectedRow, str | None]]] = defaultdict(list)
    for row, fixed in found:
        groups[root(row.advisory)].append((row, fixed))
    out = []
    for members in groups.values():
        # Same advisory matched through two entries (two releases, two ranges): keep one.
        members.sort(key=lambda m: (_id_rank(m[0].advisory), m[0].advisory))
        first = members[0][0]
        ids = {m[0].advisory for m in members} | {a for m in members for a in m[0].aliases}
        ids.discard(first.advisory)
        worst = max(members, key=lambda m: (m[0].severity, m[0].score or 0.0))[0]
        fixes = [f for _row, f in members]
        fixed = None if any(f is None for f in fixes) else _highest(pkg.ecosystem, fixes)
        out.append(Vulnerability(
            package=pkg, installed=pkg.version, id=first.advisory,
            aliases=tuple(sorted(ids, key=lambda i: (_id_rank(i), i))),
            severity=VulnSeverity(worst.severity), score=worst.score, fixed=fixed,
            summary=next((m[0].summary for m in members if m[0].summary), ""), sbom=source))
    return out


def _id_rank(vid: str) -> int:
    """Which id names a merged group: the ecosystem's own database first, CVE last."""
    if vid.startswith("CVE-"):
        return 2
    if vid.startswith("GHSA-"):
        return 1
    return 0


def _highest(ecosystem: str, fixes: list[str | None]) -> str | None:
    from kubeward.supply.versions import ordering_for

    texts = [f for f in fixes if f]
    if not texts:
        return None
    ordering = ordering_for(ecosystem, "ECOSYSTEM") or "semver"
    parsed = [(parse(ordering, t), t) for t in texts]
    if any(p is None for p, _t in parsed):
        return texts[0]
    best: tuple[Any, str] = parsed[0]
    for item in parsed[1:]:
        if best[0] < item[0]:  # only `<`: see versions.evaluate
            best = item
    return best[1]


def sbom_for_image(ref: ImageRef, sboms: Sequence[Sbom]) -> Sbom | None:
    """The SBOM describing image REF, or None. Decided by the SBOM's subject:

    - both carry a digest: the digests must be equal (the name may differ: a digest names
      one image wherever it is pushed);
    - otherwise the normalised names must be equal (`nginx` == `docker.io/library/nginx`)
      and, when both have a tag, the tags too. An image pinned by digest with an SBOM
      whose subject has only a name (and tag) is covered by name: offline, nothing can
      tell which digest a tag had when the SBOM was made.
    """
    from kubeward.k8s.images import parse_image

    for sbom in sboms:
        if ref.digest and sbom.subject_digest:
            if ref.digest.lower() == sbom.subject_digest:
                return sbom
            continue
        if not sbom.subject_name:
            continue
        subject = parse_image(sbom.subject_name)
        if subject.name != ref.name:
            continue
        tag = ref.tag or (None if ref.digest else "latest")
        if subject.tag and tag and subject.tag != tag:
            continue
        return sbom
    return None
