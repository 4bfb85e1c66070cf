"""`parse_sbom`: CycloneDX and SPDX JSON, in-toto statements, DSSE envelopes, Sigstore
bundles; purl -> OSV ecosystem; one-line errors naming the file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.supply.sbom import Package, SbomError, package_from_purl, parse_sbom, read_sbom

SBOM = Path(__file__).resolve().parents[1] / "fixtures" / "supply" / "sbom"


def by_name(sbom) -> dict[str, Package]:
    return {p.name: p for p in sbom.packages}


def test_cyclonedx_components_subject_and_ecosystems():
    sbom = read_sbom(SBOM / "app.cdx.json")
    assert sbom.format == "CycloneDX 1.5"
    assert sbom.source == str(SBOM / "app.cdx.json")
    assert sbom.subject_name == "registry.example.com/shop/api"
    assert sbom.subject_digest == "sha256:" + "3f" * 32
    pk = by_name(sbom)
    assert pk["django"] == Package("django", "3.2.1", "pkg:pypi/django@3.2.1", "PyPI", "", "Django")
    assert pk["org.apache.logging.log4j:log4j-core"].ecosystem == "Maven"
    assert pk["github.com/docker/docker"].version == "v20.10.7+incompatible"  # %2B decoded
    assert pk["golang.org/x/sys"].ecosystem == "Go"
    # deb/apk: the source package (upstream qualifier) and the distro release
    deb = next(p for p in sbom.packages if p.ecosystem == "Debian")
    assert (deb.name, deb.display, deb.version, deb.release) == (
        "openssl", "libssl1.1", "1.1.1k-1+deb11u1", "11")
    apk = {p.name: p for p in sbom.packages if p.ecosystem == "Alpine"}
    assert apk["openssl"].release == apk["busybox"].release == "3.18"
    # no purl: kept, without an ecosystem; the operating-system component is not a package
    assert pk["vendored-thing"].ecosystem == ""
    assert "debian" not in pk
    assert len(sbom.packages) == 16


def test_spdx_packages_and_described_image():
    sbom = read_sbom(SBOM / "web.spdx.json")
    assert sbom.format == "SPDX-2.3"
    assert sbom.subject_name == "registry.example.com/shop/web"
    assert sbom.subject_digest == "sha256:" + "ab" * 32
    pk = by_name(sbom)
    assert "registry.example.com/shop/web" not in pk  # the image itself is not a package
    assert pk["elliptic"].display == "Elliptic"
    assert pk["org.example:limited"].ecosystem == "Maven"
    assert pk["tildetool"].version == "1.0~rc1-1"
    assert pk["tildetool"].release == "12"
    assert len(sbom.packages) == 7


def test_spdx_2_2_is_accepted_and_3_refused(tmp_path):
    doc = json.loads((SBOM / "web.spdx.json").read_text())
    doc["spdxVersion"] = "SPDX-2.2"
    for p in doc["packages"]:
        p.pop("primaryPackagePurpose", None)
        p.update(licenseConcluded="NOASSERTION", licenseDeclared="NOASSERTION",
                 copyrightText="NOASSERTION")
    assert parse_sbom(doc).format == "SPDX-2.2"
    del doc["packages"][0]["licenseConcluded"]  # mandatory in 2.2: spdx-tools validates
    with pytest.raises(SbomError, match=r"license_concluded is mandatory in SPDX-2\.2"):
        parse_sbom(doc, source="x.json")
    doc["spdxVersion"] = "SPDX-3.0"
    with pytest.raises(SbomError, match=r"SPDX-3\.0 is not supported"):
        parse_sbom(doc, source="x.json")


def test_in_toto_statement_and_dsse_envelope_give_the_same_sbom():
    stmt = read_sbom(SBOM / "worker.intoto.json")
    dsse = read_sbom(SBOM / "worker.dsse.json")
    assert stmt.via == "in-toto statement"
    assert dsse.via == "DSSE envelope"
    for sbom in (stmt, dsse):
        assert sbom.subject_name == "registry.example.com/shop/worker"
        assert sbom.subject_digest == "sha256:" + "cd" * 32
        assert [p.name for p in sbom.packages] == ["org.apache.logging.log4j:log4j-core"]


def test_bare_predicate_in_cosigns_data_wrapper():
    cdx = json.loads((SBOM / "clean.cdx.json").read_text())
    assert len(parse_sbom({"Data": cdx, "Timestamp": "x"}).packages) == 14
    assert len(parse_sbom({"Data": json.dumps(cdx)}).packages) == 14


def test_wrapped_predicates_spdx_string_and_bundle():
    spdx = json.loads((SBOM / "web.spdx.json").read_text())
    stmt = {"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://spdx.dev/Document/v2.3",
            "subject": [{"name": "web", "digest": {"sha256": "ef" * 32}}],
            "predicate": {"Data": json.dumps(spdx), "Timestamp": "2024-01-01T00:00:00Z"}}
    env = {"payloadType": "application/vnd.in-toto+json",
           "payload": base64.b64encode(json.dumps(stmt).encode()).decode(), "signatures": []}
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": env}
    sbom = parse_sbom(json.dumps(bundle).encode(), source="oci://r/web@sha256:ef")
    assert sbom.via == "Sigstore bundle"
    assert sbom.format == "SPDX-2.3"
    assert sbom.subject_digest == "sha256:" + "ef" * 32
    assert len(sbom.packages) == 7


@pytest.mark.parametrize(("purl", "expected"), [
    ("pkg:npm/%40angular/core@16.0.0", ("@angular/core", "16.0.0", "npm", "")),
    ("pkg:golang/github.com/foo/bar@v1.2.3", ("github.com/foo/bar", "v1.2.3", "Go", "")),
    ("pkg:maven/org.example/thing@1.0?type=jar", ("org.example:thing", "1.0", "Maven", "")),
    ("pkg:cargo/serde@1.0.0", ("serde", "1.0.0", "crates.io", "")),
    ("pkg:gem/rails@7.0.0", ("rails", "7.0.0", "RubyGems", "")),
    ("pkg:nuget/Newtonsoft.Json@13.0.1", ("Newtonsoft.Json", "13.0.1", "NuGet", "")),
    ("pkg:composer/laravel/framework@10.0.0", ("laravel/framework", "10.0.0", "Packagist", "")),
    ("pkg:deb/ubuntu/libc6@2.35-0ubuntu3.1?upstream=glibc&distro=ubuntu-22.04",
     ("glibc", "2.35-0ubuntu3.1", "Ubuntu", "22.04")),
    ("pkg:deb/debian/passwd@1:4.8.1-1?upstream=shadow%401%3A4.8.1-1&distro=debian-11",
     ("shadow", "1:4.8.1-1", "Debian", "11")),
    ("pkg:apk/wolfi/glibc@2.38-r1", ("glibc", "2.38-r1", "Wolfi", "")),
    ("pkg:generic/thing@1.0", ("thing", "1.0", "", "")),
])
def test_purl_to_osv_package(purl, expected):
    p = package_from_purl(purl)
    assert p is not None
    assert (p.name, p.version, p.ecosystem, p.release) == expected


def test_bad_purl_is_none():
    assert package_from_purl("not-a-purl") is None


@pytest.mark.parametrize(("file", "message"), [
    ("truncated.cdx.json", "not valid JSON"),
    ("badtype.cdx.json", "invalid CycloneDX 1.5: components[0]: 'gadget' is not a valid ComponentType"),
    ("nocreation.spdx.json", "invalid SPDX-2.3"),
    ("notsbom.json", "not a CycloneDX or SPDX JSON document"),
])
def test_bad_sboms_give_one_line_naming_the_file(file, message):
    path = SBOM / "bad" / file
    with pytest.raises(SbomError) as err:
        read_sbom(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(("doc", "message"), [
    ({"payloadType": "text/plain", "payload": "eA=="}, "payloadType 'text/plain'"),
    ({"payloadType": "application/vnd.in-toto+json", "payload": "!!!"}, "not base64"),
    ({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1",
      "predicate": {}}, "is not an SBOM"),
    ({"predicateType": "https://cyclonedx.org/bom", "predicate": 3}, "predicate is not a JSON object"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": "library"}]},
     "invalid CycloneDX 1.5"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.5",
      "components": [{"type": "library", "name": "x", "purl": "nope"}]}, "PURL"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "x"}, "not a list of objects"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {"component": {"type": "container"}}},
     "metadata: "),
])
def test_bad_wrappers(doc, message):
    with pytest.raises(SbomError, match=message):
        parse_sbom(json.dumps(doc).encode(), source="att")


def test_unreadable_file(tmp_path):
    with pytest.raises(SbomError, match="cannot read"):
        read_sbom(tmp_path / "missing.json")
    with pytest.raises(SbomError, match="not a JSON object"):
        parse_sbom(b"[1]", source="list.json")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "name", "version", "purl", "components", "metadata", "component",
                         "packages", "SPDXID", "externalRefs", "predicate", "payload", "Data"]),
        inner, max_size=4),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(body=_json, head=st.sampled_from([
    {"bomFormat": "CycloneDX", "specVersion": "1.5"},
    {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"},
    {"predicateType": "https://cyclonedx.org/bom"},
    {"payloadType": "application/vnd.in-toto+json"},
    {}]))
def test_arbitrary_documents_raise_only_sbom_errors(body, head):
    doc = {**(body if isinstance(body, dict) else {"components": body}), **head}
    message = ""
    try:
        sbom = parse_sbom(json.dumps(doc).encode(), source="fuzz.json")
    except SbomError as err:
        message = str(err)
    else:
        assert all(isinstance(p, Package) for p in sbom.packages)
    if message:
        assert "\n" not in message
        assert message.startswith("fuzz.json")
