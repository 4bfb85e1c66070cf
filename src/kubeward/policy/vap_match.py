"""Which admission requests a ValidatingAdmissionPolicy (or its binding) applies to.

Port of the API server's matching, offline:

* k8s.io/apiserver/pkg/admission/plugin/policy/matching/matching.go `Matcher.Matches`:
  namespaceSelector, then objectSelector, then `excludeResourceRules` (a match excludes),
  then `resourceRules` (an empty list matches every request);
* k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules/rules.go `Matcher.Matches`:
  operations (`*` or one of CREATE/UPDATE/DELETE/CONNECT), apiGroups, apiVersions,
  resources with subresources (`pods`, `pods/status`, `*/status`, `pods/*`; `*` is every
  resource but no subresource, `*/*` everything), scope (`*`, `Cluster`, `Namespaced`);
  `NamedRuleWithOperations.resourceNames` narrows to those object names;
* .../webhook/predicates/namespace/matcher.go `MatchNamespaceSelector`: a cluster-scoped
  request other than a Namespace always matches; a Namespace is matched by its own labels;
  otherwise the labels of the request's Namespace (here: the `namespace_object` given to
  the evaluation; without one, the labels are unknown and taken as empty);
* .../webhook/predicates/object/matcher.go `MatchObjectSelector`: the object's labels or the
  old object's labels match;
* `matchPolicy: Equivalent` (the default) also matches a rule written for another
  group/version that a 1.30+ API server serves for the same resource (for example
  `autoscaling/v1` and `autoscaling/v2` HorizontalPodAutoscalers), from the table
  `EQUIVALENT` below; `Exact` does not. Custom resources served at several versions are not
  known offline and match exactly.
* generic/policy_matcher.go `BindingMatches`: a binding without `matchResources` matches
  every request its policy matches; with it, both must match.

The kind of the object is turned into its resource with the built-in table `RESOURCES`
and otherwise `meta.UnsafeGuessKindToResource` (apimachinery pkg/api/meta/restmapper.go).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeward.k8s.selectors import Selector, labels_of, selector_or_all

__all__ = [
    "CLUSTER_SCOPED_KINDS",
    "Attributes",
    "MatchResources",
    "guess_resource",
    "object_labels",
    "parse_match_resources",
]

# Kinds whose objects have no namespace (the rest are namespaced): the built-in API.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
    "StorageClass", "CustomResourceDefinition", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "PriorityClass", "RuntimeClass", "CSIDriver",
    "CSINode", "VolumeAttachment", "APIService", "CertificateSigningRequest",
    "IngressClass", "PodSecurityPolicy", "ClusterIssuer", "ClusterPolicy",
    "FlowSchema", "PriorityLevelConfiguration", "ComponentStatus", "TokenReview",
    "SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview",
    "IPAddress", "ServiceCIDR", "DeviceClass", "ResourceSlice",
    "CiliumClusterwideNetworkPolicy", "ClusterPolicyReport", "StorageVersion",
})

# Irregular plurals that UnsafeGuessKindToResource would get wrong.
RESOURCES = {"Endpoints": "endpoints", "PodSecurityPolicy": "podsecuritypolicies"}

# matchPolicy Equivalent: the group/versions that serve the same stored resource on a
# 1.30+ API server (its equivalent-resource registry); a request for one also matches rules
# written for another. Resources served at a single version have no entry.
_EQUIVALENT_SETS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("horizontalpodautoscalers", (("autoscaling", "v1"), ("autoscaling", "v2"))),
    ("events", (("", "v1"), ("events.k8s.io", "v1"))),
    ("flowschemas", (("flowcontrol.apiserver.k8s.io", "v1"),
                     ("flowcontrol.apiserver.k8s.io", "v1beta3"))),
    ("prioritylevelconfigurations", (("flowcontrol.apiserver.k8s.io", "v1"),
                                     ("flowcontrol.apiserver.k8s.io", "v1beta3"))),
    ("validatingadmissionpolicies", (("admissionregistration.k8s.io", "v1"),
                                     ("admissionregistration.k8s.io", "v1beta1"))),
    ("validatingadmissionpolicybindings", (("admissionregistration.k8s.io", "v1"),
                                           ("admissionregistration.k8s.io", "v1beta1"))),
)
EQUIVALENT: dict[tuple[str, str, str], tuple[tuple[str, str], ...]] = {
    (g, v, res): pairs for res, pairs in _EQUIVALENT_SETS for g, v in pairs
}


def guess_resource(kind: str) -> str:
    """meta.UnsafeGuessKindToResource: `Pod` -> `pods`, `Ingress` -> `ingresses`."""
    if kind in RESOURCES:
        return RESOURCES[kind]
    if not kind:
        return ""
    singular = kind.lower()
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


@dataclass(slots=True)
class Attributes:
    """admission.Attributes of one request, as much of it as matching needs."""

    group: str
    version: str
    kind: str
    resource: str
    subresource: str
    name: str
    namespace: str  # "" for cluster-scoped
    operation: str
    labels: Mapping[str, str]
    old_labels: Mapping[str, str] | None
    namespace_labels: Mapping[str, str] | None  # None: the namespace is unknown

    @property
    def cluster_scoped(self) -> bool:
        return self.namespace == ""


@dataclass(slots=True)
class _Rule:
    """One NamedRuleWithOperations."""

    operations: tuple[str, ...]
    groups: tuple[str, ...]
    versions: tuple[str, ...]
    resources: tuple[str, ...]
    scope: str
    names: tuple[str, ...]

    def matches(self, a: Attributes, group: str, version: str) -> bool:
        """rules.Matcher.Matches + the resourceNames check of matching.go."""
        if not ("*" in self.operations or a.operation in self.operations):
            return False
        if not ("*" in self.groups or group in self.groups):
            return False
        if not ("*" in self.versions or version in self.versions):
            return False
        if not self._resource(a.resource, a.subresource):
            return False
        # rules.go scope(): a Namespace request carries its own name as namespace but is
        # cluster-scoped.
        is_ns = a.group == "" and a.version == "v1" and a.resource == "namespaces"
        if self.scope == "Cluster" and not (is_ns or a.cluster_scoped):
            return False
        if self.scope == "Namespaced" and (is_ns or a.cluster_scoped):
            return False
        return not self.names or a.name in self.names

    def _resource(self, resource: str, subresource: str) -> bool:
        for item in self.resources:
            res, _, sub = item.partition("/")
            if (res == "*" or res == resource) and (sub == "*" or sub == subresource):
                return True
        return False


@dataclass(slots=True)
class MatchResources:
    """A parsed `matchConstraints` / `matchResources`."""

    namespace_selector: Selector
    object_selector: Selector
    rules: list[_Rule] = field(default_factory=list)
    exclude: list[_Rule] = field(default_factory=list)
    equivalent: bool = True

    def matches(self, a: Attributes) -> bool:
        """matching.go Matcher.Matches (selectors, exclusions, then rules)."""
        if not self._namespace_matches(a):
            return False
        if not self._object_matches(a):
            return False
        if self._any(self.exclude, a):
            return False
        return not self.rules or self._any(self.rules, a)

    def _any(self, rules: Sequence[_Rule], a: Attributes) -> bool:
        if any(r.matches(a, a.group, a.version) for r in rules):
            return True
        if not self.equivalent:
            return False
        # Equivalent: the same resource served at another group/version (the API server
        # converts the object to the rule's version before evaluating).
        pairs = EQUIVALENT.get((a.group, a.version, a.resource), ())
        return any(r.matches(a, g, v) for r in rules for g, v in pairs)

    def _namespace_matches(self, a: Attributes) -> bool:
        sel = self.namespace_selector
        if sel.everything:
            return True
        if a.kind == "Namespace" and a.group == "":
            return sel.matches(a.labels)
        if a.cluster_scoped:
            return True
        return sel.matches(a.namespace_labels or {})

    def _object_matches(self, a: Attributes) -> bool:
        sel = self.object_selector
        if sel.everything:
            return True
        if sel.matches(a.labels):
            return True
        return a.old_labels is not None and sel.matches(a.old_labels)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _rules(value: Any, where: str, errors: list[str]) -> list[_Rule]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"{where}: must be a list")
        return []
    out = []
    for i, raw in enumerate(value):
        if not isinstance(raw, Mapping):
            errors.append(f"{where}[{i}]: must be a mapping")
            continue
        scope = raw.get("scope") or "*"
        if scope not in ("*", "Cluster", "Namespaced"):
            errors.append(f"{where}[{i}].scope: unsupported value {scope!r}")
        out.append(_Rule(
            operations=_strings(raw.get("operations")),
            groups=_strings(raw.get("apiGroups")),
            versions=_strings(raw.get("apiVersions")),
            resources=_strings(raw.get("resources")),
            scope=str(scope),
            names=_strings(raw.get("resourceNames")),
        ))
    return out


def parse_match_resources(value: Any, where: str, errors: list[str]) -> MatchResources:
    """Reads matchConstraints/matchResources with the v1 defaults (selectors `{}`,
    matchPolicy Equivalent); problems are appended to `errors`."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        errors.append(f"{where}: must be a mapping")
        value = {}
    ns_sel = selector_or_all(value.get("namespaceSelector"))
    obj_sel = selector_or_all(value.get("objectSelector"))
    for name, sel in (("namespaceSelector", ns_sel), ("objectSelector", obj_sel)):
        errors.extend(f"{where}.{name}: {e}" for e in sel.errors)
    policy = value.get("matchPolicy") or "Equivalent"
    if policy not in ("Equivalent", "Exact"):
        errors.append(f"{where}.matchPolicy: unsupported value {policy!r}")
    return MatchResources(
        namespace_selector=ns_sel,
        object_selector=obj_sel,
        rules=_rules(value.get("resourceRules"), f"{where}.resourceRules", errors),
        exclude=_rules(value.get("excludeResourceRules"), f"{where}.excludeResourceRules",
                       errors),
        equivalent=policy != "Exact",
    )


def object_labels(obj: Mapping[str, Any] | None) -> dict[str, str]:
    """The string labels of an object (none for a missing object)."""
    if not isinstance(obj, Mapping):
        return {}
    meta = obj.get("metadata")
    return labels_of(meta.get("labels")) if isinstance(meta, Mapping) else {}
