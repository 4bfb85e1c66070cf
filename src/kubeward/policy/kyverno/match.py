"""`match` / `exclude` of a rule against one resource and one admission request.

Port of kyverno `pkg/engine/utils/match.go` (`MatchesResourceDescription`,
`doesResourceMatchConditionBlock`, `matchesResourceDescriptionMatchHelper` /
`...ExcludeHelper`, `checkKind`, `checkName`, `checkNameSpace`, `checkAnnotations`,
`checkSelector`, `matchSubjects`) and `pkg/utils/kube/kind.go` (`ParseKindSelector`):

* `match.any`: one filter must match; `match.all`: every filter; else `match.resources`
  (with `subjects` / `roles` / `clusterRoles` beside it);
* `exclude.any`: excluded when one filter matches; `exclude.all`: when every one does;
* within a filter every given criterion must hold: kinds (`Kind`, `version/Kind`,
  `group/version/Kind`, `Kind/subresource`, wildcards), `name` / `names`, `namespaces`
  (a Namespace object is matched by its own name), `annotations`, `selector`,
  `namespaceSelector` (the labels of the resource's Namespace), `operations`, and the
  user info criteria (`subjects`, `roles`, `clusterRoles`) against the request's user.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeward.policy.kyverno.values import contains_wildcard, wildcard_match

__all__ = ["Request", "kind_prefilter", "matches_rule", "parse_kind_selector"]


@dataclass(slots=True)
class Request:
    """What the match needs to know about the admission request beyond the object."""

    operation: str = "CREATE"
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    user_info: Mapping[str, Any] | None = None  # username, groups, roles, clusterRoles


@functools.lru_cache(maxsize=1024)
def parse_kind_selector(text: str) -> tuple[str, str, str, str]:
    """`ParseKindSelector`: (group, version, kind, subresource)."""
    parts = text.split("/")
    if len(parts) == 1:
        return "*", "*", parts[0], ""
    if len(parts) == 2:
        if parts[0][:1].isupper() or (parts[0] == "*" and parts[1][:1].islower()):
            return "*", "*", parts[0], parts[1]
        return "*", parts[0], parts[1], ""
    if len(parts) == 3:
        if parts[1][:1].isupper():
            return "*", parts[0], parts[1], parts[2]
        return parts[0], parts[1], parts[2], ""
    return parts[0], parts[1], parts[2], "/".join(parts[3:])


def _gvk(resource: Mapping[str, Any]) -> tuple[str, str, str]:
    api_version = resource.get("apiVersion")
    api_version = api_version if isinstance(api_version, str) else ""
    group, _, version = api_version.rpartition("/")
    kind = resource.get("kind")
    return group, version, kind if isinstance(kind, str) else ""


def check_kind(kinds: list[Any], resource: Mapping[str, Any]) -> bool:
    group, version, kind = _gvk(resource)
    for k in kinds:
        if not isinstance(k, str):
            continue
        g, v, kd, sub = parse_kind_selector(k)
        if sub and sub != "*":
            continue  # subresource requests are not evaluated offline
        if wildcard_match(g, group) and wildcard_match(v, version) and wildcard_match(kd, kind):
            return True
    return False


def _meta(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    m = resource.get("metadata")
    return m if isinstance(m, dict) else {}


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, (str, int, float, bool))}


def _selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """`checkSelector`: wildcards in matchLabels are replaced from the labels first."""
    from kubeward.k8s.selectors import label_selector

    if not isinstance(selector, dict):
        return False
    sel = dict(selector)
    ml = sel.get("matchLabels")
    if isinstance(ml, dict):
        replaced = {}
        for k, v in ml.items():
            ks, vs = str(k), str(v)
            if contains_wildcard(ks) or contains_wildcard(vs):
                hit = next(
                    (
                        (lk, lv)
                        for lk, lv in sorted(labels.items())
                        if wildcard_match(ks, lk) and wildcard_match(vs, lv)
                    ),
                    None,
                )
                if hit is None:
                    hit = (ks.replace("*", "0").replace("?", "0"), vs.replace("*", "0").replace("?", "0"))
                replaced[hit[0]] = hit[1]
            else:
                replaced[ks] = vs
        sel["matchLabels"] = replaced
    built = label_selector(sel)
    if getattr(built, "errors", None):
        return False
    return bool(built.matches(labels))


def _user_matches(block: Mapping[str, Any], user: Mapping[str, Any] | None) -> list[str]:
    errs: list[str] = []
    user = user or {}
    roles = [r for r in user.get("roles") or [] if isinstance(r, str)]
    cluster_roles = [r for r in user.get("clusterRoles") or [] if isinstance(r, str)]
    want_roles = block.get("roles") or []
    if want_roles and not any(r in roles for r in want_roles):
        errs.append("user info does not match roles for the given conditionBlock")
    want_cr = block.get("clusterRoles") or []
    if want_cr and not any(r in cluster_roles for r in want_cr):
        errs.append("user info does not match clustersRoles for the given conditionBlock")
    subjects = block.get("subjects") or []
    if subjects:
        raw_user = user.get("username")
        username = raw_user if isinstance(raw_user, str) else ""
        groups = [g for g in user.get("groups") or [] if isinstance(g, str)] + [username]
        prefix = "system:serviceaccount:"
        hit = False
        for s in subjects:
            if not isinstance(s, dict):
                continue
            kind, name = s.get("kind"), str(s.get("name", ""))
            if kind == "ServiceAccount":
                if (
                    len(username) > len(prefix)
                    and username[len(prefix) :] == f"{s.get('namespace', '')}:{name}"
                ):
                    hit = True
            elif kind in ("User", "Group") and any(wildcard_match(name, g) for g in groups):
                hit = True
        if not hit:
            errs.append("user info does not match subject for the given conditionBlock")
    return errs


def _condition_block(
    desc: Mapping[str, Any], user_block: Mapping[str, Any], resource: Mapping[str, Any], req: Request
) -> list[str]:
    """`doesResourceMatchConditionBlock`: one reason per criterion that does not hold."""
    errs: list[str] = []
    meta = _meta(resource)
    kinds = desc.get("kinds") or []
    if kinds and not check_kind(kinds, resource):
        errs.append("kind does not match")
    raw_name = meta.get("name")
    name = raw_name if isinstance(raw_name, str) else ""
    if not name and isinstance(meta.get("generateName"), str):
        name = str(meta["generateName"])
    if desc.get("name") and not wildcard_match(str(desc["name"]), name):
        errs.append("name does not match")
    names = desc.get("names") or []
    if names and not any(wildcard_match(str(n), name) for n in names):
        errs.append("none of the names match")
    namespaces = desc.get("namespaces") or []
    if namespaces:
        ns = name if _gvk(resource)[2] == "Namespace" else str(meta.get("namespace") or "")
        if not any(wildcard_match(str(n), ns) for n in namespaces):
            errs.append("namespace does not match")
    annotations = desc.get("annotations")
    if isinstance(annotations, dict) and annotations:
        res_ann = _str_map(meta.get("annotations"))
        for k, v in annotations.items():
            if not any(
                wildcard_match(str(k), rk) and wildcard_match(str(v), rv) for rk, rv in res_ann.items()
            ):
                errs.append("annotations does not match")
                break
    if desc.get("selector") is not None and not _selector_matches(
        desc.get("selector"), _str_map(meta.get("labels"))
    ):
        errs.append("selector does not match")
    if desc.get("namespaceSelector") is not None:
        ns_labels = (
            _str_map(meta.get("labels")) if _gvk(resource)[2] == "Namespace" else dict(req.namespace_labels)
        )
        if not _selector_matches(desc.get("namespaceSelector"), ns_labels):
            errs.append("namespace selector does not match")
    operations = desc.get("operations") or []
    if operations and req.operation not in operations:
        errs.append("operation does not match")
    errs.extend(_user_matches(user_block, req.user_info))
    return errs


_USER_KEYS = ("subjects", "roles", "clusterRoles")


def _filter_parts(flt: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    desc = flt.get("resources")
    desc = desc if isinstance(desc, dict) else {}
    user = {k: flt[k] for k in _USER_KEYS if flt.get(k)}
    return desc, user


def _match_helper(flt: Mapping[str, Any], resource: Mapping[str, Any], req: Request) -> list[str]:
    desc, user = _filter_parts(flt)
    if not any(desc.values()) and not user:
        return ["match cannot be empty"]
    return _condition_block(desc, user, resource, req)


def _exclude_helper(flt: Mapping[str, Any], resource: Mapping[str, Any], req: Request) -> bool:
    """True when this filter excludes the resource."""
    desc, user = _filter_parts(flt)
    if not any(desc.values()) and not user:
        return False
    return not _condition_block(desc, user, resource, req)


def matches_rule(
    rule: Mapping[str, Any], resource: Mapping[str, Any], req: Request, policy_namespace: str | None = None
) -> bool:
    """`MatchesResourceDescription`: does the rule apply to this resource and request?"""
    if policy_namespace and policy_namespace != str(_meta(resource).get("namespace") or ""):
        return False
    match = rule.get("match")
    match = match if isinstance(match, dict) else {}
    any_ = match.get("any")
    all_ = match.get("all")
    if isinstance(any_, list) and any_:
        if not any(isinstance(f, dict) and not _match_helper(f, resource, req) for f in any_):
            return False
    elif isinstance(all_, list) and all_:
        if not all(isinstance(f, dict) and not _match_helper(f, resource, req) for f in all_):
            return False
    elif _match_helper(match, resource, req):
        return False
    exclude = rule.get("exclude")
    if not isinstance(exclude, dict):
        return True
    ex_any = exclude.get("any")
    ex_all = exclude.get("all")
    if isinstance(ex_any, list) and ex_any:
        return not any(isinstance(f, dict) and _exclude_helper(f, resource, req) for f in ex_any)
    if isinstance(ex_all, list) and ex_all:
        return not all(isinstance(f, dict) and _exclude_helper(f, resource, req) for f in ex_all)
    return not _exclude_helper(exclude, resource, req)


def kind_prefilter(rule: Mapping[str, Any]) -> frozenset[str] | None:
    """The resource kinds a rule can match at all, or None when it cannot be told cheaply
    (a filter without kinds, or a wildcard kind). Only a shortcut: `matches_rule` decides."""
    match = rule.get("match")
    if not isinstance(match, dict):
        return None
    filters: list[Any] = []
    for key in ("any", "all"):
        items = match.get(key)
        if isinstance(items, list) and items:
            filters = items
            break
    else:
        filters = [match]
    kinds: set[str] = set()
    for flt in filters:
        desc = flt.get("resources") if isinstance(flt, dict) else None
        listed = desc.get("kinds") if isinstance(desc, dict) else None
        if not isinstance(listed, list) or not listed:
            return None
        for k in listed:
            if not isinstance(k, str):
                continue
            kind = parse_kind_selector(k)[2]
            if contains_wildcard(kind):
                return None
            kinds.add(kind)
    return frozenset(kinds)
