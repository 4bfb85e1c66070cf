"""`kubeward netpol can-reach / matrix / default-deny` and `kubeward isolate` (offline)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kubeward.cli.netpol import isolate, netpol

SHOP = str(Path(__file__).parent / "fixtures" / "netpol" / "shop.yaml")


def run(*args: str, cmd=netpol):
    return CliRunner().invoke(cmd, list(args), catch_exceptions=False)


def test_can_reach_allowed_names_the_policies():
    r = run("can-reach", "shop/frontend", "shop/api", "--port", "8080/TCP", SHOP)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "allowed: shop/frontend -> shop/api on 8080/TCP"
    assert "egress from shop/frontend: allowed by shop/frontend (egress[0])" in r.output
    assert "ingress to shop/api: allowed by shop/api (ingress[0])" in r.output


def test_can_reach_denied_names_the_isolation():
    r = run("can-reach", "shop/frontend", "shop/db", "--port", "5432", SHOP)
    assert r.exit_code == 1
    assert r.output.startswith("denied: shop/frontend -> shop/db on 5432/TCP")
    assert "egress from shop/frontend: DENIED - isolated by shop/default-deny-all" in r.output
    assert "ingress to shop/db: DENIED" in r.output


def test_can_reach_named_port_and_end_port():
    assert run("can-reach", "shop/api", "shop/db", "--port", "5432", SHOP).exit_code == 0
    assert run("can-reach", "shop/api", "shop/db", "--port", "5433", SHOP).exit_code == 1
    # monitoring namespace (by namespace label) on the 9000-9100 range
    assert run("can-reach", "monitoring/prometheus", "shop/api", "--port", "9100", SHOP).exit_code == 0
    assert run("can-reach", "monitoring/prometheus", "shop/api", "--port", "9101", SHOP).exit_code == 1


def test_can_reach_label_form_and_external():
    r = run("can-reach", "shop/app=frontend,tier=web", "shop/app=api", "--port", "8080", SHOP)
    assert r.exit_code == 0, r.output
    # a pod labelled only tier=web is not selected by the frontend egress policy
    r = run("can-reach", "shop/tier=web", "shop/app=api", "--port", "8080", SHOP)
    assert r.exit_code == 1
    assert "egress from shop/tier=web: DENIED - isolated by shop/default-deny-all" in r.output
    assert run("can-reach", "ip:203.0.113.9", "shop/frontend", "--port", "80", SHOP).exit_code == 0
    r = run("can-reach", "ip:10.1.2.3", "shop/frontend", "--port", "80", SHOP)
    assert r.exit_code == 1 and "ingress to shop/frontend: DENIED" in r.output
    r = run("can-reach", "shop/api", "ip:8.8.8.8", SHOP)
    assert r.exit_code == 1


def test_can_reach_any_port_lists_ports():
    r = run("can-reach", "shop/api", "shop/db", SHOP)
    assert r.exit_code == 0
    assert "allowed ports: 5432/TCP" in r.output


@pytest.mark.parametrize("args", [
    ("shop/nope", "shop/api"), ("shop", "shop/api"), ("ip:1.2.3.4", "ip:5.6.7.8"),
    ("shop/api", "shop/db", "--port", "http"),
])
def test_can_reach_usage_errors_exit_2(args):
    r = run("can-reach", *args, SHOP)
    assert r.exit_code == 2, r.output


def test_matrix_table():
    r = run("matrix", "-n", "shop", SHOP)
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].split() == ["from", "\\", "to", "api", "db", "frontend"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows == {"api": ["-", "5432/TCP", "-"], "db": ["-", "-", "-"],
                    "frontend": ["8080/TCP", "-", "-"]}


def test_matrix_dot_and_svg():
    dot = run("matrix", "-n", "shop", "-o", "dot", SHOP).output
    assert dot.startswith('digraph "netpol shop" {')
    assert '"frontend" -> "api" [label="8080/TCP"];' in dot
    assert '"api" -> "db" [label="5432/TCP"];' in dot
    assert dot.count("->") == 2
    svg = run("matrix", "-n", "shop", "-o", "svg", SHOP).output
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert len(root.findall(f"{ns}line")) == 2
    assert sorted(t.text for t in root.iter(f"{ns}text") if t.text in ("api", "db", "frontend")) == [
        "api", "db", "frontend"]


def test_matrix_unknown_namespace():
    assert run("matrix", "-n", "nope", SHOP).exit_code == 2


def test_default_deny_per_namespace_with_dns():
    r = run("default-deny", SHOP)
    docs = list(yaml.safe_load_all(r.output))
    assert [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs] == [
        ("monitoring", "default-deny-all"), ("monitoring", "allow-dns-egress"),
        ("shop", "default-deny-all"), ("shop", "allow-dns-egress")]
    assert docs[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    r = run("default-deny", "-n", "a", "-n", "b", "--no-dns")
    assert [d["metadata"]["namespace"] for d in yaml.safe_load_all(r.output)] == ["a", "b"]


def test_isolate_prints_policy_and_warns_about_additive_policies():
    r = CliRunner().invoke(isolate, ["shop/api", SHOP], catch_exceptions=False)
    assert r.exit_code == 0
    out = r.stdout if hasattr(r, "stdout") else r.output
    doc = yaml.safe_load(out[out.index("apiVersion"):])
    assert doc["metadata"] == {"name": "kubeward-isolate-api", "namespace": "shop",
                               "labels": {"app.kubernetes.io/managed-by": "kubeward"},
                               "annotations": {"kubeward.dev/isolated-workload": "api"}}
    assert doc["spec"] == {"podSelector": {"matchLabels": {"app": "api", "tier": "backend"}},
                           "policyTypes": ["Ingress", "Egress"]}
    assert "policies are additive" in r.output and "shop/api" in r.output


def test_isolate_unknown_workload():
    r = CliRunner().invoke(isolate, ["nope", "-n", "shop", SHOP])
    assert r.exit_code == 2


def test_isolate_refuses_a_workload_without_pod_labels(tmp_path):
    f = tmp_path / "bare.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: bare, namespace: x}\n"
                 "spec: {containers: [{name: c, image: 'x:1'}]}\n")
    r = CliRunner().invoke(isolate, ["x/bare", str(f)])
    assert r.exit_code == 2
    assert "has no labels" in r.output


def test_can_reach_explains_cilium_policies_with_the_network_policies(tmp_path):
    cnp = tmp_path / "cnp.yaml"
    cnp.write_text(Path(SHOP).read_text() + """
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-l4, namespace: shop}
spec:
  endpointSelector: {matchLabels: {"k8s:app": api}}
  ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-default-deny, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  enableDefaultDeny: {egress: false}
  egress: [{toEndpoints: [{}]}]
""")
    r = run("can-reach", "shop/frontend", "shop/api", "--port", "8080", str(cnp))
    assert r.exit_code == 0
    assert ("ingress to shop/api: allowed by shop/api (ingress[0]), "
            "CiliumNetworkPolicy shop/api-l4 ingress[0]") in r.output
    assert ("egress from shop/frontend: allowed by shop/frontend (egress[0]), "
            "CiliumNetworkPolicy shop/no-default-deny egress[0]") in r.output
    assert "not evaluated" not in r.output
    # on 9999 only the Cilium rules allow it (union of both kinds): an L3-only rule allows
    # every port, and an egress rule without default deny still adds its allowance
    r = run("can-reach", "shop/frontend", "shop/api", "--port", "9999", str(cnp))
    assert r.exit_code == 0
    assert "ingress to shop/api: allowed by CiliumNetworkPolicy shop/api-l4 ingress[0]\n" in r.output
    assert ("egress from shop/frontend: allowed by CiliumNetworkPolicy shop/no-default-deny "
            "egress[0]\n") in r.output


def test_can_reach_cilium_deny_wins_and_entities(tmp_path):
    cnp = tmp_path / "deny.yaml"
    cnp.write_text(Path(SHOP).read_text() + """
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-db-from-frontend}
specs:
  - endpointSelector: {matchLabels: {app: db}}
    ingressDeny: [{fromEndpoints: [{matchLabels: {app: frontend}}]}]
    enableDefaultDeny: {ingress: false}
  - endpointSelector: {matchLabels: {app: api}}
    ingress: [{fromEntities: [host], toPorts: [{ports: [{port: "9090"}]}]}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: calico, namespace: shop}
spec: {selector: all()}
""")
    # a NetworkPolicy allows api -> db 5432; the deny only concerns frontend
    assert run("can-reach", "shop/api", "shop/db", "--port", "5432", str(cnp)).exit_code == 0
    r = run("can-reach", "shop/frontend", "shop/db", "--port", "5432", str(cnp))
    assert r.exit_code == 1
    assert ("ingress to shop/db: DENIED by Cilium deny rule CiliumClusterwideNetworkPolicy "
            "no-db-from-frontend specs[0].ingressDeny[0] (deny wins)") in r.output
    r = run("can-reach", "entity:host", "shop/api", "--port", "9090", str(cnp))
    assert r.exit_code == 0, r.output
    assert "egress from entity:host: Cilium reserved entity host" in r.output
    assert "note: NetworkPolicy (projectcalico.org) objects are present and not evaluated" in r.output
    assert run("can-reach", "entity:host", "shop/api", "--port", "9091", str(cnp)).exit_code == 1
    r = run("can-reach", "entity:world", "shop/api", str(cnp))
    assert r.exit_code == 2 and "for world use ip:CIDR" in r.output


def test_isolate_warns_about_cilium_allowances(tmp_path):
    f = tmp_path / "cnp.yaml"
    f.write_text(Path(SHOP).read_text() + """
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-from-world, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress: [{fromEntities: [world]}]
""")
    r = CliRunner().invoke(isolate, ["shop/api", str(f)], catch_exceptions=False)
    assert r.exit_code == 0
    assert "CiliumNetworkPolicy shop/api-from-world" in r.output


def test_matrix_includes_cilium_rules(tmp_path):
    f = tmp_path / "cnp.yaml"
    f.write_text(Path(SHOP).read_text() + """
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-from-frontend, namespace: shop}
specs:
  - endpointSelector: {matchLabels: {app: db}}
    ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}], toPorts: [{ports: [{port: "5432"}]}]}]
  - endpointSelector: {matchLabels: {app: frontend}}
    egress: [{toEndpoints: [{matchLabels: {app: db}}]}]
""")
    before = run("matrix", "-n", "shop", SHOP).output
    after = run("matrix", "-n", "shop", str(f)).output
    row = next(line for line in after.splitlines() if line.startswith("frontend"))
    assert "5432/TCP" in row and "5432/TCP" not in next(
        line for line in before.splitlines() if line.startswith("frontend"))
