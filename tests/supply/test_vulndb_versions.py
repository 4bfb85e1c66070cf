"""OSV range evaluation (supply.versions) per ecosystem: each ordering quirk has a version
that must be affected and one that must not be.

The algorithm is the OSV schema's `IsVulnerable` (https://ossf.github.io/osv-schema/#evaluation);
orderings are univers's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.supply.versions import ecosystem_base, evaluate, ordering_for, parse


def eco(*events: tuple[str, str], kind: str = "ECOSYSTEM") -> list[dict]:
    return [{"type": kind, "events": [{k: v} for k, v in events]}]


# (ecosystem, ranges, version, affected, fixed-version reported)
CASES = [
    # --- PyPI (PEP 440)
    ("PyPI", eco(("introduced", "0"), ("fixed", "2.0")), "2.0rc1", True, "2.0"),  # pre-release < final
    ("PyPI", eco(("introduced", "0"), ("fixed", "2.0")), "2.0", False, None),
    ("PyPI", eco(("introduced", "0"), ("fixed", "2.0")), "2.0.post1", False, None),
    ("PyPI", eco(("introduced", "0"), ("fixed", "2.0")), "2.0.0", False, None),  # 2.0 == 2.0.0
    ("PyPI", eco(("introduced", "2.0.0a1"), ("fixed", "2.0.6")), "2.0.0.dev3", False, None),  # dev < a1
    ("PyPI", eco(("introduced", "2.0.0a1"), ("fixed", "2.0.6")), "2.0.0b2", True, "2.0.6"),
    ("PyPI", eco(("introduced", "0"), ("fixed", "1!1.0")), "9.9", True, "1!1.0"),  # epoch 0 < epoch 1
    ("PyPI", eco(("introduced", "0"), ("fixed", "1!1.0")), "1!1.0.1", False, None),
    # --- npm (SemVer 2.0)
    ("npm", eco(("introduced", "0"), ("fixed", "2.0.0")), "2.0.0-beta.1", True, "2.0.0"),
    ("npm", eco(("introduced", "0"), ("fixed", "2.0.0")), "2.0.0", False, None),
    ("npm", eco(("introduced", "1.0.0-alpha.2"), ("fixed", "1.0.0")), "1.0.0-alpha.10", True, "1.0.0"),
    ("npm", eco(("introduced", "1.0.0-alpha.2"), ("fixed", "1.0.0")), "1.0.0-alpha.1", False, None),
    ("npm", eco(("introduced", "0"), ("fixed", "2.0.0")), "2.0.0+build.7", False, None),  # build ignored
    # --- Go (SEMVER ranges without "v"; installed versions with "v")
    ("Go", eco(("introduced", "0"), ("fixed", "1.2.3"), kind="SEMVER"), "v1.2.2", True, "1.2.3"),
    ("Go", eco(("introduced", "0"), ("fixed", "1.2.3"), kind="SEMVER"), "v1.10.0", False, None),
    ("Go", eco(("introduced", "0"), ("fixed", "20.10.9+incompatible"), kind="SEMVER"),
     "v20.10.7+incompatible", True, "20.10.9+incompatible"),
    ("Go", eco(("introduced", "0"), ("fixed", "20.10.9+incompatible"), kind="SEMVER"),
     "v20.10.9+incompatible", False, None),
    ("Go", eco(("introduced", "0"), ("fixed", "0.0.0-20220412211240-33da011f77ad"), kind="SEMVER"),
     "v0.0.0-20220101000000-aaaaaaaaaaaa", True, "0.0.0-20220412211240-33da011f77ad"),  # pseudo-version
    ("Go", eco(("introduced", "0"), ("fixed", "0.0.0-20220412211240-33da011f77ad"), kind="SEMVER"),
     "v0.1.0", False, None),
    # --- Maven (ComparableVersion qualifiers)
    ("Maven", eco(("introduced", "2.0-beta9"), ("fixed", "2.15.0")), "2.0-beta10", True, "2.15.0"),
    ("Maven", eco(("introduced", "2.0-beta9"), ("fixed", "2.15.0")), "2.0-alpha1", False, None),
    ("Maven", eco(("introduced", "2.0-beta9"), ("fixed", "2.15.0")), "2.15.0-rc1", True, "2.15.0"),
    ("Maven", eco(("introduced", "2.0-beta9"), ("fixed", "2.15.0")), "2.15.0-SNAPSHOT", True, "2.15.0"),
    ("Maven", eco(("introduced", "2.0-beta9"), ("fixed", "2.15.0")), "2.15.0-sp1", False, None),
    ("Maven", eco(("introduced", "0"), ("fixed", "5.2.20.RELEASE")), "5.2.20", False, None),  # alias
    ("Maven", eco(("introduced", "0"), ("fixed", "5.2.20.RELEASE")), "5.2.19.RELEASE", True,
     "5.2.20.RELEASE"),
    ("Maven", eco(("introduced", "0"), ("fixed", "2.9.10")), "2.10.0", False, None),  # numeric, not text
    # --- Debian (dpkg)
    ("Debian:12", eco(("introduced", "0"), ("fixed", "1:2.0-1")), "2.9-1", True, "1:2.0-1"),  # epoch
    ("Debian:12", eco(("introduced", "0"), ("fixed", "1:2.0-1")), "1:2.0-1", False, None),
    ("Debian:12", eco(("introduced", "0"), ("fixed", "1.0-1")), "1.0~rc1-1", True, "1.0-1"),  # tilde
    ("Debian:12", eco(("introduced", "0"), ("fixed", "1.0~rc2-1")), "1.0~rc10-1", False, None),
    ("Debian:11", eco(("introduced", "0"), ("fixed", "1.1.1n-0+deb11u1")), "1.1.1n-0", True,
     "1.1.1n-0+deb11u1"),
    ("Ubuntu:22.04:LTS", eco(("introduced", "0"), ("fixed", "3.0.2-0ubuntu1.10")), "3.0.2-0ubuntu1.9",
     True, "3.0.2-0ubuntu1.10"),
    # --- Alpine (apk)
    ("Alpine:v3.18", eco(("introduced", "0"), ("fixed", "3.1.4-r0")), "3.1.3-r5", True, "3.1.4-r0"),
    ("Alpine:v3.18", eco(("introduced", "0"), ("fixed", "3.0.10-r0")), "3.0.9-r0", True, "3.0.10-r0"),
    ("Alpine:v3.18", eco(("introduced", "0"), ("fixed", "1.36.1_p1-r0")), "1.36.1-r9", True, "1.36.1_p1-r0"),
    ("Alpine:v3.18", eco(("introduced", "0"), ("fixed", "1.36.1-r0")), "1.36.1_rc2-r0", True, "1.36.1-r0"),
    ("Alpine:v3.18", eco(("introduced", "0"), ("fixed", "1.36.1-r1")), "1.36.1-r1", False, None),
    # --- RubyGems, crates.io, NuGet, Packagist
    ("RubyGems", eco(("introduced", "0"), ("fixed", "7.0.0")), "7.0.0.rc1", True, "7.0.0"),
    ("RubyGems", eco(("introduced", "0"), ("fixed", "7.0.0")), "7.0.0.1", False, None),
    ("crates.io", eco(("introduced", "0.3.0"), ("fixed", "0.3.9")), "0.3.10", False, None),
    ("NuGet", eco(("introduced", "0"), ("fixed", "13.0.1")), "13.0.1-beta1", True, "13.0.1"),
    ("NuGet", eco(("introduced", "0"), ("fixed", "13.0.1")), "13.0.1.0", False, None),
    ("Packagist", eco(("introduced", "0"), ("fixed", "5.4.0")), "v5.3.9", True, "5.4.0"),
    ("Pub", eco(("introduced", "0"), ("fixed", "1.2.0")), "1.2.0-dev.1", True, "1.2.0"),
    # --- RPM (rpmvercmp)
    ("Red Hat:enterprise_linux:9::appstream", eco(("introduced", "0"), ("fixed", "1:3.0.7-25.el9")),
     "3.0.7-99.el9", True, "1:3.0.7-25.el9"),  # epoch
    ("Rocky Linux:9", eco(("introduced", "0"), ("fixed", "3.0.7-25.el9")), "3.0.7-24.el9", True,
     "3.0.7-25.el9"),
    ("Rocky Linux:9", eco(("introduced", "0"), ("fixed", "3.0.7-25.el9")), "3.0.7-25.el9_1", False, None),
    ("SUSE:Linux Enterprise Server 15 SP5", eco(("introduced", "0"), ("fixed", "1.0-1")), "1.0~rc1-1",
     True, "1.0-1"),  # tilde
    # --- event semantics
    ("npm", eco(("introduced", "4.0.0"), ("last_affected", "4.17.20")), "4.17.20", True, None),  # inclusive
    ("npm", eco(("introduced", "4.0.0"), ("last_affected", "4.17.20")), "4.17.21", False, None),
    ("npm", eco(("introduced", "4.0.0"), ("last_affected", "4.17.20")), "3.10.1", False, None),
    ("PyPI", eco(("fixed", "3.1.12"), ("introduced", "3.0"), ("fixed", "2.2.24"), ("introduced", "2.2")),
     "3.0.5", True, "3.1.12"),  # events given out of order are sorted first
    ("PyPI", eco(("fixed", "3.1.12"), ("introduced", "3.0"), ("fixed", "2.2.24"), ("introduced", "2.2")),
     "2.2.30", False, None),  # between two ranges
    ("Maven", eco(("introduced", "1.0"), ("limit", "2.0")), "1.5", True, None),  # below the limit
    ("Maven", eco(("introduced", "1.0"), ("limit", "2.0")), "2.1", False, None),  # beyond the limit
    ("Maven", eco(("introduced", "1.0"), ("limit", "*")), "99", True, None),  # "*" is infinity
    ("npm", eco(("introduced", "0")), "0.0.1", True, None),  # all versions, unfixed
]


@pytest.mark.parametrize(("ecosystem", "ranges", "version", "affected", "fixed"), CASES,
                         ids=[f"{c[0]}-{c[2]}-{'hit' if c[3] else 'miss'}" for c in CASES])
def test_range_evaluation(ecosystem, ranges, version, affected, fixed):
    result = evaluate(ecosystem, version, [], ranges)
    assert result.affected is affected
    assert result.fixed == fixed


def test_explicit_versions_list_matches_even_outside_ranges():
    ranges = eco(("introduced", "1.0"), ("fixed", "1.1"))
    assert evaluate("PyPI", "0.9", ["0.9"], ranges).affected
    assert not evaluate("PyPI", "0.8", ["0.9"], ranges).affected
    # an ecosystem without an ordering still matches by the list, never by the range
    assert evaluate("Hackage", "1.2", ["1.2"], ranges).affected
    assert not evaluate("Hackage", "1.0.5", [], ranges).affected


def test_git_ranges_are_ignored_for_versions():
    ranges = [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}]}]
    assert not evaluate("PyPI", "1.0", [], ranges).affected


def test_unparsable_versions_do_not_match_and_do_not_raise():
    ranges = eco(("introduced", "0"), ("fixed", "2.0"))
    assert not evaluate("Debian:11", "", [], ranges).affected
    assert not evaluate("PyPI", "not a version!", [], ranges).affected
    # an unparsable event is dropped; the rest of the range still counts
    assert evaluate("PyPI", "1.0", [], eco(("introduced", "0"), ("fixed", "??"))).affected


def test_ecosystem_helpers():
    assert ecosystem_base("Debian:11") == ("Debian", "11")
    assert ecosystem_base("Ubuntu:Pro:18.04:LTS") == ("Ubuntu", "Pro:18.04:LTS")
    assert ordering_for("Go", "SEMVER") == "semver"
    assert ordering_for("Maven:https://maven.google.com", "ECOSYSTEM") == "maven"
    assert ordering_for("Hackage", "ECOSYSTEM") is None
    assert ordering_for("PyPI", "GIT") is None
    assert parse("semver", "v1.2.3+incompatible") == parse("semver", "1.2.3")


_triple = st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 12))


@settings(max_examples=150, deadline=None)
@given(a=_triple, b=_triple, v=_triple,
       eco_name=st.sampled_from(["PyPI", "npm", "Maven", "Debian:12", "Alpine:v3.19", "RubyGems",
                                 "NuGet", "crates.io", "Packagist", "Rocky Linux:9"]),
       last=st.booleans())
def test_plain_numeric_versions_follow_tuple_order(a, b, v, eco_name, last):
    """For plain X.Y.Z versions every ordering agrees with integer tuple order, so the
    evaluation must be exactly introduced <= v < fixed (or <= last_affected)."""
    lo, hi = sorted((a, b))
    def text(t: tuple[int, ...]) -> str:
        return ".".join(map(str, t))

    end = ("last_affected" if last else "fixed", text(hi))
    result = evaluate(eco_name, text(v), [], eco(("introduced", text(lo)), end))
    expected = lo <= v <= hi if last else lo <= v < hi
    assert result.affected is expected
    if expected and not last:
        assert result.fixed == text(hi)
