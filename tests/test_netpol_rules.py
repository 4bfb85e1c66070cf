"""The coverage rules of kubeward.rules.netpol_coverage against their fixtures.

Until the module is listed in RULE_MODULES, its rules are registered only while these tests
run (as tests/test_flags.py does for controlplane), so the other tests' catalog is unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeward.config import Config
from kubeward.rules.base import REGISTRY
from kubeward.rules.catalog import load_catalog
from kubeward.scan import run_scan

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
load_catalog()  # the catalog's own rules first: the teardown below must keep them
_BEFORE = dict(REGISTRY)
importlib.import_module("kubeward.rules.netpol_coverage")
IDS = ("netpol.policy-selects-nothing", "netpol.peer-matches-nothing", "netpol.allow-all-rule",
       "netpol.egress-to-internet", "netpol.cilium-features", "netpol.calico-out-of-scope")
OWN = {k: REGISTRY[k] for k in IDS}
for _k in OWN:
    if _k not in _BEFORE:
        del REGISTRY[_k]

CASES = [(rid, f) for rid in sorted(OWN) for f in sorted((FIXTURES / rid).glob("*.yaml"))]


@pytest.fixture
def coverage_rules() -> Iterator[None]:
    load_catalog()
    before = dict(REGISTRY)
    REGISTRY.update(OWN)
    yield
    REGISTRY.clear()
    REGISTRY.update(before)


def test_rules_are_checklist_item_4():
    assert all(r.checklist == 4 for r in OWN.values())


@pytest.mark.parametrize("rule_id", sorted(OWN))
def test_fire_and_pass_fixtures_exist(rule_id):
    names = [p.name for p in (FIXTURES / rule_id).glob("*.yaml")]
    assert any(n.startswith("fire") for n in names)
    assert any(n.startswith("pass") for n in names)


@pytest.mark.parametrize(("rule_id", "path"), CASES, ids=lambda v: v.name if isinstance(v, Path) else v)
@pytest.mark.usefixtures("coverage_rules")
def test_fixture(rule_id, path):
    report = run_scan([str(path)], Config())
    assert not report.errors, report.errors
    hits = [f for f in report.findings if f.rule.id == rule_id]
    if path.name.startswith("fire"):
        assert hits, f"{rule_id} did not fire on {path.name}"
        assert all(f.line >= 1 and f.message for f in hits)
    else:
        assert not hits, [h.message for h in hits]


@pytest.mark.usefixtures("coverage_rules")
def test_messages_name_the_cause():
    def msgs(rule_id: str, fixture: str) -> list[str]:
        report = run_scan([str(FIXTURES / rule_id / fixture)], Config())
        return sorted(f.message for f in report.findings if f.rule.id == rule_id)

    assert msgs("netpol.policy-selects-nothing", "fire-label-typo.yaml") == [
        "NetworkPolicy web-ingress selects no workload of namespace shop (podSelector app=wbe)"]
    assert msgs("netpol.egress-to-internet", "fire-zero-cidr.yaml") == [
        "NetworkPolicy api-egress: egress[0].to[0] allows 0.0.0.0/0 except 169.254.169.254/32"]
    feats = msgs("netpol.cilium-features", "fire-l7-fqdn-auth.yaml")
    assert len(feats) == 3 and all("workload shop/web" in m for m in feats)
    assert any("L7 HTTP" in m and "GET /api" in m for m in feats)
    assert any("toFQDNs" in m and "api.github.com" in m for m in feats)
    assert any("mutual authentication" in m for m in feats)
    # the clusterwide policy selects api only, not web
    cw = msgs("netpol.cilium-features", "fire-clusterwide.yaml")
    assert len(cw) == 1 and "shop/api" in cw[0]
    # the existing basics rules keep firing as before alongside the coverage rules
    peer = msgs("netpol.peer-matches-nothing", "fire-namespace-and-pod.yaml")
    assert peer and "namespaceSelector kubernetes.io/metadata.name=shop, podSelector app=db" in peer[0]


@pytest.mark.usefixtures("coverage_rules")
def test_cilium_messages_name_the_cause():
    def msgs(rule_id: str, fixture: str) -> list[str]:
        report = run_scan([str(FIXTURES / rule_id / fixture)], Config())
        return sorted(f.message for f in report.findings if f.rule.id == rule_id)

    assert msgs("netpol.policy-selects-nothing", "fire-cilium-typo.yaml") == [
        "CiliumNetworkPolicy shop/web-ingress: endpointSelector selects no workload of namespace "
        "shop (app=wbe,io.kubernetes.pod.namespace=shop)"]
    assert msgs("netpol.peer-matches-nothing", "fire-cilium-peer.yaml") == [
        "CiliumNetworkPolicy shop/api ingress[0].fromEndpoints[0] "
        "(app=frontnd,io.kubernetes.pod.namespace=shop) matches no workload in the input"]
    assert msgs("netpol.workload-ingress-unrestricted", "fire-cilium.yaml") == [
        "StatefulSet db: the Cilium rules that isolate other pods for ingress "
        "(CiliumNetworkPolicy shop/web) do not select it (in namespace shop), so all ingress "
        "traffic is allowed"]
    deny = msgs("netpol.default-deny-ingress", "fire-cilium-allows-namespace.yaml")
    assert len(deny) == 1 and "nor Cilium default deny" in deny[0]
    assert "CiliumNetworkPolicy shop/same-namespace selects every pod but allows some" in deny[0]
    assert "1 of 2 workloads not isolated" in msgs("netpol.default-deny-ingress",
                                                   "fire-cilium-one-workload.yaml")[0]
    assert msgs("netpol.egress-to-internet", "fire-cilium.yaml") == [
        "CiliumNetworkPolicy shop/api-egress egress[0] allows toEntities world",
        "CiliumNetworkPolicy shop/api-egress egress[1] allows 0.0.0.0/0 except 169.254.169.254/32"]
    allow = msgs("netpol.allow-all-rule", "fire-cilium.yaml")
    assert [m.split(" so ")[0] for m in allow] == [
        "CiliumNetworkPolicy shop/web egress[0] names the entity `all`,",
        "CiliumNetworkPolicy shop/web ingress[0] has no peer fields but toPorts,"]
