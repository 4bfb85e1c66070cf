"""detect_stack: the security tooling an inventory shows, by checklist item."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Origin, Resource, SourceText
from kubeward.rules.base import REGISTRY


@pytest.fixture(scope="module")
def stack() -> Iterator[ModuleType]:
    """`kubeward.rules.stack`, imported here and not at collection.

    Importing a rule module registers its rules; until the module is in RULE_MODULES
    (rules/catalog.py) they must not leak into the other tests' catalog. Once it is listed
    there, this changes nothing.
    """
    before = dict(REGISTRY)
    module = importlib.import_module("kubeward.rules.stack")
    yield module
    REGISTRY.clear()
    REGISTRY.update(before)


def _res(obj: dict, source: str = "file") -> Resource:
    return Resource(obj, Origin(SourceText("in.yaml", kind=source), None, 1))


def _crd(plural: str, group: str, kind: str) -> Resource:
    return _res({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": {"name": f"{plural}.{group}"},
                 "spec": {"group": group, "names": {"kind": kind, "plural": plural}}})


def _workload(kind: str, name: str, ns: str, image: str) -> Resource:
    return _res({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
                 "spec": {"template": {"metadata": {}, "spec": {"containers": [
                     {"name": "c", "image": image}]}}}})


def _webhook(kind: str, name: str, hooks: list[str]) -> Resource:
    return _res({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
                 "metadata": {"name": name}, "webhooks": [{"name": h} for h in hooks]})


def _names(found: dict) -> dict[int, list[str]]:
    return {item: [d.name for d in ds] for item, ds in found.items()}


def test_empty_inventory(stack):
    assert stack.detect_stack(Inventory([])) == {}


def test_crds_custom_resources_webhooks_and_images(stack):
    inv = Inventory([
        _crd("clusterpolicies", "kyverno.io", "ClusterPolicy"),
        _crd("policyreports", "wgpolicyk8s.io", "PolicyReport"),
        _crd("constrainttemplates", "templates.gatekeeper.sh", "ConstraintTemplate"),
        _res({"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret",
              "metadata": {"name": "db", "namespace": "shop"}}),
        _workload("DaemonSet", "sensor", "security", "falcosecurity/falco:0.38.1"),
        _workload("Deployment", "sidekick", "security", "falcosecurity/falcosidekick:2.29.0"),
        _webhook("MutatingWebhookConfiguration", "istio-sidecar-injector",
                 ["rev.namespace.sidecar-injector.istio.io"]),
        _webhook("ValidatingWebhookConfiguration", "policy-engine",
                 ["validate.kyverno.svc-fail"]),
    ])
    found = stack.detect_stack(inv)
    assert _names(found) == {
        7: ["Falco"],
        11: ["Kyverno", "Gatekeeper"],
        2: ["External Secrets Operator"],
        10: ["Istio"],
    }
    kyverno = found[11][0]
    assert kyverno.evidence == ("CustomResourceDefinition clusterpolicies.kyverno.io",
                                "ValidatingWebhookConfiguration policy-engine")
    assert found[7][0].evidence == ("DaemonSet security/sensor (image falcosecurity/falco)",)


def test_tetragon_tracing_policies_are_not_cilium(stack):
    inv = Inventory([
        _crd("tracingpolicies", "cilium.io", "TracingPolicy"),
        _res({"apiVersion": "cilium.io/v1alpha1", "kind": "TracingPolicyNamespaced",
              "metadata": {"name": "fd-install", "namespace": "app"}}),
    ])
    assert _names(stack.detect_stack(inv)) == {7: ["Tetragon"]}
    inv = Inventory([_crd("ciliumnetworkpolicies", "cilium.io", "CiliumNetworkPolicy"),
                     _workload("DaemonSet", "cilium", "kube-system", "quay.io/cilium/cilium:v1.15.6")])
    found = stack.detect_stack(inv)
    assert _names(found) == {4: ["Cilium"]}
    assert found[4][0].evidence == ("CustomResourceDefinition ciliumnetworkpolicies.cilium.io",
                                    "DaemonSet kube-system/cilium")


def test_evidence_is_capped_with_a_count(stack):
    inv = Inventory([_crd(f"p{i}", "kyverno.io", f"P{i}") for i in range(5)])
    (kyverno,) = stack.detect_stack(inv)[11]
    assert len(kyverno.evidence) == 4 and kyverno.evidence[-1] == "(+2 more)"


def test_validating_admission_policy_needs_a_binding(stack):
    vap = _res({"apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "limit"}})
    binding = _res({"apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "limit"}})
    (alone,) = stack.detect_stack(Inventory([vap]))[11]
    assert alone.name == "ValidatingAdmissionPolicy" and alone.sufficient is False
    (bound,) = stack.detect_stack(Inventory([vap, binding]))[11]
    assert bound.sufficient is True


def test_cert_manager_alone_is_not_mtls(stack):
    found = stack.detect_stack(Inventory([_crd("certificates", "cert-manager.io", "Certificate")]))
    evidence = ("CustomResourceDefinition certificates.cert-manager.io",)
    assert found[10] == [stack.Detected("cert-manager", evidence, sufficient=False)]


def test_sops_encrypted_manifest_and_flux_decryption(stack):
    secret = _res({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
                   "data": {"password": "ENC[AES256_GCM,data:x,type:str]"},
                   "sops": {"mac": "ENC[...]", "lastmodified": "2025-01-01T00:00:00Z", "version": "3.9.0"}})
    flux = _res({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                 "metadata": {"name": "apps", "namespace": "flux-system"},
                 "spec": {"decryption": {"provider": "sops"}}})
    kustomize = _res({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                      "resources": ["a.yaml"]})
    (sops,) = stack.detect_stack(Inventory([secret, flux, kustomize]))[2]
    assert sops.name == "SOPS"
    assert sops.evidence == ("Secret shop/db (sops-encrypted)",
                             "Kustomization flux-system/apps (decryption: sops)")
    assert stack.detect_stack(Inventory([kustomize])) == {}


def test_well_known_workload_names(stack):
    inv = Inventory([
        _workload("Deployment", "istiod-1-22", "istio-system", "registry.local/mirror/pilot:1.22"),
        _workload("Deployment", "linkerd-destination", "linkerd", "registry.local/controller:x"),
        _workload("Deployment", "gatekeeper-controller-manager", "gatekeeper-system", "registry.local/gk"),
        _workload("Deployment", "sealed-secrets-controller", "kube-system", "registry.local/ss"),
    ])
    assert _names(stack.detect_stack(inv)) == {10: ["Istio", "Linkerd"], 11: ["Gatekeeper"],
                                         2: ["Sealed Secrets"]}


def test_cluster_evidence(stack):
    assert stack.cluster_evidence(Inventory([])) is None
    kube_system = _res({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    assert stack.cluster_evidence(Inventory([kube_system])) == "the input contains Namespace kube-system"
    live = _res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a"}},
                source="cluster")
    assert stack.cluster_evidence(Inventory([live])) == "read from a cluster"
    snapshot = _res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a"}},
                    source="snapshot")
    assert stack.cluster_evidence(Inventory([snapshot])) == "read from a cluster"  # same findings as live
    namespaces = [_res({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{i}"}})
                  for i in range(stack.DEFAULT_MIN_NAMESPACES)]
    assert stack.cluster_evidence(Inventory(namespaces[:-1])) is None
    n = stack.DEFAULT_MIN_NAMESPACES
    assert stack.cluster_evidence(Inventory(namespaces)) == f"the input defines {n} namespaces"
    assert stack.cluster_evidence(Inventory(namespaces[:3]), min_namespaces=3) == \
        "the input defines 3 namespaces"
