"""Matching SBOMs against the fixture OSV database: what must match (with its fixed version
and severity) and what must not (fixed versions, other releases, withdrawn advisories)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.k8s.images import parse_image
from kubeward.supply.match import match_sbom, sbom_for_image
from kubeward.supply.sbom import Package, Sbom, read_sbom
from kubeward.supply.severity import VulnSeverity
from kubeward.supply.vulndb import VulnDB

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "supply"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("vulndb") / "db.sqlite"
    with VulnDB.create(path) as created:
        created.import_source(FIX / "osv")
    opened = VulnDB.open(path)
    yield opened
    opened.close()


def found(db, sbom):
    return {(v.package.name, v.id): v for v in match_sbom(sbom, db).vulnerabilities}


def test_app_sbom_matches_exactly_the_expected_advisories(db):
    result = match_sbom(read_sbom(FIX / "sbom" / "app.cdx.json"), db)
    got = {(v.package.name, v.installed): (v.id, v.severity.name, v.fixed)
           for v in result.vulnerabilities}
    assert got == {
        ("org.apache.logging.log4j:log4j-core", "2.14.1"): ("GHSA-jfh8-c2jp-5v3q", "CRITICAL", "2.15.0"),
        ("org.springframework:spring-beans", "5.3.17"): ("GHSA-36p3-wjmg-h94x", "CRITICAL", "5.3.18"),
        ("next", "14.1.1-canary.3"): ("GHSA-fr5h-rqp8-mj6g", "HIGH", "14.1.1"),  # npm prerelease
        ("openssl", "1.1.1k-1+deb11u1"): ("DSA-5103-1", "HIGH", "1.1.1n-0+deb11u1"),  # Debian 11 entry
        ("openssl", "3.1.3-r0"): ("ALPINE-CVE-2023-5363", "HIGH", "3.1.4-r0"),  # Alpine v3.18 entry
        ("busybox", "1.36.1-r2"): ("ALPINE-CVE-2099-0003", "MEDIUM", "1.36.1_p1-r0"),
        ("django", "3.2.1"): ("PYSEC-2021-108", "MEDIUM", "3.2.4"),  # merged with its GHSA alias
        ("elliptic", "6.5.3"): ("GHSA-r9p9-mrjm-926w", "MEDIUM", "6.5.4"),
        ("epoch-pkg", "2.0"): ("PYSEC-2099-1", "MEDIUM", "1!1.0"),  # PEP 440 epoch
        ("github.com/docker/docker", "v20.10.7+incompatible"): ("GO-2022-0390", "MEDIUM",
                                                                 "20.10.9+incompatible"),
        ("jinja2", "2.11.2"): ("GHSA-g3rq-g295-4j3m", "MEDIUM", "2.11.3"),
        ("lodash", "4.17.20"): ("GHSA-29mw-wpgm-hmr9", "MEDIUM", None),  # last_affected: unfixed
        ("urllib3", "2.0.0rc1"): ("GHSA-v845-jxx5-vc9f", "MEDIUM", "2.0.6"),  # PEP 440 pre-release
        ("golang.org/x/sys", "v0.0.0-20220114195835-da31bd327af9"): (
            "GO-2022-0493", "UNKNOWN", "0.0.0-20220412211240-33da011f77ad"),  # Go pseudo-version
    }
    # requests: its only advisory is withdrawn; vendored-thing: no purl
    assert result.unsupported == 1
    # most severe first
    assert [v.severity for v in result.vulnerabilities] == sorted(
        (v.severity for v in result.vulnerabilities), reverse=True)


def test_aliases_are_merged_into_one_vulnerability(db):
    v = found(db, read_sbom(FIX / "sbom" / "app.cdx.json"))[("django", "PYSEC-2021-108")]
    assert v.aliases == ("GHSA-68w8-qjq3-2gfm", "CVE-2021-33203")
    assert v.score == 4.9  # the GHSA's CVSS vector (PYSEC has none)
    assert v.summary


def test_fixed_versions_match_nothing(db):
    assert match_sbom(read_sbom(FIX / "sbom" / "clean.cdx.json"), db).vulnerabilities == ()


def test_spdx_and_attestations(db):
    got = {(v.package.name, v.id) for v in match_sbom(read_sbom(FIX / "sbom" / "web.spdx.json"),
                                                       db).vulnerabilities}
    assert got == {("epochtool", "DEBIAN-CVE-2099-0001"), ("json5", "GHSA-9c47-m6qq-7p4h"),
                   ("stdlib", "GO-2023-2185"), ("elliptic", "GHSA-r9p9-mrjm-926w"),
                   ("org.example:limited", "GHSA-limt-test-0001"),
                   ("tildetool", "DEBIAN-CVE-2099-0002")}
    # next 13.3.0 is below the advisory's introduced 13.4.0
    for name in ("worker.intoto.json", "worker.dsse.json"):
        (v,) = match_sbom(read_sbom(FIX / "sbom" / name), db).vulnerabilities
        assert (v.id, v.installed, v.fixed) == ("GHSA-jfh8-c2jp-5v3q", "2.0-beta9", "2.3.1")


def pkg(name, version, eco, release=""):
    return Sbom("test", "t.json", "img", None, (Package(name, version, "", eco, release),))


@pytest.mark.parametrize(("package", "hit"), [
    (pkg("openssl", "1.1.1d-0+deb10u7", "Debian", "10"), True),  # the Debian 10 entry
    (pkg("openssl", "1.1.1d-0+deb10u8", "Debian", "10"), False),
    (pkg("openssl", "1.1.1d-0+deb10u8", "Debian", "11"), True),  # < the Debian 11 fix
    (pkg("openssl", "1.1.1d-0+deb10u8", "Debian", "12"), False),  # no Debian 12 entry
    (pkg("openssl", "3.0.11-r0", "Alpine", "3.17"), True),
    (pkg("openssl", "3.0.12-r0", "Alpine", "3.17"), False),
    (pkg("Jinja2", "2.10", "PyPI"), True),  # PEP 503 name normalisation
    (pkg("ELLIPTIC", "6.5.3", "npm"), True),  # npm names are case-insensitive
    (pkg("requests", "2.25.0", "PyPI"), False),  # withdrawn
    (pkg("log4j-core", "2.14.1", "Maven"), False),  # Maven needs group:artifact
    (pkg("org.apache.logging.log4j:log4j-core", "2.3.1", "Maven"), False),  # between ranges
    (pkg("org.apache.logging.log4j:log4j-core", "2.12.1", "Maven"), True),
    (pkg("org.springframework:spring-beans", "5.2.20", "Maven"), False),  # == 5.2.20.RELEASE
    (pkg("golang.org/x/sys", "v0.0.0-20220412211240-33da011f77ad", "Go"), False),
    (pkg("stdlib", "1.20.10", "Go"), True),
    # SemVer: introduced 1.21.0-0 < 1.21.0-rc.1 (numeric identifiers sort before alphanumeric)
    (pkg("stdlib", "1.21.0-rc.1", "Go"), True),
    (pkg("stdlib", "1.21.4", "Go"), False),
])
def test_single_packages(db, package, hit):
    assert bool(match_sbom(package, db).vulnerabilities) is hit


def test_package_without_release_matches_every_release(db):
    # Unknown distro release: every release's entry applies; the advisory is reported once,
    # with the fix that covers all of them (the highest).
    (v,) = match_sbom(pkg("openssl", "1.1.1a-1", "Debian"), db).vulnerabilities
    assert (v.id, v.fixed) == ("DSA-5103-1", "1.1.1n-0+deb11u1")


def test_sbom_for_image_by_digest_and_by_name():
    api = Sbom("x", "api.json", "registry.example.com/shop/api", "sha256:" + "3f" * 32, ())
    web = Sbom("x", "web.json", "nginx:1.25", None, ())
    sboms = [api, web]
    assert sbom_for_image(parse_image("registry.example.com/shop/api@sha256:" + "3f" * 32), sboms) is api
    assert sbom_for_image(parse_image("registry.example.com/shop/api@sha256:" + "00" * 32), sboms) is None
    assert sbom_for_image(parse_image("registry.example.com/shop/api:2.0"), sboms) is api  # name only
    assert sbom_for_image(parse_image("docker.io/library/nginx:1.25"), sboms) is web
    assert sbom_for_image(parse_image("nginx:1.26"), sboms) is None
    assert sbom_for_image(parse_image("nginx"), sboms) is None  # latest != 1.25
    assert sbom_for_image(parse_image("redis:7"), sboms) is None


def test_severity_levels_are_ordered():
    assert VulnSeverity.UNKNOWN < VulnSeverity.LOW < VulnSeverity.CRITICAL
    assert VulnSeverity.parse("moderate") is VulnSeverity.MEDIUM
