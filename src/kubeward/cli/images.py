"""`kubeward images`: the image inventory, its gates, and (on request) cosign verification.

Inputs as in `kubeward plan`: PATHS, or --snapshot FILE, or the live cluster. Offline by
default; `--verify` is the only network use (the registries of the listed images). Findings
reuse the scan rules (image.latest-tag, image.digest-pin, image.allowed-registry,
image.not-verified); with --verify a failed signature counts as high and an unsigned image
as medium for --fail-on. Exit 0 clean, 1 findings at or above --fail-on, 2 usage or input
errors (including a registry that could not be asked).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kubeward.cli.inputs import fail, input_options, inventory_for
from kubeward.cli.report_opts import SEVERITIES

if TYPE_CHECKING:
    from kubeward.config import Config
    from kubeward.findings import Finding, Severity
    from kubeward.inventory.index import Inventory
    from kubeward.supply.cosign import Attestation, VerifyResult
    from kubeward.supply.inventory import ImageEntry
    from kubeward.supply.keyless import KeylessPolicy
    from kubeward.supply.policies import Coverage

__all__ = ["images_cmd"]

IMAGE_RULES = ("image.latest-tag", "image.digest-pin", "image.allowed-registry",
               "image.not-verified")


@dataclass(slots=True)
class Row:
    entry: ImageEntry
    allowed: bool | None
    coverage: list[tuple[str, Coverage]]  # (workload, coverage) per usage
    findings: list[Finding] = field(default_factory=list)
    signature: VerifyResult | None = None
    attestations: list[Attestation] = field(default_factory=list)
    attestations_checked: bool = False

    @property
    def policies(self) -> list[str]:
        return sorted({p.label for _, c in self.coverage for p in c.policies})

    @property
    def uncovered(self) -> list[str]:
        return sorted({w for w, c in self.coverage if not c.covered})


def _findings(inventory: Inventory, config: Config) -> list[Finding]:
    import kubeward.rules.images
    import kubeward.rules.supply  # noqa: F401 - registers image.not-verified
    from kubeward.engine import run_rules
    from kubeward.rules.base import REGISTRY

    rules = [REGISTRY[r] for r in IMAGE_RULES if r in REGISTRY]
    return run_rules(inventory, config, rules).findings


def build_rows(inventory: Inventory, config: Config) -> list[Row]:
    """The inventory with allow-list, policy coverage and rule findings per image."""
    from kubeward.rules.images import registry_allowed
    from kubeward.supply.inventory import image_inventory
    from kubeward.supply.policies import coverage_for, find_policies

    policies = find_policies(inventory)
    allowed = config.allowed_registries
    rows: list[Row] = []
    by_place: dict[tuple[int, tuple[str | int, ...]], Row] = {}
    for entry in image_inventory(inventory):
        cov = [(u.workload, coverage_for(policies, inventory, entry.ref, u.resource.kind,
                                         u.resource.namespace)) for u in entry.usages]
        row = Row(entry, registry_allowed(entry.ref, allowed) if allowed else None, cov)
        rows.append(row)
        for u in entry.usages:
            by_place[(id(u.resource), u.path)] = row
    for f in _findings(inventory, config):
        if f.resource is None:
            continue
        found = by_place.get((id(f.resource), tuple(f.path)))
        if found is not None:
            found.findings.append(f)
    return rows


def _verify(rows: Sequence[Row], key: Any, keyless: KeylessPolicy | None, insecure: bool,
            attestations: bool, timeout: float) -> None:
    from kubeward.supply.cosign import Verifier
    from kubeward.supply.oci import OciError, RegistryClient

    clients: dict[str, RegistryClient] = {}
    try:
        for row in rows:
            ref = row.entry.ref
            client = clients.get(ref.registry)
            if client is None:
                client = clients[ref.registry] = RegistryClient(ref.registry, insecure=insecure,
                                                                timeout=timeout)
            verifier = Verifier(client, key=key, keyless=keyless)
            reference = ref.digest or row.entry.tag or "latest"
            row.signature = verifier.verify(ref.repository, reference, row.entry.canonical)
            if attestations and row.signature.digest:
                try:
                    row.attestations = verifier.attestations(ref.repository,
                                                             row.signature.digest)
                    row.attestations_checked = True
                except OciError as err:
                    click.echo(f"warning: {row.entry.canonical}: attestations: {err}", err=True)
    finally:
        for c in clients.values():
            c.close()


def _signature_severity(result: VerifyResult | None) -> Severity | None:
    from kubeward.findings import Severity

    if result is None:
        return None
    return {"failed": Severity.HIGH, "unsigned": Severity.MEDIUM}.get(result.status)


def _short(digest: str | None) -> str:
    return digest.split(":", 1)[1][:12] if digest else "-"


def _sbom_summary(atts: Sequence[Attestation]) -> dict[str, Any] | None:
    for att in atts:
        if not att.verified:
            continue
        from kubeward.supply.sbom import SbomError

        try:
            sbom = att.sbom()
        except SbomError as err:  # an unreadable SBOM is reported, not fatal
            return {"source": att.source, "error": str(err)}
        if sbom is not None:
            return {"source": att.source, "format": sbom.format, "packages": len(sbom.packages)}
    return None


def _row_json(row: Row) -> dict[str, Any]:
    e = row.entry
    out: dict[str, Any] = {
        "image": e.canonical, "spellings": sorted(e.spellings), "registry": e.ref.registry,
        "repository": e.ref.repository, "tag": e.tag, "digest": e.ref.digest,
        "pinned": e.pinned, "allowed": row.allowed, "workloads": e.workloads,
        "containers": [{"workload": u.workload, "container": u.container, "field": u.field}
                       for u in e.usages],
        "verification_policies": [
            {"tool": p.tool, "policy": p.name, "mode": p.mode, "attestors": list(p.attestors),
             "attestations": list(p.attestations)}
            for p in {p.label: p for _, c in row.coverage for p in c.policies}.values()],
        "unverified_in": row.uncovered,
        "policy_notes": sorted({n for _, c in row.coverage for n in c.notes}),
        "findings": [{"rule": f.rule.id, "severity": f.severity.label, "message": f.message,
                      "workload": f.resource.ref if f.resource else None}
                     for f in row.findings],
    }
    if row.signature is not None:
        out["signature"] = row.signature.as_dict()
    if row.attestations_checked:
        out["attestations"] = [{"source": a.source, "predicate_type": a.predicate_type,
                                "verified": a.verified, "reason": a.reason}
                               for a in row.attestations]
        out["sbom"] = _sbom_summary(row.attestations)  # null: no verified SBOM attestation
    return out


def _table(rows: Sequence[Row], verified: bool) -> str:
    head = ["IMAGE", "REGISTRY", "TAG", "DIGEST", "WORKLOADS", "PINNED", "ALLOWED", "POLICY"]
    if verified:
        head.append("SIGNATURE")
    lines = [head]
    for row in rows:
        e = row.entry
        workloads = e.workloads
        shown = workloads[0] + (f" (+{len(workloads) - 1})" if len(workloads) > 1 else "")
        policy = ",".join(row.policies) or "-"
        if row.policies and row.uncovered:
            policy += f" (not in {len(row.uncovered)})"
        cells = [e.ref.repository, e.ref.registry, e.tag or "-", _short(e.ref.digest), shown,
                 "yes" if e.pinned else "no",
                 "-" if row.allowed is None else ("yes" if row.allowed else "NO"), policy]
        if verified:
            sig = row.signature
            cells.append(sig.status if sig else "-")
        lines.append(cells)
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    text = "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in lines)
    details: list[str] = []
    for row in rows:
        sig = row.signature
        if sig is not None and sig.status != "verified":
            details.append(f"{row.entry.canonical}: {sig.status}: {sig.reason}")
        for f in row.findings:
            details.append(f"{row.entry.canonical}: [{f.severity.label}] {f.rule.id}: "
                           f"{f.resource.ref if f.resource else ''}: {f.message}")
        for note in sorted({n for _, c in row.coverage for n in c.notes}):
            details.append(f"{row.entry.canonical}: note: {note}")
        sbom = _sbom_summary(row.attestations)
        if row.attestations_checked and sbom is None:
            details.append(f"{row.entry.canonical}: no verified SBOM attestation")
        if row.attestations:
            details.append(f"{row.entry.canonical}: attestations: "
                           + ", ".join(f"{a.predicate_type or '?'}"
                                       f"{'' if a.verified else ' (unverified: ' + a.reason + ')'}"
                                       for a in row.attestations)
                           + (f"; SBOM {sbom.get('format')} with {sbom.get('packages')} "
                              f"package{'' if sbom.get('packages') == 1 else 's'}"
                              if sbom and "format" in sbom else ""))
    summary = f"\n{len(rows)} images"
    return text + "\n" + ("\n" + "\n".join(details) if details else "") + summary + "\n"


@click.command("images")
@click.argument("paths", nargs=-1)
@input_options
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--fail-on", type=click.Choice(SEVERITIES, case_sensitive=False), default=None,
              help="Exit 1 when a finding at or above this severity remains [default: low].")
@click.option("--allowed-registry", multiple=True, metavar="REGISTRY",
              help="Allowed image registry or prefix (adds to the config's list).")
@click.option("--config", "config_path", metavar="FILE", help="Config file.")
@click.option("--no-config", is_flag=True, help="Ignore any .kubeward.yaml.")
@click.option("--verify", is_flag=True,
              help="Verify cosign signatures in the registries (network; off by default).")
@click.option("--key", "key_path", metavar="FILE", help="cosign public key (PEM) for --verify.")
@click.option("--trusted-root", metavar="FILE",
              help="Sigstore trusted_root.json for keyless --verify (offline).")
@click.option("--certificate-identity", metavar="SAN", help="Keyless signer identity.")
@click.option("--certificate-oidc-issuer", metavar="URL", help="Keyless OIDC issuer.")
@click.option("--attestations", is_flag=True,
              help="With --verify: also fetch and verify attestations (SBOMs).")
@click.option("--registry-insecure", is_flag=True,
              help="Talk plain HTTP to registries (loopback test registries only).")
def images_cmd(paths: tuple[str, ...], snapshot_path: str | None, kubeconfig: str | None,
               context: str | None, request_timeout: float, fmt: str, fail_on: str | None,
               allowed_registry: tuple[str, ...], config_path: str | None, no_config: bool,
               verify: bool, key_path: str | None, trusted_root: str | None,
               certificate_identity: str | None, certificate_oidc_issuer: str | None,
               attestations: bool, registry_insecure: bool) -> None:
    """Inventory of every image, its pinning, registry, verification policy and signature.

    Lists each distinct image (containers, init and ephemeral containers, CronJob templates)
    with the workloads running it, whether it is pinned by digest, allowed by
    registries.allowed, and which image-verification policy (Kyverno verifyImages, Sigstore
    ClusterImagePolicy, Connaisseur, Ratify) covers it. --verify checks cosign signatures in
    the registry with --key, or keyless with --trusted-root, --certificate-identity and
    --certificate-oidc-issuer.

    \b
    Examples:
      kubeward images k8s/
      kubeward images --context prod -o json
      kubeward images k8s/ --verify --key cosign.pub --fail-on high
      kubeward images k8s/ --verify --trusted-root trusted_root.json \\
        --certificate-identity https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main \\
        --certificate-oidc-issuer https://token.actions.githubusercontent.com
    """
    from kubeward.cli.options import load_config_for
    from kubeward.findings import Severity

    key, keyless = _verification_options(verify, key_path, trusted_root, certificate_identity,
                                         certificate_oidc_issuer, attestations)
    config = load_config_for(paths, config_path, no_config)
    config.allowed_registries = (*config.allowed_registries, *allowed_registry)
    threshold = Severity.parse(fail_on) if fail_on else (config.fail_on or Severity.LOW)
    inventory = inventory_for(paths, snapshot_path, kubeconfig, context, request_timeout)
    rows = build_rows(inventory, config)
    if verify:
        _verify(rows, key, keyless, registry_insecure, attestations, request_timeout)
    if fmt == "json":
        click.echo(json.dumps({"images": [_row_json(r) for r in rows]}, indent=2))
    else:
        click.echo(_table(rows, verify), nl=False)
    errors = [r for r in rows if r.signature is not None and r.signature.status == "error"]
    for row in errors:
        assert row.signature is not None
        click.echo(f"Error: {row.entry.canonical}: {row.signature.reason}", err=True)
    if errors:
        sys.exit(2)
    worst = [f.severity for r in rows for f in r.findings if not f.suppressed] + \
        [s for r in rows if (s := _signature_severity(r.signature)) is not None]
    sys.exit(1 if any(s >= threshold for s in worst) else 0)


def _verification_options(verify: bool, key_path: str | None, trusted_root: str | None,
                          identity: str | None, issuer: str | None,
                          attestations: bool) -> tuple[Any, KeylessPolicy | None]:
    keyless_given = any((trusted_root, identity, issuer))
    if not verify:
        if key_path or keyless_given or attestations:
            fail("--key, --attestations and the keyless options need --verify")
        return None, None
    if key_path and keyless_given:
        fail("give either --key or the keyless options, not both")
    if key_path:
        from kubeward.supply.cosign import CosignError, load_public_key

        try:
            return load_public_key(key_path), None
        except CosignError as err:
            fail(str(err))
    if not (trusted_root and identity and issuer):
        fail("--verify needs --key FILE, or --trusted-root FILE with --certificate-identity "
             "and --certificate-oidc-issuer")
    if not Path(trusted_root).is_file():
        fail(f"{trusted_root}: no such file")
    from kubeward.supply.keyless import KeylessPolicy, check_trusted_root

    problem = check_trusted_root(Path(trusted_root))
    if problem:
        fail(problem)
    return None, KeylessPolicy(Path(trusted_root), identity, issuer)
