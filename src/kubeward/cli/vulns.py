"""`kubeward vulns` (SBOMs against the offline OSV database) and `kubeward db import|info`.

Exit codes: 0 no vulnerability at or above the gate; 1 the gate was hit (or, with
--require-sbom, an image of --manifests has no SBOM); 2 bad usage, a missing database, or an
SBOM that could not be read (the others are still matched and reported first: an unread SBOM
is an image nobody checked, so it must not pass a CI gate).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kubeward.supply.match import MatchResult, Vulnerability
    from kubeward.supply.sbom import Sbom
    from kubeward.supply.severity import VulnSeverity
    from kubeward.supply.vulndb import VulnDB

__all__ = ["db_group", "parse_fail_on", "vulns_cmd"]

_LEVELS = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def parse_fail_on(text: str | None) -> frozenset[VulnSeverity]:
    """`--fail-on CRITICAL,HIGH` -> the set of levels that fail the run.

    The lowest level listed and every level above it fail (so `CRITICAL,HIGH` == `HIGH`,
    as in the seed's `trivy --severity CRITICAL,HIGH --exit-code 1` gate); UNKNOWN (no
    severity in the advisory) fails only when listed. Without the option every reported
    vulnerability fails."""
    from kubeward.supply.severity import VulnSeverity

    if text is None:
        return frozenset(VulnSeverity)
    levels: set[VulnSeverity] = set()
    for word in text.split(","):
        if not word.strip():
            continue
        try:
            levels.add(VulnSeverity.parse(word))
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--fail-on") from None
    if not levels:
        raise click.BadParameter("give at least one severity", param_hint="--fail-on")
    known = [lv for lv in levels if lv != VulnSeverity.UNKNOWN]
    out: set[VulnSeverity] = {lv for lv in VulnSeverity
                              if known and lv >= min(known) and lv != VulnSeverity.UNKNOWN}
    if VulnSeverity.UNKNOWN in levels:
        out.add(VulnSeverity.UNKNOWN)
    return frozenset(out)


def _db_path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


DB_OPTION = click.option("--db", "db_path", metavar="PATH",
                         help="Database file [default: $KUBEWARD_VULNDB or "
                              "~/.cache/kubeward/vulndb.sqlite].")


@dataclass(slots=True)
class Run:
    results: list[MatchResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)  # images without an SBOM
    checked_images: int | None = None


def _sbom_files(paths: Sequence[str]) -> tuple[list[Path], list[str]]:
    files: list[Path] = []
    errors: list[str] = []
    for raw in paths:
        p = Path(raw)
        if raw == "-":
            files.append(p)
        elif p.is_dir():
            found = sorted(f for f in p.rglob("*.json") if f.is_file())
            if not found:
                errors.append(f"{raw}: no *.json SBOM files in this directory")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            errors.append(f"{raw}: no such file or directory")
    return files, errors


@click.command("vulns")
@click.argument("sboms", nargs=-1, metavar="[SBOM]...")
@click.option("--manifests", multiple=True, metavar="PATH",
              help="Manifests/charts whose images must each have one of the SBOMs (repeatable); "
                   "lists the images without one.")
@click.option("--require-sbom", is_flag=True,
              help="Exit 1 when an image of --manifests or --image has no SBOM.")
@click.option("--image", "images", multiple=True, metavar="REF",
              help="Read the image's signed SBOM attestations from its registry (repeatable; "
                   "needs --key). The only option that uses the network.")
@click.option("--key", "key_path", metavar="FILE",
              help="cosign public key (PEM) that must have signed the attestations of --image.")
@click.option("--registry-insecure", is_flag=True,
              help="Plain HTTP to the registry of --image (loopback test registries only).")
@click.option("--registry-timeout", type=float, default=20.0, show_default=True, metavar="S",
              help="Timeout of each registry request.")
@DB_OPTION
@click.option("--fail-on", metavar="LEVELS",
              help="Comma-separated severities that fail the run (CRITICAL,HIGH fails on HIGH "
                   "and above; UNKNOWN only when listed) [default: any vulnerability].")
@click.option("--ignore-unfixed", is_flag=True,
              help="Leave out vulnerabilities that have no fixed version.")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json", "sarif"]),
              default="table", show_default=True, help="Report format.")
@click.option("--output-file", metavar="FILE", help="Write the report to FILE (atomically).")
@click.option("--color/--no-color", default=None, help="Colour the table [default: on a TTY].")
def vulns_cmd(sboms: tuple[str, ...], manifests: tuple[str, ...], require_sbom: bool,
              images: tuple[str, ...], key_path: str | None, registry_insecure: bool,
              registry_timeout: float, db_path: str | None, fail_on: str | None,
              ignore_unfixed: bool, fmt: str, output_file: str | None, color: bool | None) -> None:
    """Match SBOMs against the offline vulnerability database.

    SBOM files are CycloneDX or SPDX 2.2/2.3 JSON, bare or as an in-toto attestation or DSSE
    envelope (a directory means every *.json in it, `-` standard input); --image reads the SBOM attestations
    signed with --key from the image's registry. Import the database first with
    `kubeward db import`. Nothing else uses the network.

    \b
    Examples:
      kubeward db import osv.zip
      kubeward vulns sbom.cdx.json --fail-on CRITICAL,HIGH
      kubeward vulns sboms/ --ignore-unfixed -o sarif --output-file vulns.sarif
      syft nginx:1.27 -o cyclonedx-json | kubeward vulns -
      kubeward vulns sboms/ --manifests k8s/ --require-sbom
      kubeward vulns --image ghcr.io/acme/api:1.4 --key cosign.pub --fail-on HIGH
    """
    from kubeward.cli.options import Problem, use_color, write_output

    gate = parse_fail_on(fail_on)
    if not sboms and not manifests and not images:
        raise click.UsageError("give SBOM files (or directories), --image REF and/or --manifests PATH")
    if images and not key_path:
        raise click.UsageError("--image needs --key (the cosign public key that signed the "
                               "attestations; keyless bundles: `kubeward images --verify --attestations`)")
    run = Run()
    files, run.errors = _sbom_files(sboms)
    read: list[Sbom] = []
    if files:
        from kubeward.supply.sbom import SbomError, parse_sbom, read_sbom

        for file in files:
            try:
                if str(file) == "-":
                    read.append(parse_sbom(sys.stdin.buffer.read(), source="<stdin>"))
                else:
                    read.append(read_sbom(file))
            except SbomError as err:
                run.errors.append(str(err))
    if images:
        assert key_path is not None
        read.extend(_from_registry(images, key_path, registry_insecure, registry_timeout, run))
    db = None
    if read:
        from kubeward.supply.vulndb import VulnDB, VulnDbError

        try:
            db = VulnDB.open(_db_path(db_path))
        except VulnDbError as err:
            raise Problem(str(err)) from None
        from kubeward.supply.match import match_sbom

        with db:
            for sbom in read:
                result = match_sbom(sbom, db)
                if ignore_unfixed:
                    from kubeward.supply.match import MatchResult

                    result = MatchResult(result.sbom, tuple(v for v in result.vulnerabilities
                                                            if v.fixed is not None),
                                         result.unsupported)
                run.results.append(result)
            db_meta = _db_meta(db)
    else:
        db_meta = {}
    if manifests:
        _coverage(manifests, read, run)

    for message in run.errors:
        click.echo(f"error: {message}", err=True)
    if fmt == "table":
        import io

        buf = io.StringIO()
        _render_table(run, buf, use_color(color))
        write_output(buf.getvalue(), output_file)
    elif fmt == "json":
        write_output(_render_json(run, db_meta, gate), output_file)
    else:
        write_output(_render_sarif(run), output_file)
    if fmt != "table":
        click.echo(_summary(run), err=True)
    if run.errors:
        sys.exit(2)
    failed = any(v.severity in gate for r in run.results for v in r.vulnerabilities)
    if require_sbom and run.missing:
        failed = True
    sys.exit(1 if failed else 0)


def _from_registry(images: Sequence[str], key_path: str, insecure: bool, timeout: float,
                   run: Run) -> list[Sbom]:
    """The verified SBOM attestations of each image (kubeward.supply.cosign: `.att` DSSE
    envelopes and Sigstore bundle referrers, signature and subject digest checked). An
    attestation that does not verify is never read: an unsigned SBOM could hide packages.
    An image without a verified SBOM is listed with the images without an SBOM."""
    from kubeward.cli.options import Problem
    from kubeward.k8s.images import parse_image
    from kubeward.supply.cosign import CosignError, Verifier, load_public_key
    from kubeward.supply.inventory import canonical
    from kubeward.supply.oci import OciError, RegistryClient
    from kubeward.supply.sbom import Sbom, SbomError

    try:
        key = load_public_key(key_path)
    except CosignError as err:
        raise Problem(str(err)) from None
    found: list[Sbom] = []
    run.checked_images = (run.checked_images or 0) + len(images)
    for raw in images:
        ref = parse_image(raw)
        shown = canonical(ref)
        try:
            with RegistryClient(ref.registry, insecure=insecure, timeout=timeout) as client:
                digest = client.resolve(ref.repository, ref.digest or ref.tag or "latest")
                atts = Verifier(client, key=key).attestations(ref.repository, digest)
        except (OciError, CosignError) as err:
            run.errors.append(f"{shown}: {err}")
            continue
        sboms = []
        for att in atts:
            try:
                sbom = att.sbom()
            except SbomError as err:
                run.errors.append(f"{shown}: {err}")
                continue
            if sbom is not None:
                sboms.append(Sbom(sbom.format, f"{shown} ({att.source})",
                                  sbom.subject_name or ref.name, sbom.subject_digest or digest,
                                  sbom.packages, "verified attestation"))
        if not sboms:
            run.missing.append({"image": shown, "workloads": [],
                                "reason": "no verified SBOM attestation"})
        found.extend(sboms)
    return found


def _db_meta(db: VulnDB) -> dict[str, Any]:
    advisories, imported_at = db.summary()
    return {"path": str(db.path), "importedAt": imported_at, "advisories": advisories}


def _coverage(manifests: Sequence[str], sboms: Sequence[Sbom], run: Run) -> None:
    from kubeward.cli.inputs import inventory_for
    from kubeward.supply.inventory import image_inventory
    from kubeward.supply.match import sbom_for_image

    inventory = inventory_for(list(manifests), None, None, None, 30.0)
    entries = image_inventory(inventory)
    run.checked_images = (run.checked_images or 0) + len(entries)
    for entry in entries:
        if sbom_for_image(entry.ref, sboms) is None:
            run.missing.append({"image": entry.canonical, "workloads": entry.workloads})


# -- output -----------------------------------------------------------------------------------

def _all(run: Run) -> list[Vulnerability]:
    return [v for r in run.results for v in r.vulnerabilities]


def _summary(run: Run) -> str:
    from collections import Counter

    vulns = _all(run)
    counts = Counter(v.severity.name for v in vulns)
    parts = [f"{counts[name]} {name.lower()}" for name in reversed(_LEVELS) if counts[name]]
    packages = len({(v.sbom, v.package) for v in vulns})
    text = (f"{len(vulns)} vulnerabilities in {packages} packages of {len(run.results)} SBOMs"
            + (f" ({', '.join(parts)})" if parts else ""))
    if run.checked_images is not None:
        text += f"; {len(run.missing)} of {run.checked_images} images without an SBOM"
    if run.errors:
        text += f"; {len(run.errors)} input errors"
    return text


_STYLE = {"CRITICAL": "bold red", "HIGH": "red", "MEDIUM": "yellow", "LOW": "cyan",
          "UNKNOWN": "dim"}


def _render_table(run: Run, out: Any, color: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, force_terminal=color, no_color=not color, width=160,
                      highlight=False, soft_wrap=False)
    for result in run.results:
        sbom = result.sbom
        head = f"\n{sbom.source}  {sbom.subject_name or '(no subject)'}"
        if sbom.subject_digest:
            head += f"@{sbom.subject_digest[:19]}…"
        head += f"  [{sbom.format}{', ' + sbom.via if sbom.via else ''}; {len(sbom.packages)} packages]"
        console.print(Text(head, style="bold"))
        if result.unsupported:
            n = result.unsupported
            console.print(Text(f"  {n} package{'s' if n != 1 else ''} without a package URL or "
                               "version could not be matched", style="dim"))
        if not result.vulnerabilities:
            console.print(Text("  no known vulnerabilities"))
            continue
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED", "SUMMARY"):
            table.add_column(col, overflow="fold", no_wrap=col in ("SEVERITY", "ID"))
        for v in result.vulnerabilities:
            ident = v.id + (f" ({', '.join(v.aliases)})" if v.aliases else "")
            table.add_row(Text(v.severity.name, style=_STYLE[v.severity.name]), Text(ident),
                          Text(f"{v.package.name} [{v.package.ecosystem}]"), Text(v.installed),
                          Text(v.fixed or "-"), Text(v.summary))
        console.print(table)
    if run.missing:
        console.print(Text(f"\nImages without an SBOM ({len(run.missing)})", style="bold"))
        for item in run.missing:
            why = ", ".join(item["workloads"]) or item.get("reason", "")
            console.print(Text(f"  {item['image']}  ({why})"))
    console.print()
    console.print(Text(_summary(run), style="bold"))


def _vuln_json(v: Vulnerability) -> dict[str, Any]:
    return {
        "id": v.id, "aliases": list(v.aliases), "severity": v.severity.name, "cvssScore": v.score,
        "package": {"name": v.package.name, "ecosystem": v.package.ecosystem,
                    "purl": v.package.purl, "componentName": v.package.label},
        "installedVersion": v.installed, "fixedVersion": v.fixed, "summary": v.summary,
        "url": f"https://osv.dev/vulnerability/{v.id}",
    }


def _render_json(run: Run, db_meta: dict[str, Any], gate: frozenset[VulnSeverity]) -> bytes:
    import orjson

    from kubeward import __version__

    vulns = _all(run)
    doc: dict[str, Any] = {
        "schemaVersion": 1,
        "tool": {"name": "kubeward", "version": __version__},
        "database": db_meta or None,
        "sboms": [{
            "source": r.sbom.source, "format": r.sbom.format, "via": r.sbom.via or None,
            "subject": {"name": r.sbom.subject_name or None, "digest": r.sbom.subject_digest},
            "packages": len(r.sbom.packages), "unmatchablePackages": r.unsupported,
            "vulnerabilities": [_vuln_json(v) for v in r.vulnerabilities],
        } for r in run.results],
        "summary": {
            "vulnerabilities": len(vulns),
            "bySeverity": {name: sum(1 for v in vulns if v.severity.name == name)
                           for name in _LEVELS},
            "failOn": sorted(s.name for s in gate),
            "gateHit": any(v.severity in gate for v in vulns),
        },
        "errors": run.errors,
    }
    if run.checked_images is not None:
        doc["imagesWithoutSbom"] = run.missing
        doc["summary"]["imagesChecked"] = run.checked_images
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


_SECURITY_SEVERITY = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "3.0",
                      "UNKNOWN": "0.0"}
_LEVEL = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note",
          "UNKNOWN": "note"}


def _render_sarif(run: Run) -> bytes:
    """SARIF 2.1.0: one rule per advisory, one result per vulnerable package of each SBOM,
    located at the SBOM file (the package's purl as a logical location), in the style of
    `report/sarif.py` (security-severity, partialFingerprints, %SRCROOT%-relative URIs)."""
    import os

    import orjson

    from kubeward import __version__
    from kubeward.report.sarif import SARIF_SCHEMA, _uri

    vulns = _all(run)
    rules: dict[str, dict[str, Any]] = {}
    for v in vulns:
        if v.id in rules:
            continue
        score = f"{v.score:.1f}" if v.score is not None else _SECURITY_SEVERITY[v.severity.name]
        aliases = ", ".join(v.aliases)
        rules[v.id] = {
            "id": v.id,
            "name": v.id.replace("-", "_"),
            "shortDescription": {"text": v.summary or v.id},
            "fullDescription": {"text": (v.summary or v.id) + (f" (aliases: {aliases})" if aliases else "")},
            "help": {
                "text": f"{v.summary}\n\nUpgrade the package to a fixed version.",
                "markdown": f"**{v.id}**{f' ({aliases})' if aliases else ''}\n\n{v.summary}\n\n"
                            f"See https://osv.dev/vulnerability/{v.id}",
            },
            "helpUri": f"https://osv.dev/vulnerability/{v.id}",
            "defaultConfiguration": {"level": _LEVEL[v.severity.name]},
            "properties": {"tags": ["security", "vulnerability"], "precision": "high",
                           "security-severity": score},
        }
    order = sorted(rules)
    index = {rid: i for i, rid in enumerate(order)}
    results = []
    for v in vulns:
        fixed = f"fixed in {v.fixed}" if v.fixed else "no fixed version"
        subject = next((r.sbom.subject_name for r in run.results if r.sbom.source == v.sbom), "")
        location: dict[str, Any] = {
            "logicalLocations": [{"fullyQualifiedName": v.package.purl or v.package.name,
                                  "kind": "package"}]}
        uri = _uri(v.sbom) if Path(v.sbom).is_file() else None  # not for registry SBOMs
        if uri is not None:
            location["physicalLocation"] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                                            "region": {"startLine": 1}}
        key = f"{subject}|{v.package.ecosystem}|{v.package.name}|{v.installed}|{v.id}"
        results.append({
            "ruleId": v.id,
            "ruleIndex": index[v.id],
            "level": _LEVEL[v.severity.name],
            "message": {"text": f"{v.package.name} {v.installed} ({v.package.ecosystem}) is affected "
                                f"by {v.id}{' (' + ', '.join(v.aliases) + ')' if v.aliases else ''}; "
                                f"{fixed}" + (f" [{subject}]" if subject else "")},
            "locations": [location],
            "partialFingerprints": {"kubewardVuln/v1": hashlib.sha256(key.encode()).hexdigest()[:32]},
            "properties": {"security-severity": rules[v.id]["properties"]["security-severity"],
                           "purl": v.package.purl, "installedVersion": v.installed,
                           "fixedVersion": v.fixed, "ecosystem": v.package.ecosystem,
                           "image": subject},
        })
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "kubeward", "version": __version__,
                                "semanticVersion": __version__,
                                "informationUri": "https://kubeward.dev",
                                "rules": [rules[r] for r in order]}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
            "results": results,
            "invocations": [{
                "executionSuccessful": not run.errors,
                "toolExecutionNotifications": [{"level": "error", "message": {"text": e}}
                                               for e in run.errors],
            }],
            "properties": {"workingDirectory": os.getcwd()},
        }],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


# -- kubeward db --------------------------------------------------------------------------------

@click.group("db")
def db_group() -> None:
    """The offline vulnerability database (OSV format, SQLite).

    \b
    Examples:
      kubeward db import osv-data.zip
      kubeward db import ./advisories/ --db ./vulndb.sqlite
      kubeward db info
    """


@db_group.command("import")
@click.argument("source", metavar="DIR|ZIP")
@DB_OPTION
@click.option("--replace", is_flag=True, help="Empty the database before importing.")
def db_import(source: str, db_path: str | None, replace: bool) -> None:
    """Import OSV advisories from a directory of JSON files or a zip (osv.dev's all.zip).

    Advisories are upserted by id: importing the same data again changes nothing, newer
    copies replace older ones, withdrawn advisories are removed.

    \b
    Examples:
      kubeward db import all.zip      # osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip
      kubeward db import advisories/ --replace
      kubeward db import npm.zip --db ./vulndb.sqlite
    """
    from kubeward.cli.options import Problem
    from kubeward.supply.osv import OsvError
    from kubeward.supply.vulndb import VulnDB, VulnDbError

    try:
        db = VulnDB.create(_db_path(db_path))
    except VulnDbError as err:
        raise Problem(str(err)) from None
    try:
        with db:
            stats = db.import_source(source, replace=replace)
    except OsvError as err:
        raise Problem(str(err)) from None
    for message in stats.errors:
        click.echo(f"error: {message}", err=True)
    if stats.unchanged:
        click.echo(f"error: {source}: no readable OSV advisory (*.json files, or a zip of them); "
                   f"{db.path} was left unchanged", err=True)
        sys.exit(2)
    click.echo(f"imported {stats.advisories} advisories ({stats.affected} affected packages) "
               f"into {db.path} in {stats.seconds:.1f} s; {stats.withdrawn} withdrawn and "
               f"{stats.skipped} without a matchable package skipped"
               + (f"; {len(stats.errors)} files could not be read" if stats.errors else ""))
    if stats.errors and not stats.advisories:
        sys.exit(2)


@db_group.command("info")
@DB_OPTION
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def db_info(db_path: str | None, fmt: str) -> None:
    """Counts per ecosystem and the import date of the database.

    \b
    Examples:
      kubeward db info
      kubeward db info --db ./vulndb.sqlite -o json
    """
    from kubeward.cli.options import Problem
    from kubeward.supply.vulndb import VulnDB, VulnDbError

    try:
        db = VulnDB.open(_db_path(db_path))
    except VulnDbError as err:
        raise Problem(str(err)) from None
    with db:
        info = db.info()
    if fmt == "json":
        import orjson

        click.echo(orjson.dumps({
            "path": str(info.path), "importedAt": info.imported_at, "advisories": info.advisories,
            "sources": info.sources,
            "ecosystems": {eco: {"advisories": a, "packages": p}
                           for eco, (a, p) in info.per_ecosystem.items()},
        }, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"database:   {info.path}")
    click.echo(f"imported:   {info.imported_at or 'never'}")
    click.echo(f"sources:    {', '.join(info.sources) or '-'}")
    click.echo(f"advisories: {info.advisories}")
    width = max((len(e) for e in info.per_ecosystem), default=9)
    click.echo(f"\n{'ECOSYSTEM'.ljust(width)}  ADVISORIES  PACKAGES")
    for eco, (adv, pkgs) in info.per_ecosystem.items():
        click.echo(f"{eco.ljust(width)}  {adv:>10}  {pkgs:>8}")
