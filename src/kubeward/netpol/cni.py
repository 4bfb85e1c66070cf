"""CNI-specific policies: Cilium features per workload; Calico recognised as out of scope.

CiliumNetworkPolicy (namespaced) and CiliumClusterwideNetworkPolicy (cilium.io/v2,
https://docs.cilium.io/en/stable/network/kubernetes/policy/) carry one rule in `spec` or
several in `specs`. A rule selects endpoints with `endpointSelector` (a label selector; label
keys may carry a source prefix such as `k8s:`; `io.kubernetes.pod.namespace` is the pod's
namespace). A namespaced policy selects only pods of its namespace; a clusterwide one pods
of every namespace. Reported per selected workload:
  * L7 HTTP rules: `ingress[]/egress[].toPorts[].rules.http`
    (https://docs.cilium.io/en/stable/security/policy/language/#layer-7-examples);
  * `egress[].toFQDNs` (DNS-based egress);
  * `ingress[]/egress[].authentication.mode: required` (mutual authentication).
Their L3/L4 semantics are not part of the reachability model (see docs/netpol.md).
Calico's NetworkPolicy / GlobalNetworkPolicy are recognised and reported as not evaluated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.selectors import Selector, label_selector
from kubeward.netpol.model import Model, Workload

__all__ = ["CALICO_KINDS", "CILIUM_KINDS", "CiliumFeature", "cilium_features",
           "cilium_selecting", "cilium_selector", "out_of_scope_kinds"]

CILIUM_KINDS = (("cilium.io", "CiliumNetworkPolicy"), ("cilium.io", "CiliumClusterwideNetworkPolicy"))
CALICO_KINDS = (("projectcalico.org", "NetworkPolicy"), ("projectcalico.org", "GlobalNetworkPolicy"),
                ("crd.projectcalico.org", "NetworkPolicy"),
                ("crd.projectcalico.org", "GlobalNetworkPolicy"))
NS_KEY = "io.kubernetes.pod.namespace"


def out_of_scope_kinds(inventory: Inventory) -> list[str]:
    """CNI policy kinds of the input that the NetworkPolicy reachability does not evaluate."""
    return sorted({f"{kind} ({group})" for group, kind in (*CILIUM_KINDS, *CALICO_KINDS)
                   if any(r.group == group for r in inventory.of_kind(kind))})


def _strip(key: Any) -> Any:
    if isinstance(key, str):
        for prefix in ("k8s:", "any:"):
            if key.startswith(prefix):
                return key[len(prefix):]
    return key


def cilium_selector(raw: Any) -> Selector:
    """A Cilium endpointSelector as a label selector (source prefixes `k8s:`/`any:` dropped)."""
    if not isinstance(raw, Mapping):
        return label_selector(raw)
    labels = raw.get("matchLabels")
    exprs = raw.get("matchExpressions")
    fixed: dict[str, Any] = {}
    if isinstance(labels, Mapping):
        fixed["matchLabels"] = {_strip(k): v for k, v in labels.items()}
    if isinstance(exprs, list):
        fixed["matchExpressions"] = [{**e, "key": _strip(e.get("key"))} if isinstance(e, Mapping)
                                     else e for e in exprs]
    return label_selector(fixed)


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
    for group, kind in CILIUM_KINDS:
        for res in inventory.of_kind(kind):
            if res.group != group:
                continue
            for base, rule in _rules(res.obj):
                feats = list(_features(rule, base))
                if not feats:
                    continue
                sel = cilium_selector(rule.get("endpointSelector"))
                for w in model.workloads:
                    if kind == "CiliumNetworkPolicy" and w.namespace != (res.namespace or "default"):
                        continue
                    if not sel.matches({**w.labels, NS_KEY: w.namespace}):
                        continue
                    out.extend(CiliumFeature(res, w, f, d, p) for f, d, p in feats)
    return out


def cilium_selecting(inventory: Inventory, workload: Workload) -> list[tuple[Resource, frozenset[str]]]:
    """The Cilium policies whose endpointSelector selects `workload`, with the directions
    (Ingress / Egress) their rules isolate: a rule section `ingress`/`ingressDeny`
    (`egress`/`egressDeny`) puts the selected endpoints in default-deny for that direction
    unless `enableDefaultDeny` turns it off (Cilium policy language, "Default deny")."""
    out = []
    for group, kind in CILIUM_KINDS:
        for res in inventory.of_kind(kind):
            if res.group != group:
                continue
            if kind == "CiliumNetworkPolicy" and workload.namespace != (res.namespace or "default"):
                continue
            dirs: set[str] = set()
            for _, rule in _rules(res.obj):
                if not cilium_selector(rule.get("endpointSelector")).matches(
                        {**workload.labels, NS_KEY: workload.namespace}):
                    continue
                default_deny = rule.get("enableDefaultDeny")
                for direction, fields in (("Ingress", ("ingress", "ingressDeny")),
                                          ("Egress", ("egress", "egressDeny"))):
                    off = isinstance(default_deny, Mapping) and \
                        default_deny.get(direction.lower()) is False
                    if not off and any(isinstance(rule.get(f), list) for f in fields):
                        dirs.add(direction)
            if dirs:
                out.append((res, frozenset(dirs)))
    return out
