"""Secrets out of Git, out of env vars (checklist item 2). Values are never printed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.findings import Severity
from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import PodTemplate, containers
from kubeward.rules.base import Context, Hit, Refs, object_rule, pod_rule
from kubeward.secretscan import known_token, looks_like_secret_name, plausible_secret_value, redact

NSA_SECRETS = "NSA-CISA: Secrets"
MITRE_CREDS = ("T1552.001", "T1552.007")


@pod_rule(
    id="secrets.literal-in-env",
    title="Secret-looking literal in a container env var",
    severity=Severity.HIGH,
    checklist=2,
    remediation="Move the value into a Secret managed outside Git (External Secrets, "
    "Sealed Secrets, SOPS) and mount it as a file; rotate the exposed credential.",
    refs=Refs(cis=("5.4.1",), nsa=(NSA_SECRETS,), mitre=MITRE_CREDS),
)
def literal_in_env(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """A credential written into a manifest lives forever in Git history and in `kubectl get`."""
    extra = ctx.config.secret_names
    for c in containers(pod.spec):
        env = c.spec.get("env")
        if not isinstance(env, list):
            continue
        for i, var in enumerate(env):
            if not isinstance(var, dict):
                continue
            value = var.get("value")
            if not isinstance(value, str) or not value:
                continue
            name = str(var.get("name", ""))
            token = known_token(value)
            if token is None and not (
                looks_like_secret_name(name, extra) and plausible_secret_value(value)
            ):
                continue
            what = token or "a secret-looking value"
            yield Hit(
                f'container "{c.name}" env {name} holds {what} as a literal: {redact(value)}',
                (*pod.spec_path, *c.path, "env", i, "value"),
            )


@pod_rule(
    id="secrets.env-secret-ref",
    title="Secret exposed as an environment variable",
    severity=Severity.LOW,
    checklist=2,
    remediation="Mount the Secret as a read-only volume (or use the Secrets Store CSI driver) "
    "instead of env/envFrom: env vars leak into logs, crash dumps and child processes.",
    refs=Refs(cis=("5.4.1",), nsa=(NSA_SECRETS,), mitre=("T1552.007",)),
)
def env_secret_ref(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """Env vars are inherited by every child process and often logged; files are not."""
    for c in containers(pod.spec):
        env = c.spec.get("env")
        for i, var in enumerate(env if isinstance(env, list) else []):
            source = var.get("valueFrom") if isinstance(var, dict) else None
            ref = source.get("secretKeyRef") if isinstance(source, dict) else None
            if isinstance(ref, dict):
                yield Hit(
                    f'container "{c.name}" env {var.get("name")} reads Secret '
                    f'"{ref.get("name")}" key "{ref.get("key")}"',
                    (*pod.spec_path, *c.path, "env", i),
                )
        env_from = c.spec.get("envFrom")
        for i, item in enumerate(env_from if isinstance(env_from, list) else []):
            ref = item.get("secretRef") if isinstance(item, dict) else None
            if isinstance(ref, dict):
                yield Hit(
                    f'container "{c.name}" envFrom loads every key of Secret "{ref.get("name")}"',
                    (*pod.spec_path, *c.path, "envFrom", i),
                )


_LIVE_SOURCES = frozenset({"cluster", "snapshot", "admission"})


@object_rule(
    kinds=("Secret",),
    id="secrets.secret-manifest-committed",
    title="Secret with data committed as a manifest",
    severity=Severity.HIGH,
    checklist=2,
    remediation="Remove the Secret from Git (and its history), rotate the values, and deliver "
    "it with External Secrets Operator, Sealed Secrets or SOPS-encrypted files.",
    refs=Refs(nsa=(NSA_SECRETS,), mitre=("T1552.001",)),
)
def secret_manifest(ctx: Context, res: Resource) -> Iterator[Hit]:
    """base64 is an encoding, not encryption: anyone who can read the repo has the secret."""
    if res.origin.source.kind in _LIVE_SOURCES:
        return
    keys: list[str] = []
    for field in ("data", "stringData"):
        data = res.obj.get(field)
        if isinstance(data, dict):
            keys.extend(str(k) for k, v in data.items() if v not in (None, ""))
    if keys:
        shown = ", ".join(sorted(keys)[:5]) + (" …" if len(keys) > 5 else "")
        field = "data" if res.obj.get("data") else "stringData"
        yield Hit(f"Secret carries {len(keys)} value(s) in the manifest (keys: {shown})", (field,))


def _scan_config_value(key: str, value: str, extra: tuple[str, ...]) -> str | None:
    token = known_token(value)
    if token:
        return token
    if looks_like_secret_name(key, extra) and plausible_secret_value(value):
        return "a secret-looking value"
    return None


@object_rule(
    kinds=("ConfigMap",),
    id="secrets.literal-in-configmap",
    title="Secret-looking literal in a ConfigMap",
    severity=Severity.HIGH,
    checklist=2,
    remediation="ConfigMaps are not secret (readable with broad `get configmaps` rights and "
    "unencrypted at rest): move the value into a Secret delivered from outside Git.",
    refs=Refs(nsa=(NSA_SECRETS,), mitre=("T1552.001", "T1552.007")),
)
def literal_in_configmap(ctx: Context, res: Resource) -> Iterator[Hit]:
    """ConfigMaps are designed for non-confidential data and are granted widely."""
    data: Mapping[str, Any] | None = res.obj.get("data")
    if not isinstance(data, dict):
        return
    extra = ctx.config.secret_names
    for key, value in data.items():
        if not isinstance(value, str):
            continue
        what = _scan_config_value(str(key), value, extra)
        if what:
            yield Hit(f"key {key} holds {what}: {redact(value)}", ("data", str(key)))
