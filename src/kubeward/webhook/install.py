"""Everything it takes to run `kubeward serve` in a cluster, as plain objects.

`kubeward webhook install` prints them as YAML; `deploy/webhook/` is the cert-manager variant
written by `python -m kubeward.webhook.install deploy/webhook` (tests keep it in step).

Choices, each for a reason:

* The webhook configurations follow
  https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/:
  `sideEffects: None`, `admissionReviewVersions: [v1]`, `timeoutSeconds` above the server's
  own `requestTimeoutSeconds` (so the answer is always kubeward's), `matchPolicy:
  Equivalent`, and a namespaceSelector that leaves out kube-system and kubeward's own
  namespace (`kubernetes.io/metadata.name`, set on every namespace since v1.21), so the
  webhook can never block its own pods or the control plane.
* `serve` reads nothing from the API: the ServiceAccount has no token and no Role.
* The pods are PSS restricted, read-only root, non-root, with resources, 2 replicas spread
  by anti-affinity and a PodDisruptionBudget, so a drain never leaves the door without a
  guard (with `failurePolicy: Fail`, no guard means no pod can be created).
* NetworkPolicy: default deny both ways; ingress to 8443 from private ranges only (the API
  server's source address varies per cluster: narrow it); no egress at all.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["InstallOptions", "kustomize_files", "manifests", "to_yaml"]

IMAGE = "ghcr.io/kubeward/kubeward:0.1.0"
PORT = 8443
_LABELS = {"app.kubernetes.io/name": "kubeward", "app.kubernetes.io/component": "webhook"}
# The workload kinds the rules judge (k8s/pods.py _TEMPLATE_PATHS + Pod), by API group.
_RESOURCES = (
    ("", ("pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates")),
    ("apps", ("deployments", "replicasets", "statefulsets", "daemonsets")),
    ("batch", ("jobs", "cronjobs")),
)
_DIGEST_REASON = (
    "image.digest-pin=the release digest is set per installation (kustomize edit set "
    "image, or --image NAME@sha256:...); a digest here would pin a build that is not yours"
)

_SECRET_REASON = (
    "secrets.secret-manifest-committed=generated at install time for kubectl apply, not for Git "  # noqa: S105
    "(the command says so); use --cert-manager to keep key material out of manifests"
)


@dataclass(slots=True, frozen=True)
class InstallOptions:
    namespace: str = "kubeward"
    name: str = "kubeward-webhook"
    image: str = IMAGE
    replicas: int = 2
    failure_policy: str = "Fail"
    timeout_seconds: int = 10
    cert_manager: bool = False
    cert_days: int = 365


def _meta(name: str, namespace: str | None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = dict(_LABELS)
    meta.update(extra)
    return meta


def server_config(opts: InstallOptions) -> dict[str, Any]:
    """The `webhook.yaml` the pods read (docs/webhook.md explains each key)."""
    return {
        "failurePolicy": opts.failure_policy,
        "requestTimeoutSeconds": max(1, opts.timeout_seconds - 2),
        "maxBodyBytes": 6291456,
        "mutate": True,
        "exempt": {"namespaces": ["kube-system", opts.namespace], "usernames": [], "groups": []},
        "ruleSets": {
            "pss": {"mode": "enforce", "level": "restricted", "version": "latest"},
            "rules": {"mode": "warn", "minSeverity": "high"},
            "kyverno": {"mode": "enforce"},
            "vap": {"mode": "enforce"},
        },
        "namespaces": [],
    }


def _webhook(opts: InstallOptions, kind: str, ca_bundle: str | None) -> dict[str, Any]:
    validating = kind == "ValidatingWebhookConfiguration"
    path = "/validate" if validating else "/mutate"
    client: dict[str, Any] = {
        "service": {"name": opts.name, "namespace": opts.namespace, "path": path, "port": 443}
    }
    if ca_bundle is not None:
        client["caBundle"] = ca_bundle
    rules = [
        {
            "apiGroups": [group],
            "apiVersions": ["*"],
            "operations": ["CREATE", "UPDATE"],
            "resources": list(resources),
            "scope": "Namespaced",
        }
        for group, resources in _RESOURCES
    ]
    hook: dict[str, Any] = {
        "name": f"{'validate' if validating else 'mutate'}.kubeward.io",
        "admissionReviewVersions": ["v1"],
        "clientConfig": client,
        "rules": rules,
        "failurePolicy": opts.failure_policy,
        "matchPolicy": "Equivalent",
        "sideEffects": "None",
        "timeoutSeconds": opts.timeout_seconds,
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": ["kube-system", opts.namespace],
                }
            ]
        },
    }
    if not validating:
        hook["reinvocationPolicy"] = "IfNeeded"
    annotations = {}
    if opts.cert_manager:
        annotations["cert-manager.io/inject-ca-from"] = f"{opts.namespace}/{opts.name}"
    meta = _meta(opts.name, None)
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "webhooks": [hook],
    }


def _deployment(opts: InstallOptions) -> dict[str, Any]:
    selector = dict(_LABELS)
    probe = {"scheme": "HTTPS", "port": "https"}
    container = {
        "name": "webhook",
        "image": opts.image,
        "args": [
            "serve",
            "--config=/etc/kubeward/webhook.yaml",
            "--tls-cert=/etc/kubeward/tls/tls.crt",
            "--tls-key=/etc/kubeward/tls/tls.key",
            f"--port={PORT}",
        ],
        "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
        "env": [{"name": "HOME", "value": "/tmp"}],  # noqa: S108 - an emptyDir in the pod
        "readinessProbe": {
            "httpGet": {"path": "/readyz", **probe},
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", **probe},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "startupProbe": {
            "httpGet": {"path": "/healthz", **probe},
            "periodSeconds": 2,
            "failureThreshold": 30,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "volumeMounts": [
            {"name": "tls", "mountPath": "/etc/kubeward/tls", "readOnly": True},
            {
                "name": "config",
                "mountPath": "/etc/kubeward/webhook.yaml",
                "subPath": "webhook.yaml",
                "readOnly": True,
            },
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(opts.name, opts.namespace),
        "spec": {
            "replicas": opts.replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": dict(selector), "annotations": {"kubeward.io/ignore": _DIGEST_REASON}},
                "spec": {
                    "serviceAccountName": opts.name,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "fsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "topologyKey": "kubernetes.io/hostname",
                                        "labelSelector": {"matchLabels": dict(selector)},
                                    },
                                }
                            ]
                        }
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "tls", "secret": {"secretName": f"{opts.name}-tls", "defaultMode": 0o440}},
                        {"name": "config", "configMap": {"name": opts.name, "defaultMode": 0o440}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                    ],
                },
            },
        },
    }


def manifests(opts: InstallOptions, issued: Any = None) -> list[dict[str, Any]]:
    """The objects, in apply order. `issued` (`pki.Issued`) is required without cert-manager."""
    import yaml

    ns, name = opts.namespace, opts.name
    restricted = {f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "audit", "warn")}
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {**_LABELS, **restricted}},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(name, ns),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(name, ns),
            "data": {"webhook.yaml": yaml.safe_dump(server_config(opts), sort_keys=False)},
        },
    ]
    ca_bundle: str | None = None
    if opts.cert_manager:
        out += [
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Issuer",
                "metadata": _meta(f"{name}-selfsigned", ns),
                "spec": {"selfSigned": {}},
            },
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": _meta(name, ns),
                "spec": {
                    "secretName": f"{name}-tls",
                    "duration": "2160h",
                    "renewBefore": "720h",
                    "dnsNames": [f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"],
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "usages": ["server auth", "digital signature"],
                    "issuerRef": {"kind": "Issuer", "name": f"{name}-selfsigned"},
                },
            },
        ]
    else:
        if issued is None:
            raise ValueError("a certificate is needed without cert-manager")
        ca_bundle = base64.b64encode(issued.ca_pem).decode()
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": _meta(f"{name}-tls", ns, annotations={"kubeward.io/ignore": _SECRET_REASON}),
                "data": {
                    "tls.crt": base64.b64encode(issued.cert_pem).decode(),
                    "tls.key": base64.b64encode(issued.key_pem).decode(),
                    "ca.crt": ca_bundle,
                },
            }
        )
    out += [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(name, ns),
            "spec": {
                "type": "ClusterIP",
                "selector": dict(_LABELS),
                "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
            },
        },
        _deployment(opts),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(name, ns),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": dict(_LABELS)}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta("default-deny", ns),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(f"{name}-from-apiserver", ns),
            "spec": {
                "podSelector": {"matchLabels": dict(_LABELS)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"ipBlock": {"cidr": c}}
                            for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
                        ],
                        "ports": [{"port": PORT, "protocol": "TCP"}],
                    }
                ],
            },
        },
        _webhook(opts, "MutatingWebhookConfiguration", ca_bundle),
        _webhook(opts, "ValidatingWebhookConfiguration", ca_bundle),
    ]
    return out


def to_yaml(objects: Sequence[dict[str, Any]], header: str = "") -> str:
    import yaml

    body = "---\n".join(yaml.safe_dump(o, sort_keys=False, width=100) for o in objects)
    return header + body


# --- deploy/webhook: the cert-manager variant as a Kustomize base + plain YAML ---------------

_FILES = {
    "Namespace": "namespace.yaml",
    "ServiceAccount": "serviceaccount.yaml",
    "ConfigMap": "configmap.yaml",
    "Issuer": "certificate.yaml",
    "Certificate": "certificate.yaml",
    "Service": "service.yaml",
    "Deployment": "deployment.yaml",
    "PodDisruptionBudget": "pdb.yaml",
    "NetworkPolicy": "networkpolicy.yaml",
    "MutatingWebhookConfiguration": "webhooks.yaml",
    "ValidatingWebhookConfiguration": "webhooks.yaml",
}
GENERATED = "# Generated by `python -m kubeward.webhook.install deploy/webhook`; do not edit by hand.\n"
_KUSTOMIZATION = """\
# The admission webhook (`kubeward serve`): `kubectl apply -k deploy/webhook` (docs/webhook.md).
# Needs cert-manager for the serving certificate (Issuer + Certificate, CA injected into the
# webhook configurations); without cert-manager use `kubeward webhook install`, which creates
# the certificate itself. plain/kubeward-webhook.yaml is the same objects for `kubectl apply -f`.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
{resources}# Pin the image you run (your registry, or the digest of the release):
#   kustomize edit set image {image}=ghcr.io/kubeward/kubeward:0.1.0@sha256:...
"""


def kustomize_files(opts: InstallOptions | None = None) -> dict[str, str]:
    """File name -> text of deploy/webhook (cert-manager: no key material is committed)."""
    opts = opts or InstallOptions(cert_manager=True)
    objects = manifests(opts)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        grouped.setdefault(_FILES[obj["kind"]], []).append(obj)
    files = {name: to_yaml(objs, GENERATED) for name, objs in grouped.items()}
    resources = "".join(f"  - {name}\n" for name in grouped)
    files["kustomization.yaml"] = _KUSTOMIZATION.format(resources=resources, image=opts.image.split(":")[0])
    files["plain/kubeward-webhook.yaml"] = to_yaml(objects, GENERATED)
    return files


def write_kustomize(directory: Path) -> list[Path]:
    written = []
    for name, text in kustomize_files().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - the regeneration entry point
    import sys

    for p in write_kustomize(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/webhook")):
        print(p)
