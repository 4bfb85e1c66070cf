"""Reading SBOMs: CycloneDX JSON and SPDX 2.2/2.3 JSON, bare or inside an attestation.

Formats are detected from the document itself:
- CycloneDX (`bomFormat: CycloneDX`, spec 1.2–1.7): the subject (`metadata.component`) and
  every component are deserialised by cyclonedx-python-lib's own models
  (`BomMetaData.from_json`, `Component.from_json`), which reject unknown enum values,
  missing required fields and bad purls. Only the fields that bear on matching are handed
  over (type, name, version, group, purl, bom-ref, scope, cpe, nested components; hashes
  of the subject); licenses, properties, evidence, services, dependencies and the rest are
  not read. Two heavier
  library paths were measured and not taken (bench/results/vulns.md, 2,000 components):
  `Bom.from_json` on the whole document keeps components in a sorted set whose
  comparisons dominate (0.6–1.9 s vs 0.2–0.4 s per component), and JSON-schema
  validation (`cyclonedx.validation.json.JsonStrictValidator`) runs a quadratic
  `uniqueItems` check in pure-Python jsonschema (about 3 s).
- SPDX 2.2/2.3 JSON (`spdxVersion`) is parsed by spdx-tools (`JsonLikeDictParser`) and
  checked with `validate_full_spdx_document`; validation messages are reported as one line.
- An in-toto Statement (`_type` https://in-toto.io/Statement/v0.1 or v1) whose
  `predicateType` is CycloneDX (https://cyclonedx.org/bom[/vX]) or SPDX
  (https://spdx.dev/Document[/vX]); the predicate is the SBOM, or a JSON string of it, or
  cosign's generic `{"Data": …}` wrapper. The statement's first subject becomes the
  SBOM's subject (name and sha256 digest).
- A DSSE envelope (payloadType `application/vnd.in-toto+json`, base64 `payload`) holding
  such a statement, or a Sigstore bundle carrying it in `dsseEnvelope`. Signatures are not
  checked here (`supply.cosign` verifies; this module only reads).

Each component with a package URL gets its OSV ecosystem from the purl type (purl spec
https://github.com/package-url/purl-spec/blob/master/PURL-TYPES.rst; OSV ecosystems
https://ossf.github.io/osv-schema/#affectedpackage-field). For deb/apk/rpm packages the
source package (purl qualifier `upstream`, as syft writes it) is what OSV names, and the
distribution release comes from the `distro` qualifier or the SBOM's operating-system
component.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from kubeward.supply.osv import normalise_release

__all__ = ["Package", "Sbom", "SbomError", "package_from_purl", "parse_sbom", "read_sbom"]

_MAX_SBOM = 512 * 1024 * 1024


class SbomError(Exception):
    """An SBOM that cannot be read; the message is one line naming the source."""


@dataclass(slots=True, frozen=True)
class Package:
    name: str  # as OSV names it (Maven group:artifact, npm @scope/name, deb source package)
    version: str
    purl: str = ""
    ecosystem: str = ""  # OSV base ecosystem, "" when unknown
    release: str = ""  # normalised distribution release, "" when unknown
    display: str = ""  # the component's own name, if it differs from `name`

    @property
    def label(self) -> str:
        return self.display or self.name


@dataclass(slots=True, frozen=True)
class Sbom:
    format: str  # "CycloneDX 1.5", "SPDX-2.3"
    source: str
    subject_name: str
    subject_digest: str | None  # "sha256:<hex>"
    packages: tuple[Package, ...]
    via: str = ""  # "in-toto statement", "DSSE envelope", ... when wrapped


_PURL_ECOSYSTEM = {
    "pypi": "PyPI", "npm": "npm", "golang": "Go", "maven": "Maven", "gem": "RubyGems",
    "cargo": "crates.io", "nuget": "NuGet", "composer": "Packagist", "hex": "Hex",
    "pub": "Pub", "swift": "SwiftURL", "conan": "ConanCenter", "cran": "CRAN",
    "hackage": "Hackage", "githubactions": "GitHub Actions", "bitnami": "Bitnami",
}
_DISTRO_ECOSYSTEM = {
    ("deb", "debian"): "Debian", ("deb", "ubuntu"): "Ubuntu",
    ("apk", "alpine"): "Alpine", ("apk", "wolfi"): "Wolfi", ("apk", "chainguard"): "Chainguard",
    ("rpm", "redhat"): "Red Hat", ("rpm", "rocky"): "Rocky Linux",
    ("rpm", "almalinux"): "AlmaLinux", ("rpm", "opensuse"): "openSUSE", ("rpm", "suse"): "SUSE",
    ("rpm", "mageia"): "Mageia", ("rpm", "openeuler"): "openEuler",
}
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_URLSAFE_B64 = re.compile(r"[A-Za-z0-9_-]+=*")


def package_from_purl(purl: str, *, display: str = "", version: str = "",
                      os_release: dict[str, str] | None = None) -> Package | None:
    """The Package a purl names, or None when the purl does not parse."""
    from packageurl import PackageURL  # lazy: 30 ms

    try:
        p = PackageURL.from_string(purl)
    except ValueError:
        return None
    return _package(p, purl, display, version, os_release or {})


def _package(p: Any, purl: str, display: str, version: str,
             os_release: dict[str, str]) -> Package:
    kind = (p.type or "").lower()
    namespace = unquote(p.namespace or "")
    name = unquote(p.name or "")
    qualifiers = p.qualifiers if isinstance(p.qualifiers, dict) else {}
    ver = unquote(p.version or "") or version
    release = ""
    if kind in ("deb", "apk", "rpm"):
        ecosystem = _DISTRO_ECOSYSTEM.get((kind, namespace.lower()), "")
        upstream = unquote(qualifiers.get("upstream", "") or "")
        if upstream:  # syft: "openssl" or "openssl@1.1.1n-0+deb11u3" (source name@version)
            source_name = upstream.partition("@")[0].strip()
            if source_name:
                display, name = display or name, source_name
        distro = unquote(qualifiers.get("distro", "") or "") or os_release.get(namespace.lower(), "")
        release = normalise_release(ecosystem, distro.rpartition("-")[2] if "-" in distro else distro)
    else:
        ecosystem = _PURL_ECOSYSTEM.get(kind, "")
        if kind == "maven" and namespace:
            name = f"{namespace}:{name}"
        elif kind in ("npm", "golang", "composer", "swift", "githubactions") and namespace:
            name = f"{namespace}/{name}"
    if display == name:
        display = ""
    return Package(name, ver, purl, ecosystem, release, display)


def read_sbom(path: str | Path) -> Sbom:
    """Read one SBOM file (see `parse_sbom`); errors name the file."""
    p = Path(path)
    try:
        if p.stat().st_size > _MAX_SBOM:
            raise SbomError(f"{path}: larger than {_MAX_SBOM // (1024 * 1024)} MiB")
        data = p.read_bytes()
    except OSError as err:
        raise SbomError(f"{path}: cannot read: {err.strerror or err}") from None
    return parse_sbom(data, source=str(path))


def parse_sbom(data: bytes | str | dict[str, Any], *, source: str = "") -> Sbom:
    """Parse a CycloneDX/SPDX JSON SBOM, bare or wrapped in an in-toto statement, a DSSE
    envelope or a Sigstore bundle. Raises SbomError with one line naming SOURCE."""
    where = source or "<sbom>"
    doc = _load(data, where)
    via = ""
    subject: tuple[str, str | None] | None = None
    if isinstance(doc.get("dsseEnvelope"), dict):  # Sigstore bundle
        doc, via = doc["dsseEnvelope"], "Sigstore bundle"
    if "payloadType" in doc and "payload" in doc:
        doc = _dsse_payload(doc, where)
        via = via or "DSSE envelope"
    if "predicateType" in doc or str(doc.get("_type", "")).startswith("https://in-toto.io/"):
        doc, subject = _statement(doc, where)
        via = via or "in-toto statement"
    if "Data" in doc and "bomFormat" not in doc and "spdxVersion" not in doc:
        data = doc["Data"]  # a bare predicate in cosign's generic wrapper
        doc = data if isinstance(data, dict) else _load(str(data).encode(), f"{where} (Data)")
    if doc.get("bomFormat") == "CycloneDX":
        sbom = _cyclonedx(doc, where)
    elif isinstance(doc.get("spdxVersion"), str):
        sbom = _spdx(doc, where)
    else:
        raise SbomError(f"{where}: not a CycloneDX or SPDX JSON document (no `bomFormat: "
                        "CycloneDX` or `spdxVersion`)")
    if subject is not None:
        name, digest = subject
        sbom = Sbom(sbom.format, sbom.source, name or sbom.subject_name,
                    digest or sbom.subject_digest, sbom.packages, via)
    elif via:
        sbom = Sbom(sbom.format, sbom.source, sbom.subject_name, sbom.subject_digest,
                    sbom.packages, via)
    return sbom


def _one_line(err: object, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _load(data: bytes | str | dict[str, Any], where: str) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    import orjson

    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise SbomError(f"{where}: not valid JSON: {_one_line(err)}") from None
    if not isinstance(doc, dict):
        raise SbomError(f"{where}: not a JSON object")
    return doc


def _dsse_payload(env: dict[str, Any], where: str) -> dict[str, Any]:
    kind = env.get("payloadType")
    if kind != "application/vnd.in-toto+json":
        raise SbomError(f"{where}: DSSE payloadType {kind!r} is not application/vnd.in-toto+json")
    payload = str(env["payload"]).strip()
    try:
        raw = base64.b64decode(payload, validate=True)
    except ValueError:
        try:  # some tools write URL-safe base64
            if not _URLSAFE_B64.fullmatch(payload):
                raise ValueError(payload)
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except ValueError:  # binascii.Error is a ValueError
            raise SbomError(f"{where}: DSSE payload is not base64") from None
    return _load(raw, f"{where} (DSSE payload)")


_CDX_PREDICATE = "https://cyclonedx.org/bom"
_SPDX_PREDICATE = "https://spdx.dev/Document"


def _statement(stmt: dict[str, Any], where: str) -> tuple[dict[str, Any], tuple[str, str | None]]:
    kind = str(stmt.get("predicateType", ""))
    if not (kind.startswith(_CDX_PREDICATE) or kind.startswith(_SPDX_PREDICATE)):
        raise SbomError(f"{where}: in-toto predicateType {kind!r} is not an SBOM "
                        f"({_CDX_PREDICATE} or {_SPDX_PREDICATE})")
    predicate = stmt.get("predicate")
    if isinstance(predicate, dict) and "Data" in predicate and "bomFormat" not in predicate:
        predicate = predicate["Data"]  # cosign's generic predicate wrapper
    if isinstance(predicate, str):
        predicate = _load(predicate.encode(), f"{where} (predicate)")
    if not isinstance(predicate, dict):
        raise SbomError(f"{where}: in-toto predicate is not a JSON object")
    name, digest = "", None
    subjects = stmt.get("subject")
    if isinstance(subjects, list) and subjects and isinstance(subjects[0], dict):
        name = str(subjects[0].get("name") or "")
        digests = subjects[0].get("digest")
        if isinstance(digests, dict) and isinstance(digests.get("sha256"), str):
            digest = f"sha256:{digests['sha256'].lower()}"
    return predicate, (name, digest)


def _digest_in(*texts: object) -> str | None:
    for text in texts:
        if isinstance(text, str):
            found = _DIGEST.search(unquote(text).lower())
            if found:
                return found.group(0)
    return None


# -- CycloneDX --------------------------------------------------------------------------------

# The component fields that bear on matching (and on naming the subject). The others —
# properties, licenses, hashes, evidence, pedigree, external references, … — are not handed
# to the library: each becomes sorted sets of model objects, and syft writes several
# properties per component, which would multiply the parse time for nothing.
_COMPONENT_FIELDS = frozenset({"type", "name", "version", "group", "purl", "bom-ref", "scope",
                               "cpe", "components"})


def _slim(component: Any, *, keep_hashes: bool = False) -> Any:
    if not isinstance(component, dict):
        return component  # the library reports the error
    out = {k: v for k, v in component.items()
           if k in _COMPONENT_FIELDS or (keep_hashes and k == "hashes")}
    nested = out.get("components")
    if isinstance(nested, list):
        out["components"] = [_slim(c) for c in nested]
    return out


def _cyclonedx(doc: dict[str, Any], where: str) -> Sbom:
    from cyclonedx.model.bom import BomMetaData  # lazy: ~120 ms
    from cyclonedx.model.component import Component

    spec = str(doc.get("specVersion", "?"))
    raw = doc.get("components", [])
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise SbomError(f"{where}: invalid CycloneDX {spec}: `components` is not a list of objects")
    if not isinstance(doc.get("metadata", {}), dict):
        raise SbomError(f"{where}: invalid CycloneDX {spec}: `metadata` is not an object")
    at = "metadata: "
    try:
        metadata = doc.get("metadata") or {}
        subject = metadata.get("component")
        meta = (BomMetaData.from_json(  # type: ignore[attr-defined]
            {"component": _slim(subject, keep_hashes=True)}) if isinstance(subject, dict) else None)
        top = []
        for i, item in enumerate(raw):
            at = f"components[{i}]: "
            top.append(Component.from_json(_slim(item)))  # type: ignore[attr-defined]
    except Exception as err:  # noqa: BLE001 - py-serializable raises many types
        raise SbomError(f"{where}: invalid CycloneDX {spec}: {at}{_one_line(err)}") from None
    components: list[Any] = []
    stack = list(top)
    while stack:
        comp = stack.pop()
        components.append(comp)
        stack.extend(comp.components)
    os_release: dict[str, str] = {}
    for comp in components:
        if str(getattr(comp.type, "value", comp.type)) == "operating-system" and comp.version:
            os_release[str(comp.name).lower()] = str(comp.version)
    packages: list[Package] = []
    for comp in components:
        kind = str(getattr(comp.type, "value", comp.type))
        if kind == "operating-system":
            continue
        version = str(comp.version or "")
        if comp.purl is not None:
            packages.append(_package(comp.purl, comp.purl.to_string(), str(comp.name), version,
                                     os_release))
        else:
            packages.append(Package(str(comp.name), version))
    name, digest = "", None
    subject = meta.component if meta is not None else None
    if subject is not None:
        name = str(subject.name)
        if subject.version and not _DIGEST.fullmatch(str(subject.version)):
            name = f"{name}:{subject.version}" if ":" not in name.rsplit("/", 1)[-1] else name
        hashes = [f"sha256:{h.content}" for h in subject.hashes if str(h.alg.value) == "SHA-256"]
        digest = _digest_in(str(subject.version or ""),
                            subject.purl.to_string() if subject.purl else "",
                            *hashes, str(subject.bom_ref.value or ""))
    packages.sort(key=lambda p: (p.ecosystem, p.name, p.version))
    return Sbom(f"CycloneDX {spec}", where, name, digest, tuple(packages))


# -- SPDX -------------------------------------------------------------------------------------

def _spdx(doc: dict[str, Any], where: str) -> Sbom:
    version = str(doc.get("spdxVersion"))
    if version not in ("SPDX-2.2", "SPDX-2.3"):
        raise SbomError(f"{where}: {version} is not supported (SPDX-2.2 and SPDX-2.3 JSON are)")
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        document = JsonLikeDictParser().parse(doc)  # type: ignore[no-untyped-call]
    except SPDXParsingError as err:
        messages = err.get_messages()  # type: ignore[no-untyped-call]
        raise SbomError(f"{where}: invalid {version}: {_one_line('; '.join(map(str, messages)))}") \
            from None
    except Exception as err:  # noqa: BLE001 - the parser's own type errors on odd input
        raise SbomError(f"{where}: invalid {version}: {_one_line(err)}") from None
    problems = validate_full_spdx_document(document, version)
    if problems:
        first = problems[0].validation_message
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SbomError(f"{where}: invalid {version}: {_one_line(first)}{more}")
    described = {
        r.related_spdx_element_id for r in document.relationships
        if r.spdx_element_id == "SPDXRef-DOCUMENT" and r.relationship_type.name == "DESCRIBES"
    }
    os_release: dict[str, str] = {}
    for pkg in document.packages:
        purpose = getattr(pkg.primary_package_purpose, "name", "")
        if purpose == "OPERATING_SYSTEM" and pkg.version:
            os_release[pkg.name.lower()] = str(pkg.version)
    packages: list[Package] = []
    name, digest = document.creation_info.name, None
    for pkg in document.packages:
        purl = next((ref.locator for ref in pkg.external_references
                     if ref.reference_type == "purl"), None)
        if pkg.spdx_id in described and len(described) == 1:
            name = pkg.name + (f":{pkg.version}" if pkg.version and not _DIGEST.fullmatch(
                str(pkg.version)) else "")
            checks = [f"sha256:{c.value}" for c in pkg.checksums if c.algorithm.name == "SHA256"]
            digest = _digest_in(str(pkg.version or ""), purl or "", *checks)
            if not purl or purl.startswith("pkg:oci/") or purl.startswith("pkg:docker/"):
                continue
        if getattr(pkg.primary_package_purpose, "name", "") == "OPERATING_SYSTEM":
            continue
        installed = str(pkg.version or "")
        found = package_from_purl(purl, display=pkg.name, version=installed,
                                  os_release=os_release) if purl else None
        packages.append(found or Package(pkg.name, installed, purl or ""))
    packages.sort(key=lambda p: (p.ecosystem, p.name, p.version))
    return Sbom(version, where, name, digest, tuple(packages))
