"""CNI-specific policies: Cilium features per workload; Calico recognised as out of scope.

CiliumNetworkPolicy (namespaced) and CiliumClusterwideNetworkPolicy (cilium.io/v2,
https://docs.cilium.io/en/stable/network/kubernetes/policy/) carry one rule in `spec` or
several in `specs`; their L3/L4 semantics (selection, peers, ports, deny, default deny) are
`kubeward.netpol.cilium` and part of the reachability model. What goes beyond L3/L4 is
reported per selected workload (selection as in kubeward.netpol.cilium):
  * L7 HTTP rules: `ingress[]/egress[].toPorts[].rules.http`
    (https://docs.cilium.io/en/stable/security/policy/language/#layer-7-examples);
  * `egress[].toFQDNs` (DNS-based egress; the names are not resolved offline);
  * `ingress[]/egress[].authentication.mode: required` (mutual authentication).
Calico's NetworkPolicy / GlobalNetworkPolicy are recognised and reported as not evaluated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.netpol.cilium import CILIUM_KINDS, parse_cilium
from kubeward.netpol.model import Model, Workload

__all__ = ["CALICO_KINDS", "CILIUM_KINDS", "CiliumFeature", "cilium_features", "out_of_scope_kinds"]

CALICO_KINDS = (("projectcalico.org", "NetworkPolicy"), ("projectcalico.org", "GlobalNetworkPolicy"),
                ("crd.projectcalico.org", "NetworkPolicy"),
                ("crd.projectcalico.org", "GlobalNetworkPolicy"))


def out_of_scope_kinds(inventory: Inventory) -> list[str]:
    """CNI policy kinds of the input that the reachability model does not evaluate (Calico)."""
    return sorted({f"{kind} ({group})" for group, kind in CALICO_KINDS
                   if any(r.group == group for r in inventory.of_kind(kind))})


@dataclass(slots=True, frozen=True)
class CiliumFeature:
    policy: Resource
    workload: Workload
    feature: str  # "L7 HTTP", "toFQDNs", "mutual authentication"
    detail: str
    path: tuple[str | int, ...]


def _rules(obj: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    spec = obj.get("spec")
    if isinstance(spec, Mapping):
        yield ("spec",), spec
    specs = obj.get("specs")
    for i, s in enumerate(specs if isinstance(specs, list) else []):
        if isinstance(s, Mapping):
            yield ("specs", i), s


def _features(rule: Mapping[str, Any], base: tuple[str | int, ...]
              ) -> Iterator[tuple[str, str, tuple[str | int, ...]]]:
    for direction in ("ingress", "egress"):
        items = rule.get(direction)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, Mapping):
                continue
            where = (*base, direction, i)
            ports = item.get("toPorts")
            for j, tp in enumerate(ports if isinstance(ports, list) else []):
                l7 = tp.get("rules") if isinstance(tp, Mapping) else None
                http = l7.get("http") if isinstance(l7, Mapping) else None
                if isinstance(http, list) and http:
                    calls = ", ".join(f"{h.get('method', '*')} {h.get('path', '*')}"
                                      for h in http if isinstance(h, Mapping))
                    yield "L7 HTTP", f"{direction}: {calls}", (*where, "toPorts", j)
            fqdns = item.get("toFQDNs") if direction == "egress" else None
            if isinstance(fqdns, list) and fqdns:
                names = ", ".join(str(f.get("matchName") or f.get("matchPattern"))
                                  for f in fqdns if isinstance(f, Mapping))
                yield "toFQDNs", f"egress to {names}", (*where, "toFQDNs")
            auth = item.get("authentication")
            if isinstance(auth, Mapping) and auth.get("mode") == "required":
                yield ("mutual authentication", f"{direction}: authentication.mode required",
                       (*where, "authentication"))


def cilium_features(inventory: Inventory, model: Model) -> list[CiliumFeature]:
    """Every (Cilium policy, selected workload, feature) of the input."""
    out: list[CiliumFeature] = []
    cil = model.cilium
    if cil is None:
        return out
    for group, kind in CILIUM_KINDS:
        for res in inventory.of_kind(kind):
            if res.group != group:
                continue
            ns = None if kind == "CiliumClusterwideNetworkPolicy" else (res.namespace or "default")
            parsed = {r.path: r for r in parse_cilium(res.obj, kind, ns, res)}
            for base, rule in _rules(res.obj):
                feats = list(_features(rule, base))
                if not feats or base not in parsed:
                    continue
                for w in cil.selected_by(parsed[base], model.workloads):
                    out.extend(CiliumFeature(res, w, f, d, p) for f, d, p in feats)
    return out
