"""Kubernetes label selectors, built and matched exactly as k8s.io/apimachinery does.

Building (`metav1.LabelSelectorAsSelector`, apimachinery pkg/apis/meta/v1/helpers.go):
  * a nil selector is `labels.Nothing()` - it matches no object;
  * an empty selector (`{}`: no matchLabels and no matchExpressions) is
    `labels.Everything()` - it matches every object;
  * each `matchLabels` entry `k: v` is the requirement `k = v` (selection.Equals);
  * each `matchExpressions` entry maps In / NotIn / Exists / DoesNotExist (case-sensitive)
    to the same operator; any other operator is an error;
  * every requirement goes through `labels.NewRequirement` (pkg/labels/selector.go), which
    rejects an invalid key (a qualified name: optional DNS-subdomain prefix and `/`, then
    at most 63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends), In/NotIn with an empty
    value set, Exists/DoesNotExist with values, and invalid values (at most 63
    characters, empty allowed).
  The selector is the AND of its requirements.

Matching (`labels.Requirement.Matches`):
  * `=` / In: the key is present and its value is in the set;
  * NotIn: the key is absent, or its value is not in the set - so NotIn matches objects
    that do not carry the key at all;
  * Exists: the key is present; DoesNotExist: the key is absent.

When LabelSelectorAsSelector fails it returns an error and no selector. The API server
rejects such an object at validation (`ValidateLabelSelector`), so it never exists in a
cluster; in a manifest it means the object will not apply. Here an invalid selector
matches nothing and carries its errors, for the rule that uses it to report.

Fields whose absence does NOT mean LabelSelectorAsSelector(nil):
  * NetworkPolicy `spec.podSelector` is a non-pointer field: absent or null decodes to the
    empty selector and selects every pod of the policy's namespace. Use `selector_or_all`.
  * NetworkPolicyPeer `podSelector` / `namespaceSelector` are pointers and absence means
    "this dimension is not constrained": only namespaceSelector - every pod of the matching
    namespaces; only podSelector - matching pods of the policy's own namespace; both -
    matching pods in matching namespaces (`{}` in either means all).
  * Service `spec.selector` is a plain map (`labels.SelectorFromSet`): `selector_from_set`
    gives its match semantics, but an empty or absent Service selector means the Service
    selects no pods (its endpoints are managed by hand), although SelectorFromSet({}) is
    Everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "Requirement",
    "Selector",
    "label_selector",
    "labels_of",
    "selector_from_set",
    "selector_or_all",
    "validate_label_key",
    "validate_label_value",
]

# selection.Operator values (apimachinery pkg/selection/operator.go)
EQUALS, IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "=", "in", "notin", "exists", "!"
_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}

_QNAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def validate_label_key(key: str) -> list[str]:
    """validation.IsQualifiedName (apimachinery pkg/util/validation/validation.go)."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        elif len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            errs.append("prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters")
    else:
        return ["a qualified name must be a name with an optional DNS subdomain prefix and '/'"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME.fullmatch(name):
        errs.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character"
        )
    return errs


def validate_label_value(value: str) -> list[str]:
    """validation.IsValidLabelValue: at most 63 characters, empty allowed."""
    errs: list[str] = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE.fullmatch(value):
        errs.append(
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return errs


@dataclass(slots=True, frozen=True)
class Requirement:
    """One requirement: `key operator values` (operator as in selection.Operator)."""

    key: str
    operator: str  # "=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """labels.Requirement.Matches."""
        if self.operator in (EQUALS, IN):
            return self.key in labels and labels[self.key] in self.values
        if self.operator == NOT_IN:
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == EXISTS:
            return self.key in labels
        if self.operator == DOES_NOT_EXIST:
            return self.key not in labels
        return False

    def __str__(self) -> str:
        """Requirement.String: `k=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`."""
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return f"!{self.key}"
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator == EQUALS:
            return f"{self.key}={vals}"
        return f"{self.key} {self.operator} ({vals})"


@dataclass(slots=True, frozen=True)
class Selector:
    """A built selector: the AND of `requirements`; `nothing` is labels.Nothing().

    An invalid selector (non-empty `errors`) matches nothing.
    """

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def everything(self) -> bool:
        """True for labels.Everything(): the empty selector, which selects every object."""
        return not self.nothing and not self.errors and not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.nothing or self.errors:
            return False
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        """internalSelector.String (requirements sorted by key); `<none>` when empty."""
        if self.errors:
            return "<error>"
        if self.nothing:
            return "<nothing>"
        text = ",".join(str(r) for r in self.requirements)
        return text or "<none>"


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def label_selector(value: Any) -> Selector:
    """metav1.LabelSelectorAsSelector over a decoded LabelSelector (None -> Nothing)."""
    if value is None:
        return NOTHING
    if not isinstance(value, Mapping):
        return Selector(errors=("a label selector must be a mapping",))
    match_labels = value.get("matchLabels")
    expressions = value.get("matchExpressions")
    errors: list[str] = []
    if match_labels is not None and not isinstance(match_labels, Mapping):
        errors.append("matchLabels must be a mapping of strings")
        match_labels = None
    if expressions is not None and not isinstance(expressions, list):
        errors.append("matchExpressions must be a list")
        expressions = None
    if errors:
        return Selector(errors=tuple(errors))
    if not match_labels and not expressions:
        return EVERYTHING
    requirements: list[Requirement] = []
    for key, val in (match_labels or {}).items():
        where = f"matchLabels[{key}]"
        if not isinstance(key, str) or not isinstance(val, str):
            errors.append(f"{where}: keys and values must be strings (got {val!r})")
            continue
        errors.extend(_new_requirement(where, key, EQUALS, [val]))
        requirements.append(Requirement(key, EQUALS, (val,)))
    for i, expr in enumerate(expressions or []):
        where = f"matchExpressions[{i}]"
        if not isinstance(expr, Mapping):
            errors.append(f"{where}: must be a mapping")
            continue
        key, raw_op, raw_values = expr.get("key", ""), expr.get("operator"), expr.get("values")
        op = _OPERATORS.get(raw_op) if isinstance(raw_op, str) else None
        if op is None:
            errors.append(f"{where}: {raw_op!r} is not a valid label selector operator")
            continue
        if raw_values is None:
            raw_values = []
        if not isinstance(key, str) or not isinstance(raw_values, list) or not all(
            isinstance(v, str) for v in raw_values
        ):
            errors.append(f"{where}: key and values must be strings")
            continue
        errors.extend(_new_requirement(where, key, op, raw_values))
        requirements.append(Requirement(key, op, tuple(raw_values)))
    if errors:
        return Selector(errors=tuple(errors))
    return Selector(tuple(sorted(requirements, key=lambda r: r.key)))


def _new_requirement(where: str, key: str, op: str, values: list[str]) -> list[str]:
    """labels.NewRequirement's validation, as messages."""
    errs = [f"{where}: key {key!r}: {e}" for e in validate_label_key(key)]
    if op in (IN, NOT_IN) and not values:
        errs.append(f"{where}: values: for 'in', 'notin' operators, values set can't be empty")
    if op == EQUALS and len(values) != 1:
        errs.append(f"{where}: values: exact-match compatibility requires one single value")
    if op in (EXISTS, DOES_NOT_EXIST) and values:
        errs.append(f"{where}: values: values set must be empty for exists and does not exist")
    for v in values:
        errs.extend(f"{where}: value {v!r}: {e}" for e in validate_label_value(v))
    return errs


def selector_or_all(value: Any) -> Selector:
    """A non-pointer selector field (NetworkPolicy spec.podSelector): null is the empty one."""
    return EVERYTHING if value is None else label_selector(value)


def selector_from_set(value: Any) -> Selector:
    """labels.SelectorFromSet over a plain map (Service spec.selector, ...): `k = v` each."""
    if value is None:
        return EVERYTHING
    if not isinstance(value, Mapping):
        return Selector(errors=("a selector map must be a mapping of strings",))
    return label_selector({"matchLabels": dict(value)}) if value else EVERYTHING


def labels_of(value: Any) -> dict[str, str]:
    """An object's labels for matching: the string-valued entries of metadata.labels.

    A non-string label value (`version: 1` unquoted) makes the API server reject the whole
    object, so it is not treated as a label here.
    """
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
