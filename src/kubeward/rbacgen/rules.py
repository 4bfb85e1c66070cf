"""Policy rules covering exactly a set of requests, compacted and in a stable order.

Every merge is exact: a rule stands for the cross product apiGroups × resources × verbs ×
resourceNames, and two rules are only merged when the union is again such a product (same
verbs and names → union the resources; same resources and names → union the verbs). So the
compacted rules allow exactly what the uncompacted ones allow, never more.

Unlike audit2rbac (liggitt/audit2rbac#24) a rule whose verbs include create, list, watch or
deletecollection never carries resourceNames: RBAC cannot restrict those by name (a create
has no name in its URL), so such a rule would not allow the request it was made for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubeward.rbacgen.requestinfo import RequestAttributes

UNNAMEABLE_VERBS = frozenset({"create", "list", "watch", "deletecollection"})


@dataclass(frozen=True)
class PolicyRule:
    """An rbac.authorization.k8s.io/v1 PolicyRule (tuples kept sorted)."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
        else:
            out["apiGroups"] = list(self.api_groups)
            out["resources"] = list(self.resources)
            if self.resource_names:
                out["resourceNames"] = list(self.resource_names)
        out["verbs"] = list(self.verbs)
        return out

    def sort_key(self) -> tuple[Any, ...]:
        return (
            bool(self.non_resource_urls),
            self.api_groups,
            self.resources,
            self.non_resource_urls,
            self.resource_names,
            self.verbs,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyRule:
        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(
            verbs=strings("verbs"),
            api_groups=strings("apiGroups"),
            resources=strings("resources"),
            resource_names=strings("resourceNames"),
            non_resource_urls=strings("nonResourceURLs"),
        )


def rules_for(requests: Iterable[RequestAttributes], *, resource_names: bool = True) -> list[PolicyRule]:
    """The compacted rules that allow exactly `requests` (names kept where RBAC honours them)."""
    unnamed: dict[tuple[str, str], set[str]] = defaultdict(set)
    named: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    urls: dict[str, set[str]] = defaultdict(set)
    for req in requests:
        if not req.resource_request:
            urls[req.path].add(req.verb)
            continue
        key = (req.api_group, req.rbac_resource)
        if resource_names and req.name and req.verb not in UNNAMEABLE_VERBS:
            named[(*key, req.verb)].add(req.name)
        else:
            unnamed[key].add(req.verb)

    rules: list[PolicyRule] = []
    for (group, resource), plain_verbs in unnamed.items():
        rules.append(PolicyRule(verbs=tuple(sorted(plain_verbs)), api_groups=(group,), resources=(resource,)))
    by_names: dict[tuple[str, str, tuple[str, ...]], set[str]] = defaultdict(set)
    for (group, resource, verb), names in named.items():
        if verb in unnamed.get((group, resource), set()):
            continue  # the unnamed rule already allows every name
        by_names[(group, resource, tuple(sorted(names)))].add(verb)
    for (group, resource, name_list), named_verbs in by_names.items():
        rules.append(
            PolicyRule(
                verbs=tuple(sorted(named_verbs)),
                api_groups=(group,),
                resources=(resource,),
                resource_names=name_list,
            )
        )
    by_verbs: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for path, verbs in urls.items():
        by_verbs[tuple(sorted(verbs))].add(path)
    for url_verbs, paths in by_verbs.items():
        rules.append(PolicyRule(verbs=url_verbs, non_resource_urls=tuple(sorted(paths))))
    return compact(rules)


def compact(rules: Iterable[PolicyRule]) -> list[PolicyRule]:
    """Dedupe and merge rules exactly (see the module doc), sorted for stable output."""
    current = sorted(set(rules), key=PolicyRule.sort_key)
    while True:
        merged = _merge_once(current)
        if len(merged) == len(current):
            return sorted(merged, key=PolicyRule.sort_key)
        current = merged


def _merge_once(rules: list[PolicyRule]) -> list[PolicyRule]:
    # same groups, resources, names (or URLs) → union of verbs
    by_target: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for rule in rules:
        by_target[(rule.api_groups, rule.resources, rule.resource_names, rule.non_resource_urls)].update(
            rule.verbs
        )
    step = [
        PolicyRule(
            verbs=tuple(sorted(verbs)), api_groups=g, resources=r, resource_names=n, non_resource_urls=u
        )
        for (g, r, n, u), verbs in by_target.items()
    ]
    # same groups, verbs, names → union of resources; same verbs → union of URLs
    by_shape: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    url_shape: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for rule in step:
        if rule.non_resource_urls:
            url_shape[rule.verbs].update(rule.non_resource_urls)
        else:
            by_shape[(rule.api_groups, rule.verbs, rule.resource_names)].update(rule.resources)
    out = [
        PolicyRule(verbs=v, api_groups=g, resources=tuple(sorted(res)), resource_names=n)
        for (g, v, n), res in by_shape.items()
    ]
    out += [PolicyRule(verbs=v, non_resource_urls=tuple(sorted(paths))) for v, paths in url_shape.items()]
    return sorted(out, key=PolicyRule.sort_key)


# --- RBAC matching (plugin/pkg/auth/authorizer/rbac/rbac.go, RuleAllows) --------------------


def rule_allows(rule: PolicyRule, req: RequestAttributes) -> bool:
    """Whether one rule allows one request, with the RBAC authorizer's exact matching."""
    if not ("*" in rule.verbs or req.verb in rule.verbs):
        return False
    if not req.resource_request:
        return any(
            url == "*" or url == req.path or (url.endswith("*") and req.path.startswith(url[:-1]))
            for url in rule.non_resource_urls
        )
    if not ("*" in rule.api_groups or req.api_group in rule.api_groups):
        return False
    if not _resource_matches(rule.resources, req.rbac_resource, req.subresource):
        return False
    return not rule.resource_names or req.name in rule.resource_names


def _resource_matches(resources: tuple[str, ...], combined: str, subresource: str) -> bool:
    for resource in resources:
        if resource in ("*", combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False
