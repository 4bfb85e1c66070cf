"""Levels, versions, the check registry and the catalog metadata."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import re
from typing import Any

import pytest

import kubeward.pss.checks as checks_pkg
from kubeward.pss import (
    ALL_CHECKS,
    CHECKS_BY_ID,
    LATEST,
    MAX_VERSION,
    LevelVersion,
    PodView,
    checks_for,
    compare_levels,
    evaluate,
    format_version,
    parse_level,
    parse_version,
    resolve_version,
)
from kubeward.pss._levels import parse_level_strict, parse_version_strict
from kubeward.pss.checks import CHECKS

CHECK_MODULES = [
    importlib.import_module(f"kubeward.pss.checks.{info.name}")
    for info in pkgutil.iter_modules(checks_pkg.__path__)
]


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("restricted", "restricted"),
        ("Restricted", "restricted"),
        (" BASELINE ", "baseline"),
        ("privileged", "privileged"),
    ],
)
def test_parse_level(text: str, level: str) -> None:
    assert parse_level(text) == level


@pytest.mark.parametrize("bad", ["", "restrict", "none", None, 1, "latest"])
def test_parse_level_rejects(bad: Any) -> None:
    with pytest.raises(ValueError, match="must be one of privileged, baseline, restricted"):
        parse_level(bad)


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("v1.25", (1, 25)),
        ("V1.0", (1, 0)),
        ("1.37", (1, 37)),
        (" latest ", LATEST),
        ("LATEST", LATEST),
        ("v1.99", (1, 99)),
        ((1, 3), (1, 3)),
        (LATEST, LATEST),
    ],
)
def test_parse_version(text: Any, version: Any) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize(
    "bad", ["", "v2.0", "v1", "v1.", "v1.01", "v1.-1", "1.2.3", "x", None, (1,), (2, 0), (1, -1)]
)
def test_parse_version_rejects(bad: Any) -> None:
    with pytest.raises(ValueError, match=re.escape('must be "latest" or "v1.x"')):
        parse_version(bad)


def test_strict_parsers_match_upstream() -> None:
    assert parse_level_strict("baseline") == "baseline"
    for bad in ("Baseline", " baseline", ""):
        with pytest.raises(ValueError, match="must be one of privileged, baseline, restricted"):
            parse_level_strict(bad)
    assert parse_version_strict("v1.0") == (1, 0)
    assert parse_version_strict("v1.123") == (1, 123)
    assert parse_version_strict("latest") is LATEST
    for bad in ("1.2", "V1.2", "Latest", "v1.02", "v1.2 "):
        with pytest.raises(ValueError, match=re.escape('must be "latest" or "v1.x"')):
            parse_version_strict(bad)


def test_latest_sentinel_ordering() -> None:
    assert LATEST > (1, 10_000)
    assert LATEST > (1, 10_000)
    assert LATEST >= LATEST
    assert not LATEST < LATEST
    assert sorted([LATEST, (1, 2), (1, 0)], key=lambda v: (v is LATEST, v)) == [(1, 0), (1, 2), LATEST]
    assert max((1, 2), LATEST) is LATEST
    assert str(LATEST) == "latest"
    assert repr(LATEST) == "LATEST"
    assert pickle.loads(pickle.dumps(LATEST)) is LATEST
    assert format_version((1, 25)) == "v1.25"
    assert format_version(LATEST) == "latest"
    assert str(LevelVersion("baseline", (1, 25))) == "baseline:v1.25"
    assert str(LevelVersion.parse("Restricted")) == "restricted:latest"


def test_compare_levels() -> None:
    assert compare_levels("privileged", "baseline") == -1
    assert compare_levels("restricted", "baseline") == 1
    assert compare_levels("baseline", "baseline") == 0
    assert compare_levels("baseline", "restricted") == -1


def test_max_version_and_clamping() -> None:
    assert MAX_VERSION == (1, 37)
    assert resolve_version("latest") == MAX_VERSION
    assert resolve_version("v1.50") == MAX_VERSION
    assert resolve_version("v1.3") == (1, 3)
    assert checks_for("restricted", "v1.50") == checks_for("restricted", "latest")


def test_checks_for_is_cached_and_ordered() -> None:
    a = checks_for("restricted", "latest")
    assert checks_for("restricted", "latest") is a
    assert checks_for("Restricted", LATEST) == a
    assert checks_for("privileged", "v1.0") == ()
    assert [b.id for b in checks_for("baseline", "v1.0")] == [
        "appArmorProfile",
        "capabilities_baseline",
        "hostNamespaces",
        "hostPathVolumes",
        "hostPorts",
        "privileged",
        "procMount",
        "seLinuxOptions",
        "seccompProfile_baseline",
        "sysctls",
        "windowsHostProcess",
    ]
    assert [b.id for b in a] == [
        "appArmorProfile",
        "hostNamespaces",
        "hostPorts",
        "hostProbesAndHostLifecycle",
        "privileged",
        "seLinuxOptions",
        "sysctls",
        "windowsHostProcess",
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "procMount_restricted",
        "restrictedVolumes",
        "runAsNonRoot",
        "runAsUser",
        "seccompProfile_restricted",
    ]
    with pytest.raises(ValueError, match="invalid Pod Security level"):
        checks_for("strict", "latest")
    with pytest.raises(ValueError, match="invalid Pod Security version"):
        checks_for("baseline", "v2.1")
    with pytest.raises(ValueError, match="invalid Pod Security version"):
        evaluate({}, {}, "baseline", ["v1.0"])


@pytest.mark.parametrize(
    ("check_id", "minor", "fn"),
    [
        ("procMount", 34, "procMount_1_0"),
        ("procMount", 35, "procMount1_35baseline"),
        ("seLinuxOptions", 30, "seLinuxOptions1_0"),
        ("seLinuxOptions", 31, "seLinuxOptions1_31"),
        ("seccompProfile_baseline", 18, "seccompProfileBaseline_1_0"),
        ("seccompProfile_baseline", 19, "seccompProfileBaseline_1_19"),
        ("sysctls", 26, "sysctlsV1Dot0"),
        ("sysctls", 28, "sysctlsV1Dot27"),
        ("sysctls", 31, "sysctlsV1Dot29"),
        ("sysctls", 36, "sysctlsV1Dot32"),
        ("sysctls", 37, "sysctlsV1Dot37"),
        ("allowPrivilegeEscalation", 24, "allowPrivilegeEscalation_1_8"),
        ("allowPrivilegeEscalation", 25, "allowPrivilegeEscalation_1_25"),
        ("runAsNonRoot", 34, "runAsNonRoot_1_0"),
        ("runAsNonRoot", 35, "runAsNonRoot1_35"),
        ("runAsUser", 34, "runAsUser_1_23"),
        ("runAsUser", 35, "runAsUser1_35"),
        ("capabilities_restricted", 24, "capabilitiesRestricted_1_22"),
        ("capabilities_restricted", 25, "capabilitiesRestricted_1_25"),
        ("seccompProfile_restricted", 24, "seccompProfileRestricted_1_19"),
        ("seccompProfile_restricted", 25, "seccompProfileRestricted_1_25"),
    ],
)
def test_revision_in_force(check_id: str, minor: int, fn: str) -> None:
    level = CHECKS_BY_ID[check_id].level
    bound = {b.id: b for b in checks_for(level, f"v1.{minor}")}
    if check_id in bound:
        assert bound[check_id].revision.upstream_fn == fn
    else:  # overridden under restricted at this version: look at baseline
        bound = {b.id: b for b in checks_for("baseline", f"v1.{minor}")}
        assert bound[check_id].revision.upstream_fn == fn


@pytest.mark.parametrize(
    ("check_id", "first"),
    [
        ("allowPrivilegeEscalation", 8),
        ("seccompProfile_restricted", 19),
        ("capabilities_restricted", 22),
        ("runAsUser", 23),
        ("hostProbesAndHostLifecycle", 34),
        ("procMount_restricted", 35),
        ("runAsNonRoot", 0),
        ("restrictedVolumes", 0),
    ],
)
def test_first_version(check_id: str, first: int) -> None:
    check = CHECKS_BY_ID[check_id]
    assert check.min_version == (1, first)
    in_force = {
        minor for minor in range(38) if check_id in {b.id for b in checks_for(check.level, f"v1.{minor}")}
    }
    assert min(in_force) == first


@pytest.mark.parametrize(
    ("restricted_id", "overridden", "first"),
    [
        ("restrictedVolumes", "hostPathVolumes", 0),
        ("seccompProfile_restricted", "seccompProfile_baseline", 19),
        ("capabilities_restricted", "capabilities_baseline", 22),
        ("procMount_restricted", "procMount", 35),
    ],
)
def test_overrides(restricted_id: str, overridden: str, first: int) -> None:
    for minor in range(38):
        restricted = {b.id for b in checks_for("restricted", f"v1.{minor}")}
        baseline = {b.id for b in checks_for("baseline", f"v1.{minor}")}
        if minor >= first:
            assert restricted_id in restricted
            assert overridden not in restricted
        else:
            assert restricted_id not in restricted
        assert overridden in baseline


def test_restricted_is_baseline_minus_overridden_plus_restricted() -> None:
    for minor in range(38):
        baseline = [b.id for b in checks_for("baseline", f"v1.{minor}")]
        restricted = checks_for("restricted", f"v1.{minor}")
        overridden = {o for b in restricted for o in b.revision.overrides}
        assert [b.id for b in restricted if b.level == "baseline"] == [
            i for i in baseline if i not in overridden
        ]


def test_catalog_metadata() -> None:
    assert ALL_CHECKS == CHECKS
    assert len(ALL_CHECKS) == 19
    assert len({c.id for c in ALL_CHECKS}) == 19
    assert len({c.rule_id for c in ALL_CHECKS}) == 19
    for c in ALL_CHECKS:
        assert c.level in ("baseline", "restricted")
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", c.rule_slug), c.rule_slug
        assert c.rule_id == f"pss.{c.level}.{c.rule_slug}"
        assert c.upstream_file.startswith("policy/check_")
        assert c.title
        assert c.description
        assert c.fields
        assert list(c.versions) == sorted(c.versions, key=lambda v: v.min_version)
        ranges = c.version_ranges()
        assert ranges[-1][1] is LATEST
        assert ranges[0][0] == c.min_version
        assert c.describe_versions()
        (module,) = [m for m in CHECK_MODULES if m.CHECK is c]
        assert module.__doc__
        assert c.upstream_file.split("/")[-1] in module.__doc__
    assert len(CHECK_MODULES) == len(ALL_CHECKS)
    assert CHECKS_BY_ID["runAsNonRoot"].rule_id == "pss.restricted.run-as-non-root"
    assert CHECKS_BY_ID["hostNamespaces"].rule_id == "pss.baseline.host-namespaces"
    assert CHECKS_BY_ID["procMount"].describe_versions() == (
        "v1.0-v1.34: procMount_1_0; v1.35+: procMount1_35baseline"
    )


def test_bound_checks_are_callable() -> None:
    (bound,) = [b for b in checks_for("baseline", "latest") if b.id == "hostNamespaces"]
    assert bound(PodView({}, {"hostIPC": True})) == ("host namespaces", "hostIPC=true")
    assert bound.level == "baseline"
    assert bound.check is CHECKS_BY_ID["hostNamespaces"]
