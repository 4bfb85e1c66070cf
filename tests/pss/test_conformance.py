"""Conformance against upstream's Pod Security fixtures.

The corpus is ``k8s.io/pod-security-admission/test/testdata`` (copied to
``shared/corpora/psa`` next to the repository, see its SOURCE.txt): for every level
(baseline, restricted) and policy version v1.0 ... v1.37, ``pass/`` pods must be admitted
and ``fail/`` pods rejected. Upstream (test/run.go) additionally requires the rejection
message to contain the check's ``expectErrorSubstring`` (test/fixtures_*.go).

Fixture file names are lowercased upstream check IDs plus an index. A fail fixture of a
baseline check that a restricted check overrides at that version (e.g. ``hostpathvolumes``
under restricted, where ``restrictedVolumes`` replaces ``hostPathVolumes``) is rejected by
the overriding check, so either ID is accepted, with the substring of the check that fired.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from kubeward.pss import ALL_CHECKS, checks_for, evaluate, parse_version

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "psa"
INDEX = CORPUS / "index.csv"

pytestmark = pytest.mark.skipif(not INDEX.is_file(), reason=f"PSA corpus not found at {CORPUS}")

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: upstream test/fixtures_<check>.go ``expectErrorSubstring`` per check ID
EXPECT_ERROR_SUBSTRING = {
    "allowPrivilegeEscalation": "allowPrivilegeEscalation != false",
    "appArmorProfile": "forbidden AppArmor profile",
    "capabilities_baseline": "non-default capabilities",
    "capabilities_restricted": "unrestricted capabilities",
    "hostNamespaces": "host namespaces",
    "hostPathVolumes": "hostPath volumes",
    "hostPorts": "hostPort",
    "hostProbesAndHostLifecycle": "probe or lifecycle host",
    "privileged": "privileged",
    "procMount": "procMount",
    "procMount_restricted": "procMount",
    "restrictedVolumes": "restricted volume types",
    "runAsNonRoot": "runAsNonRoot != true",
    "runAsUser": "runAsUser=0",
    "seLinuxOptions": "seLinuxOptions",
    "seccompProfile_baseline": "seccompProfile",
    "seccompProfile_restricted": "seccompProfile",
    "sysctls": "forbidden sysctls",
    "windowsHostProcess": "hostProcess",
}

#: fixture file check name (lowercased upstream ID) -> our check ID
FIXTURE_CHECK_IDS = {c.id.lower(): c.id for c in ALL_CHECKS}
BASE_FIXTURES = {"base", "base_linux", "base_windows"}
EXPECTED_FIXTURE_COUNT = 4537


class Fixture(NamedTuple):
    level: str
    version: str
    expected: str
    check: str
    path: str
    meta: Any
    spec: Any


@cache
def load_fixtures() -> tuple[Fixture, ...]:
    out = []
    with INDEX.open(newline="") as fh:
        for row in csv.DictReader(fh):
            with (CORPUS / row["path"]).open("rb") as doc_fh:
                doc = yaml.load(doc_fh, Loader=_Loader)
            out.append(
                Fixture(
                    row["level"],
                    row["version"],
                    row["expected"],
                    row["check"],
                    row["path"],
                    doc.get("metadata") or {},
                    doc.get("spec") or {},
                )
            )
    return tuple(out)


def _accepted_ids(fx: Fixture) -> dict[str, str]:
    """Check IDs that may reject this fail fixture -> the substring their message must hold."""
    check_id = FIXTURE_CHECK_IDS[fx.check]
    accepted = {check_id: EXPECT_ERROR_SUBSTRING[check_id]}
    for bound in checks_for(fx.level, fx.version):
        if check_id in bound.revision.overrides:
            accepted[bound.id] = EXPECT_ERROR_SUBSTRING[bound.id]
    return accepted


def _disagreements() -> Iterator[tuple[str, str]]:
    for fx in load_fixtures():
        violations = evaluate(fx.meta, fx.spec, fx.level, fx.version)
        messages = "; ".join(f"[{v.check}] {v.message}" for v in violations)
        where = f"{fx.level} {fx.version} {fx.path}"
        if fx.expected == "pass":
            if violations:
                yield fx.check, f"{where}: expected allowed, got {messages}"
            continue
        if fx.check in BASE_FIXTURES:
            yield fx.check, f"{where}: a base fixture cannot be a fail fixture"
            continue
        if fx.check not in FIXTURE_CHECK_IDS:
            yield fx.check, f"{where}: unknown fixture check {fx.check!r}"
            continue
        if not violations:
            yield fx.check, f"{where}: expected rejection, got none"
            continue
        accepted = _accepted_ids(fx)
        hits = [v for v in violations if v.check in accepted]
        if not hits:
            yield fx.check, f"{where}: expected a violation of {sorted(accepted)}, got {messages}"
        elif not any(accepted[v.check] in v.message for v in hits):
            yield (
                fx.check,
                (
                    f"{where}: no message contains the expected substring "
                    f"{sorted(set(accepted.values()))}: {messages}"
                ),
            )


def test_corpus_is_complete() -> None:
    fixtures = load_fixtures()
    assert len(fixtures) == EXPECTED_FIXTURE_COUNT
    names = {fx.check for fx in fixtures} - BASE_FIXTURES
    assert names <= set(FIXTURE_CHECK_IDS), names - set(FIXTURE_CHECK_IDS)
    # every registered check is exercised by the corpus
    assert set(FIXTURE_CHECK_IDS) <= names


def test_conformance_all_fixtures() -> None:
    fixtures = load_fixtures()
    grouped: dict[str, list[str]] = defaultdict(list)
    for check, problem in _disagreements():
        grouped[check].append(problem)
    failed = sum(len(v) for v in grouped.values())
    agreed = len(fixtures) - failed
    print(f"\nPSS conformance: {agreed}/{len(fixtures)} upstream fixtures agree")
    if grouped:
        lines = [f"{failed} of {len(fixtures)} fixtures disagree with upstream:"]
        for check in sorted(grouped):
            problems = grouped[check]
            lines.append(f"  {check}: {len(problems)}")
            lines.extend(f"    - {p}" for p in problems[:10])
            if len(problems) > 10:
                lines.append(f"    ... and {len(problems) - 10} more")
        pytest.fail("\n".join(lines), pytrace=False)
    assert agreed == EXPECTED_FIXTURE_COUNT


def test_corpus_check_sets_match_registry() -> None:
    """The fixture checks per (level, version) are upstream's checksForLevelAndVersion:
    every check whose first revision is not newer than the version, baseline checks
    included under restricted (even when overridden). This pins each check's first version."""
    by_lv: dict[tuple[str, str], set[str]] = defaultdict(set)
    for fx in load_fixtures():
        if fx.check not in BASE_FIXTURES:
            by_lv[(fx.level, fx.version)].add(fx.check)
    assert by_lv
    for (level, version), names in sorted(by_lv.items()):
        v = parse_version(version)
        assert not isinstance(v, type(parse_version("latest")))
        expected = {
            c.id.lower()
            for c in ALL_CHECKS
            if c.min_version <= v and (c.level == level or level == "restricted")
        }
        assert names == expected, (level, version, names ^ expected)


def test_every_version_is_covered() -> None:
    versions = {fx.version for fx in load_fixtures()}
    assert versions == {f"v1.{n}" for n in range(38)}
