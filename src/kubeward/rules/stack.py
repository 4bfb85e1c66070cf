"""The installed security stack, detected from the inventory (checklist items 2, 4, 6, 7, 10, 11).

`detect_stack(inventory)` looks at what a cluster dump or a GitOps repository contains:
  * CustomResourceDefinitions by API group (kyverno.io, *.gatekeeper.sh, external-secrets.io,
    istio.io, linkerd.io, cilium.io, ...) and custom resources of those groups;
  * Validating/MutatingWebhookConfigurations by name and by webhook name;
  * workloads (Deployments, DaemonSets, StatefulSets, Pods) by well-known name or image
    repository (falcosecurity/falco, cilium/tetragon, kyverno/kyverno, ...);
  * ValidatingAdmissionPolicy objects with a binding;
  * SOPS-encrypted manifests (a top-level `sops:` block) and Flux Kustomizations that
    decrypt with SOPS.

The "missing" rules run only when the input looks like a whole cluster (`cluster_evidence`):
it was read from a live cluster or a snapshot, or it contains the Namespace kube-system,
or it contains at least `min_namespaces` Namespace objects (DEFAULT_MIN_NAMESPACES; a
GitOps repository that defines that many namespaces describes a cluster). Absence from an
input is weak evidence - the tool may be installed by another repository or be part of a
managed offering - so the rules are low/info and say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeward.findings import Severity
from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.images import parse_image
from kubeward.k8s.pods import containers
from kubeward.rules.base import Context, Hit, Refs, inventory_rule

__all__ = ["DEFAULT_MIN_NAMESPACES", "Detected", "cluster_evidence", "detect_stack"]

#: Namespace objects that make an input "a whole cluster" (see the module docstring).
DEFAULT_MIN_NAMESPACES = 20

_LIVE_SOURCES = frozenset({"cluster", "snapshot"})
_WORKLOAD_KINDS = frozenset({"Deployment", "DaemonSet", "StatefulSet", "Pod", "ReplicaSet"})
_WEBHOOK_KINDS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})


@dataclass(slots=True, frozen=True)
class Detected:
    """One product found, with what gave it away (kind and name of each object, a few at most)."""

    name: str
    evidence: tuple[str, ...]
    sufficient: bool = True  # False: related but does not by itself fulfil the item


@dataclass(slots=True, frozen=True)
class _Product:
    name: str
    item: int
    groups: tuple[str, ...] = ()  # API groups (and their subdomains)
    kinds: tuple[tuple[str, str], ...] = ()  # (group, kind) when the group is shared
    images: tuple[str, ...] = ()  # last two path components of the image repository
    workloads: tuple[str, ...] = ()  # exact workload names
    workload_prefixes: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()  # webhook configuration name prefixes
    webhook_names: tuple[str, ...] = ()  # substrings of webhooks[].name (".kyverno.svc")
    sufficient: bool = True
    exclude_kinds: tuple[str, ...] = ()  # kinds of `groups` that belong to another product


_PRODUCTS: tuple[_Product, ...] = (
    # 7 runtime security
    _Product("Falco", 7, groups=("falcosecurity.dev",),
             images=("falcosecurity/falco", "falcosecurity/falco-no-driver",
                     "falcosecurity/falco-distroless"),
             workloads=("falco",)),
    _Product("Tetragon", 7,
             kinds=(("cilium.io", "TracingPolicy"), ("cilium.io", "TracingPolicyNamespaced")),
             images=("cilium/tetragon",), workloads=("tetragon",)),
    _Product("KubeArmor", 7, groups=("security.kubearmor.com",),
             images=("kubearmor/kubearmor",), workloads=("kubearmor",)),
    # 11 admission control
    _Product("Kyverno", 11, groups=("kyverno.io",), images=("kyverno/kyverno",),
             workloads=("kyverno", "kyverno-admission-controller"), webhooks=("kyverno-",),
             webhook_names=(".kyverno.svc",)),
    _Product("Gatekeeper", 11, groups=("gatekeeper.sh",), images=("openpolicyagent/gatekeeper",),
             workloads=("gatekeeper-controller-manager",), webhooks=("gatekeeper-",),
             webhook_names=(".gatekeeper.sh",)),
    _Product("Kubewarden", 11, groups=("policies.kubewarden.io",),
             images=("kubewarden/kubewarden-controller",)),
    # 2 secrets management
    _Product("External Secrets Operator", 2, groups=("external-secrets.io",),
             images=("external-secrets/external-secrets",), workloads=("external-secrets",)),
    _Product("Sealed Secrets", 2, kinds=(("bitnami.com", "SealedSecret"),),
             images=("bitnami/sealed-secrets-controller", "bitnami-labs/sealed-secrets-controller"),
             workloads=("sealed-secrets-controller", "sealed-secrets")),
    _Product("Secrets Store CSI Driver", 2, groups=("secrets-store.csi.x-k8s.io",)),
    _Product("Vault Secrets Operator", 2, groups=("secrets.hashicorp.com",)),
    _Product("Vault Agent Injector", 2, images=("hashicorp/vault-k8s",),
             webhooks=("vault-agent-injector-cfg",)),
    # 10 mTLS
    _Product("Istio", 10, groups=("istio.io",), images=("istio/pilot",), workloads=("istiod",),
             workload_prefixes=("istiod-",), webhooks=("istio-sidecar-injector", "istio-validator",
                                                        "istiod-default-validator"),
             webhook_names=(".istio.io",)),
    _Product("Linkerd", 10, groups=("linkerd.io",), images=("linkerd/controller", "linkerd/proxy"),
             workloads=("linkerd-destination", "linkerd-identity", "linkerd-proxy-injector"),
             webhooks=("linkerd-proxy-injector-webhook-config",), webhook_names=(".linkerd.io",)),
    _Product("cert-manager", 10, groups=("cert-manager.io",), images=("jetstack/cert-manager-controller",),
             sufficient=False),
    # 4 network policy enforcement
    _Product("Cilium", 4, groups=("cilium.io",), images=("cilium/cilium",), workloads=("cilium",),
             exclude_kinds=("TracingPolicy", "TracingPolicyNamespaced")),
    _Product("Calico", 4, groups=("projectcalico.org",), images=("calico/node",),
             workloads=("calico-node",)),
    # 6 image signing
    _Product("Sigstore policy-controller", 6, groups=("policy.sigstore.dev",)),
    _Product("Ratify", 6, groups=("ratify.deislabs.io",)),
)


def _in_group(group: str, groups: Iterable[str]) -> bool:
    return any(group == g or group.endswith("." + g) for g in groups)


def _crd_group_kind(res: Resource) -> tuple[str, str] | None:
    spec = res.obj.get("spec")
    if not isinstance(spec, dict):
        return None
    group, names = spec.get("group"), spec.get("names")
    kind = names.get("kind") if isinstance(names, dict) else None
    if isinstance(group, str) and isinstance(kind, str):
        return group, kind
    return None


def _api_match(product: _Product, group: str, kind: str) -> bool:
    if (group, kind) in product.kinds:
        return True
    return _in_group(group, product.groups) and kind not in product.exclude_kinds


def _images(res: Resource) -> Iterator[str]:
    from kubeward.k8s.pods import pod_template

    tpl = pod_template(res.kind, res.obj)
    if tpl is None:
        return
    for c in containers(tpl.spec):
        image = c.spec.get("image")
        if isinstance(image, str) and image:
            repo = parse_image(image).repository
            yield "/".join(repo.split("/")[-2:])


def _webhook_names(res: Resource) -> list[str]:
    hooks = res.obj.get("webhooks")
    return [h["name"] for h in hooks if isinstance(h, dict) and isinstance(h.get("name"), str)] \
        if isinstance(hooks, list) else []


def _evidence_for(product: _Product, res: Resource, images: list[str]) -> str | None:
    if res.kind == "CustomResourceDefinition":
        gk = _crd_group_kind(res)
        if gk is not None and _api_match(product, *gk):
            return f"CustomResourceDefinition {res.name}"
        return None
    if res.group and _api_match(product, res.group, res.kind):
        return f"{res.kind} {res.ref.split('/', 1)[1]}"
    if res.kind in _WEBHOOK_KINDS:
        if any(res.name.startswith(p) for p in product.webhooks) or any(
            s in n for n in _webhook_names(res) for s in product.webhook_names
        ):
            return f"{res.kind} {res.name}"
        return None
    if res.kind in _WORKLOAD_KINDS:
        if res.name in product.workloads or any(res.name.startswith(p)
                                                for p in product.workload_prefixes):
            return f"{res.kind} {res.ref.split('/', 1)[1]}"
        for image in images:
            if image in product.images:
                return f"{res.kind} {res.ref.split('/', 1)[1]} (image {image})"
    return None


@dataclass(slots=True)
class _Found:
    evidence: list[str] = field(default_factory=list)
    count: int = 0


_MAX_EVIDENCE = 3


def detect_stack(inventory: Inventory) -> dict[int, list[Detected]]:
    """Security tooling present in the inventory, by checklist item (pure; see module doc)."""
    found: dict[str, _Found] = {}
    for res in inventory:
        images = list(_images(res)) if res.kind in _WORKLOAD_KINDS else []
        for product in _PRODUCTS:
            ev = _evidence_for(product, res, images)
            if ev is not None:
                entry = found.setdefault(product.name, _Found())
                entry.count += 1
                if len(entry.evidence) < _MAX_EVIDENCE:
                    entry.evidence.append(ev)
    out: dict[int, list[Detected]] = {}
    for product in _PRODUCTS:
        hit = found.get(product.name)
        if hit is None:
            continue
        evidence = list(hit.evidence)
        if hit.count > len(evidence):
            evidence.append(f"(+{hit.count - len(evidence)} more)")
        out.setdefault(product.item, []).append(
            Detected(product.name, tuple(evidence), product.sufficient))
    for item, detected in _special(inventory):
        out.setdefault(item, []).append(detected)
    return out


def _special(inventory: Inventory) -> Iterator[tuple[int, Detected]]:
    """ValidatingAdmissionPolicies (only with a binding) and SOPS."""
    policies = [r for r in inventory.of_kind("ValidatingAdmissionPolicy")
                if r.group == "admissionregistration.k8s.io"]
    bindings = [r for r in inventory.of_kind("ValidatingAdmissionPolicyBinding")
                if r.group == "admissionregistration.k8s.io"]
    if policies:
        names = ", ".join(r.name for r in policies[:_MAX_EVIDENCE])
        vap = (f"{len(policies)} ValidatingAdmissionPolicy ({names})",
               f"{len(bindings)} ValidatingAdmissionPolicyBinding")
        yield 11, Detected("ValidatingAdmissionPolicy", vap, sufficient=bool(bindings))
    sops = [r for r in inventory if _is_sops(r.obj)]
    flux = [r for r in inventory.of_kind("Kustomization") if _flux_sops(r.obj)]
    if sops or flux:
        evidence = tuple(
            [f"{r.kind} {r.ref.split('/', 1)[1]} (sops-encrypted)" for r in sops[:_MAX_EVIDENCE]]
            + [f"Kustomization {r.ref.split('/', 1)[1]} (decryption: sops)"
               for r in flux[:_MAX_EVIDENCE]])
        yield 2, Detected("SOPS", evidence)


def _is_sops(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("sops")
    return isinstance(meta, dict) and ("mac" in meta or "lastmodified" in meta)


def _flux_sops(obj: Mapping[str, Any]) -> bool:
    spec = obj.get("spec")
    decryption = spec.get("decryption") if isinstance(spec, dict) else None
    return isinstance(decryption, dict) and decryption.get("provider") == "sops"


def cluster_evidence(inventory: Inventory,
                     min_namespaces: int = DEFAULT_MIN_NAMESPACES) -> str | None:
    """Why the input looks like a whole cluster, or None when it does not."""
    for res in inventory:
        if res.origin.source.kind in _LIVE_SOURCES:  # a snapshot is a cluster read earlier
            return "read from a cluster"
    if inventory.get("Namespace", None, "kube-system") is not None:
        return "the input contains Namespace kube-system"
    count = len({r.name for r in inventory.of_kind("Namespace")})
    if count >= min_namespaces:
        return f"the input defines {count} namespaces"
    return None


def _stack(ctx: Context) -> tuple[str | None, dict[int, list[Detected]]]:
    """Cluster evidence, and the detected stack only when the input is a whole cluster."""
    cached = ctx.cache.get("stack.detected")
    if cached is None:
        why = cluster_evidence(ctx.inventory)
        cached = (why, detect_stack(ctx.inventory) if why is not None else {})
        ctx.cache["stack.detected"] = cached
    evidence, detected = cached
    return evidence, detected


def _missing(ctx: Context, item: int, what: str, looked_for: str) -> Iterator[tuple[Resource | None, Hit]]:
    why, detected = _stack(ctx)
    if why is None:
        return
    present = detected.get(item, [])
    if any(d.sufficient for d in present):
        return
    msg = (f"no {what} found in this input ({why}); looked for {looked_for}")
    if present:
        partial = "; ".join(f"{d.name} ({', '.join(d.evidence)})" for d in present)
        msg += f"; found only {partial}, which does not provide it on its own"
    msg += (". Absence from an input is weak evidence: it may be installed from elsewhere or "
            "provided by your platform")
    anchor = ctx.inventory.get("Namespace", None, "kube-system")
    yield anchor, Hit(msg, ("metadata",) if anchor is not None else ())


@inventory_rule(
    id="stack.runtime-detection",
    title="No runtime threat detection (Falco / Tetragon) found",
    severity=Severity.LOW,
    checklist=7,
    remediation="Run a runtime detection agent on every node (Falco or Tetragon as a "
    "DaemonSet) and forward its alerts to your SIEM.",
    refs=Refs(nsa=("NSA-CISA: Audit logging and threat detection",), mitre=("T1610", "T1611")),
)
def runtime_detection(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """Admission checks stop bad specs, not a compromised process: only a runtime sensor sees a
    shell spawned in a container, a container escape or a crypto miner."""
    yield from _missing(ctx, 7, "runtime threat detection",
                        "Falco, Tetragon and KubeArmor (DaemonSets, images, CRDs)")


@inventory_rule(
    id="stack.admission-policy-engine",
    title="No admission policy engine (Kyverno / Gatekeeper / ValidatingAdmissionPolicy) found",
    severity=Severity.LOW,
    checklist=11,
    remediation="Enforce your rules at admission: Kyverno or Gatekeeper policies, or "
    "ValidatingAdmissionPolicies with bindings (built in since Kubernetes 1.30).",
    refs=Refs(nsa=("NSA-CISA: Kubernetes Pod security (admission controllers)",),
              mitre=("T1610",)),
)
def admission_policy_engine(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """Without an admission policy engine, scanners like this one only report: nothing stops a
    non-compliant object from being created in the cluster."""
    yield from _missing(ctx, 11, "admission policy engine",
                        "Kyverno, Gatekeeper, Kubewarden (CRDs, webhooks, controllers) and "
                        "bound ValidatingAdmissionPolicies")


@inventory_rule(
    id="stack.secrets-management",
    title="No secrets management (External Secrets / Sealed Secrets / SOPS) found",
    severity=Severity.LOW,
    checklist=2,
    remediation="Keep secret values out of Git: External Secrets Operator or the Secrets "
    "Store CSI driver with a vault, or Sealed Secrets / SOPS for encrypted manifests.",
    refs=Refs(cis=("5.4.2",), nsa=("NSA-CISA: Secrets",), mitre=("T1552.001",)),
)
def secrets_management(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """Without a secrets manager, Secrets are written by hand or committed to Git, and nothing
    rotates them."""
    yield from _missing(ctx, 2, "secrets management",
                        "External Secrets Operator, Sealed Secrets, SOPS, Secrets Store CSI "
                        "driver and Vault (CRDs, controllers, encrypted manifests)")


@inventory_rule(
    id="stack.mtls-mesh",
    title="No mTLS service mesh (Istio / Linkerd) found",
    severity=Severity.INFO,
    checklist=10,
    remediation="Encrypt and authenticate service-to-service traffic with a mesh (Istio "
    "with PeerAuthentication STRICT, or Linkerd, which enables mTLS by default).",
    refs=Refs(nsa=("NSA-CISA: Network separation and hardening (encryption in transit)",),
              mitre=("T1557", "T1040")),
)
def mtls_mesh(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """Pod-to-pod traffic is plain text by default: anything on the node network can read it,
    and services cannot prove who is calling them."""
    yield from _missing(ctx, 10, "mTLS service mesh",
                        "Istio and Linkerd (CRDs, control plane, injection webhooks)")
