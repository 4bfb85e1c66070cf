"""`--compare`: permissions the subject holds in given manifests but never used in the logs.

Rule-level comparison (the RBAC model of `kubeward.rbac` is not used): the bindings in the
manifests that name the subject (as User, ServiceAccount, or one of its groups) are resolved
to their Role/ClusterRole; every rule is broken down into (apiGroup, resource, verb) — or
(URL, verb) — atoms, keeping its resourceNames; an atom is *used* when at least one observed
request in the binding's scope matches it with the RBAC authorizer's matching
(`rules.rule_allows`). Unused atoms are reported per binding, compacted back into rules; used
atoms with a wildcard are reported as broader than needed. Aggregated ClusterRoles are taken as written
(their rules are filled in by the controller-manager on a cluster).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeward.inventory.yamlio import Document, load_documents
from kubeward.rbacgen.generate import Subject
from kubeward.rbacgen.requestinfo import RequestAttributes
from kubeward.rbacgen.rules import PolicyRule, compact, rule_allows

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


@dataclass(frozen=True)
class Unused:
    """Part of a bound rule that no observed request needed."""

    binding: str  # "RoleBinding ns/name" or "ClusterRoleBinding name"
    role: str  # "Role ns/name" or "ClusterRole name"
    namespace: str  # where it applies ("" = every namespace and the cluster)
    rule: PolicyRule  # the unused part, as a rule
    broader: bool = False  # used, but through a wildcard

    def to_dict(self) -> dict[str, Any]:
        return {
            "binding": self.binding,
            "role": self.role,
            "namespace": self.namespace or "*",
            "rule": self.rule.to_dict(),
            **({"wildcardUsed": True} if self.broader else {}),
        }


@dataclass
class Comparison:
    unused: list[Unused]
    broader: list[Unused]
    bindings: list[str]
    warnings: list[str]
    not_granted: list[RequestAttributes]  # observed, but no compared binding allows it

    def to_dict(self) -> dict[str, Any]:
        return {
            "bindings": self.bindings,
            "unused": [u.to_dict() for u in self.unused],
            "broaderThanUsed": [u.to_dict() for u in self.broader],
            "notGranted": [r.describe() for r in self.not_granted],
            "warnings": self.warnings,
        }


def load_rbac_objects(paths: Iterable[Path], warnings: list[str]) -> list[dict[str, Any]]:
    """Every RBAC object in the files (and folders) given, `List`s expanded."""
    out: list[dict[str, Any]] = []
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            warnings.append(f"{path}: cannot read ({err})")
            continue
        for doc in load_documents(text):
            if not isinstance(doc, Document):
                warnings.append(f"{path}:{doc.line}: {doc.message}")
                continue
            out.extend(_rbac_of(doc.data))
    return out


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
        else:
            yield path


def _rbac_of(data: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(data, dict):
        return
    if isinstance(data.get("items"), list) and str(data.get("kind", "")).endswith("List"):
        for item in data["items"]:
            yield from _rbac_of(item)
        return
    if data.get("kind") in RBAC_KINDS and str(data.get("apiVersion", "")).startswith(
        "rbac.authorization.k8s.io/"
    ):
        yield data


def _meta(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _binds(binding: dict[str, Any], subject: Subject, groups: frozenset[str], namespace: str) -> bool:
    """rbac/validation appliesTo: does one of the binding's subjects name our subject?"""
    for sub in binding.get("subjects") or []:
        if not isinstance(sub, dict):
            continue
        kind, name = sub.get("kind"), str(sub.get("name") or "")
        if kind == "User" and name == subject.username:
            return True
        if kind == "Group" and name in groups:
            return True
        if kind == "ServiceAccount" and subject.kind == "ServiceAccount":
            sa_namespace = str(sub.get("namespace") or "") or namespace
            if sa_namespace == subject.namespace and name == subject.name:
                return True
    return False


def _atoms(rule: PolicyRule) -> Iterator[PolicyRule]:
    """BreakdownRule: one rule per (group, resource, verb) or (URL, verb), names kept."""
    if rule.non_resource_urls:
        for url in rule.non_resource_urls:
            for verb in rule.verbs:
                yield PolicyRule(verbs=(verb,), non_resource_urls=(url,))
        return
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                yield PolicyRule(
                    verbs=(verb,),
                    api_groups=(group,),
                    resources=(resource,),
                    resource_names=rule.resource_names,
                )


def _wildcard(atom: PolicyRule) -> bool:
    return any(
        "*" in value for value in (*atom.verbs, *atom.api_groups, *atom.resources, *atom.non_resource_urls)
    )


def compare(
    objects: list[dict[str, Any]], subject: Subject, groups: frozenset[str], requests: list[RequestAttributes]
) -> Comparison:
    warnings: list[str] = []
    roles: dict[tuple[str, str, str], dict[str, Any]] = {}
    for obj in objects:
        if obj["kind"] in ("Role", "ClusterRole"):
            ns, name = _meta(obj)
            roles[(obj["kind"], ns if obj["kind"] == "Role" else "", name)] = obj
    unused: list[Unused] = []
    broader: list[Unused] = []
    bindings: list[str] = []
    granted: set[RequestAttributes] = set()
    for obj in sorted(
        (o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")),
        key=lambda o: (o["kind"], *_meta(o)),
    ):
        ns, name = _meta(obj)
        scope = ns if obj["kind"] == "RoleBinding" else ""
        if not _binds(obj, subject, groups, scope):
            continue
        label = f"{obj['kind']} {ns + '/' if scope else ''}{name}"
        bindings.append(label)
        ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
        assert isinstance(ref, dict)
        ref_kind, ref_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        role = roles.get((ref_kind, scope if ref_kind == "Role" else "", ref_name))
        role_label = f"{ref_kind} {scope + '/' if ref_kind == 'Role' else ''}{ref_name}"
        if role is None:
            warnings.append(f"{label}: {role_label} is not in the compared manifests")
            continue
        in_scope = [r for r in requests if not scope or (r.resource_request and r.namespace == scope)]
        never: list[PolicyRule] = []
        for raw in role.get("rules") or []:
            if not isinstance(raw, dict):
                continue
            for atom in _atoms(PolicyRule.from_dict(raw)):
                if scope and atom.non_resource_urls:
                    continue  # a RoleBinding never grants non-resource URLs
                used = {r for r in in_scope if rule_allows(atom, r)}
                granted |= used
                if not used:
                    never.append(atom)
                elif _wildcard(atom):
                    broader.append(Unused(label, role_label, scope, atom, broader=True))
        unused.extend(Unused(label, role_label, scope, rule) for rule in compact(never))
    not_granted = [r for r in requests if r not in granted]
    return Comparison(unused, broader, bindings, warnings, not_granted)
