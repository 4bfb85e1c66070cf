"""`kubeward policy test`: run Kyverno CLI test suites (`kyverno-test.yaml`) offline.

Reads both forms of the file Kyverno's CLI reads (`kyverno test`,
pkg/cli/kubectl-kyverno/apis/v1alpha1/test.go): the legacy top-level one (`name`,
`policies`, `resources`, `variables`, `userinfo`, `results`) and
`apiVersion: cli.kyverno.io/v1alpha1, kind: Test`. Results name a `policy`, a `rule`, a
`resource` or `resources` (optionally `namespace/name`), an optional `kind` /
`namespace`, the expected `result` (legacy `status`) and, for mutations, a
`patchedResource` file.

As in the CLI: every policy is applied to every resource (mutations first, then validation
on the mutated object); a rule that does not apply to a resource (match / exclude) has no
response from the engine and counts as `skip`, as the CLI's result counts do;
a result's rule also matches its `autogen-` and `autogen-cronjob-` rules
(`lookupRuleResponses`). A result whose policy, rule or resource cannot be found fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TestFile", "TestRow", "find_test_files", "run_dir", "run_test_file"]

TEST_FILE_NAME = "kyverno-test.yaml"


@dataclass(slots=True)
class TestRow:
    """One expected result checked against what the engine produced."""

    test: str  # test file (relative path)
    policy: str
    rule: str
    resource: str  # Kind/namespace/name as matched
    expected: str
    actual: str
    ok: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "policy": self.policy,
            "rule": self.rule,
            "resource": self.resource,
            "expected": self.expected,
            "actual": self.actual,
            "ok": self.ok,
            "reason": self.reason,
        }


@dataclass(slots=True)
class TestFile:
    path: str
    name: str
    rows: list[TestRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # file:line problems; each fails the test

    @property
    def ok(self) -> bool:
        return not self.errors and all(r.ok for r in self.rows)


def find_test_files(paths: list[str], file_name: str = TEST_FILE_NAME) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                if file_name in files:
                    out.append(Path(root) / file_name)
    return out


def _load_yaml_docs(path: Path) -> tuple[list[Any], list[str]]:
    from kubeward.inventory.yamlio import LoadError, load_documents

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return [], [f"{path}: cannot read: {err}"]
    docs: list[Any] = []
    errs: list[str] = []
    for doc in load_documents(text):
        if isinstance(doc, LoadError):
            errs.append(f"{path}:{doc.line}: {doc.message}" if doc.line else f"{path}: {doc.message}")
        elif doc.data is not None:
            docs.append(doc.data)
    return docs, errs


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _resource_key(obj: dict[str, Any]) -> tuple[str, str, str]:
    from kubeward.policy.kyverno.values import as_dict

    meta = as_dict(obj.get("metadata"))
    return (str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


@dataclass(slots=True)
class _Values:
    """A `variables` file (kyverno `values.yaml`: globalValues, policies, namespaceSelector)."""

    global_values: dict[str, Any] = field(default_factory=dict)
    rule_values: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    resource_values: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def for_resource(self, policy: str, resource: str) -> dict[str, Any]:
        out = dict(self.global_values)
        for (pol, _rule), vals in self.rule_values.items():
            if pol == policy:
                out.update(vals)
        out.update(self.resource_values.get((policy, resource), {}))
        return out


def _read_values(data: Any) -> _Values:
    vals = _Values()
    if not isinstance(data, dict):
        return vals
    if isinstance(data.get("globalValues"), dict):
        vals.global_values = dict(data["globalValues"])
    for pol in _list(data.get("policies")):
        if not isinstance(pol, dict):
            continue
        pname = str(pol.get("name") or "")
        for rule in _list(pol.get("rules")):
            if isinstance(rule, dict) and isinstance(rule.get("values"), dict):
                vals.rule_values[(pname, str(rule.get("name") or ""))] = dict(rule["values"])
        for res in _list(pol.get("resources")):
            if isinstance(res, dict) and isinstance(res.get("values"), dict):
                vals.resource_values[(pname, str(res.get("name") or ""))] = dict(res["values"])
    for ns in _list(data.get("namespaceSelector")):
        if isinstance(ns, dict) and isinstance(ns.get("labels"), dict):
            vals.namespace_labels[str(ns.get("name") or "")] = {
                str(k): str(v) for k, v in ns["labels"].items()
            }
    return vals


def _normalise(obj: Any) -> Any:
    """Compare patched resources like the CLI: ignore key order and empty metadata maps."""
    if isinstance(obj, dict):
        return {k: _normalise(v) for k, v in obj.items() if not (k in ("labels", "annotations") and v == {})}
    if isinstance(obj, list):
        return [_normalise(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (int, float)):
        return float(obj)
    return obj


def run_test_file(path: Path, *, base: Path | None = None) -> TestFile:
    from kubeward.inventory.sources import load_paths
    from kubeward.policy.kyverno import RuleResult, evaluate, load_policies, mutate
    from kubeward.policy.kyverno.values import as_dict

    shown = str(path)
    if base is not None:
        rel = os.path.relpath(path, base)
        shown = rel if not rel.startswith("..") else str(path)
    docs, errs = _load_yaml_docs(path)
    spec = docs[0] if docs else None
    tf = TestFile(shown, shown)
    tf.errors.extend(errs)
    if not isinstance(spec, dict):
        if docs or not errs:  # an unreadable file has said so already: one line
            tf.errors.append(f"{shown}: not a Kyverno test file (expected a mapping)")
        return tf
    meta = as_dict(spec.get("metadata"))
    tf.name = str(meta.get("name") or spec.get("name") or shown)
    here = path.parent
    policy_paths = [str(here / p) for p in _str_list(spec.get("policies"))]
    resource_paths = [str(here / p) for p in _str_list(spec.get("resources"))]
    if not policy_paths:
        tf.errors.append(f"{shown}: no policies listed")
    loaded_p = load_paths(policy_paths, render_charts=False, parallel=False) if policy_paths else None
    loaded_r = load_paths(resource_paths, render_charts=False, parallel=False) if resource_paths else None
    for loaded in (loaded_p, loaded_r):
        if loaded is not None:
            tf.errors.extend(str(e) for e in loaded.errors)
    policy_errors: list[str] = []
    policies = load_policies(loaded_p.resources if loaded_p else [], policy_errors)
    tf.errors.extend(policy_errors)
    resources = [r.obj for r in loaded_r.resources] if loaded_r else []

    values = _Values()
    if isinstance(spec.get("variables"), str):
        vdocs, verrs = _load_yaml_docs(here / spec["variables"])
        tf.errors.extend(verrs)
        values = _read_values(vdocs[0] if vdocs else None)
    user_info: dict[str, Any] | None = None
    if isinstance(spec.get("userinfo"), str):
        udocs, uerrs = _load_yaml_docs(here / spec["userinfo"])
        tf.errors.extend(uerrs)
        if udocs and isinstance(udocs[0], dict):
            u = udocs[0]
            inner = as_dict(u.get("userInfo"))
            user_info = {
                **inner,
                "roles": _str_list(u.get("roles")),
                "clusterRoles": _str_list(u.get("clusterRoles")),
            }

    ns_labels: dict[str, dict[str, str]] = dict(values.namespace_labels)
    for obj in resources:
        kind, _ns, name = _resource_key(obj)
        if kind == "Namespace":
            labels = as_dict(obj.get("metadata")).get("labels")
            if isinstance(labels, dict):
                ns_labels.setdefault(name, {str(k): str(v) for k, v in labels.items()})

    # (policy, kind, ns, name) -> results; patched resources per (kind, ns, name)
    results: dict[tuple[str, str, str, str], list[RuleResult]] = {}
    patched: dict[tuple[str, str, str], dict[str, Any]] = {}
    for obj in resources:
        key = _resource_key(obj)
        labels = ns_labels.get(key[1], {})
        current = obj
        per_policy: dict[str, list[RuleResult]] = {p.name: [] for p in policies}
        for policy in policies:
            variables = values.for_resource(policy.name, key[2])
            op = str(variables.get("request.operation") or "CREATE")
            current, mres = mutate(
                [policy],
                current,
                operation=op,
                namespace_labels=labels,
                user_info=user_info,
                variables=variables,
            )
            per_policy[policy.name].extend(mres)
        for policy in policies:
            variables = values.for_resource(policy.name, key[2])
            op = str(variables.get("request.operation") or "CREATE")
            per_policy[policy.name].extend(
                evaluate(
                    [policy],
                    current,
                    operation=op,
                    namespace_labels=labels,
                    user_info=user_info,
                    variables=variables,
                )
            )
            results[(policy.name, *key)] = per_policy[policy.name]
        patched[key] = current

    rule_names = {p.name: set(p.rule_names()) for p in policies}
    if spec.get("results") is not None and not isinstance(spec.get("results"), list):
        tf.errors.append(f"{shown}: results must be a list")
    for i, entry in enumerate(_list(spec.get("results"))):
        if not isinstance(entry, dict):
            tf.errors.append(f"{shown}: results[{i}] is not an object")
            continue
        tf.rows.extend(_check_entry(entry, results, patched, rule_names, here, shown))
    return tf


def _check_entry(
    entry: dict[str, Any],
    results: dict[tuple[str, str, str, str], list[Any]],
    patched: dict[tuple[str, str, str], dict[str, Any]],
    rule_names: dict[str, set[str]],
    here: Path,
    shown: str,
) -> Iterator[TestRow]:
    policy = str(entry.get("policy") or "")
    if "/" in policy:  # namespaced Policy given as namespace/name
        policy = policy.split("/", 1)[1]
    rule = str(entry.get("rule") or "")
    expected = str(entry.get("result") or entry.get("status") or "").lower()
    kind = entry.get("kind") if isinstance(entry.get("kind"), str) else None
    want_ns = entry.get("namespace") if isinstance(entry.get("namespace"), str) else None
    names = _str_list(entry.get("resources")) or _str_list(entry.get("resource"))
    rules = {rule, f"autogen-{rule}", f"autogen-cronjob-{rule}"}
    if not names:
        yield TestRow(
            shown,
            policy,
            rule,
            "",
            expected,
            "not found",
            False,
            "the result names no resource (resource / resources)",
        )
    for raw_name in names:
        ns, _, name = raw_name.rpartition("/")
        ns = ns or (want_ns or "")
        # a resource written without a namespace is in "default", as the CLI places it
        matches = [
            k
            for k in results
            if k[0] == policy
            and k[3] == name
            and (kind is None or k[1] == kind)
            and (not ns or k[2] == ns or (ns == "default" and not k[2]))
        ]
        label = f"{kind or '*'}/{ns + '/' if ns else ''}{name}"
        if not matches:
            yield TestRow(
                shown,
                policy,
                rule,
                label,
                expected,
                "not found",
                False,
                f"Not found: no resource {label} for policy {policy}",
            )
            continue
        for key in matches:
            rows = [r for r in results[key] if r.rule in rules]
            res_label = "/".join(p for p in key[1:] if p)
            if not rows:
                if rule in rule_names.get(policy, set()):
                    # The rule did not apply to this resource (match / exclude): the CLI
                    # reports it as skipped.
                    ok = expected == "skip"
                    yield TestRow(
                        shown,
                        policy,
                        rule,
                        res_label,
                        expected,
                        "skip",
                        ok,
                        "Ok" if ok else f"Want {expected}, got skip: the rule does not apply",
                    )
                else:
                    yield TestRow(
                        shown,
                        policy,
                        rule,
                        res_label,
                        expected,
                        "not found",
                        False,
                        f"Not found: policy {policy} has no rule {rule}",
                    )
                continue
            for r in rows:
                ok = r.status == expected
                reason = "Ok" if ok else f"Want {expected}, got {r.status}: {r.message}"
                if ok and isinstance(entry.get("patchedResource"), str):
                    ok, reason = _compare_patched(here / entry["patchedResource"], patched.get(key[1:]), key)
                yield TestRow(shown, policy, r.rule, res_label, expected, r.status, ok, reason)


def _compare_patched(path: Path, actual: dict[str, Any] | None, key: tuple[str, ...]) -> tuple[bool, str]:
    docs, errs = _load_yaml_docs(path)
    if errs:
        return False, errs[0]
    want = next(
        (
            d
            for d in docs
            if isinstance(d, dict) and _resource_key(d)[0] == key[1] and _resource_key(d)[2] == key[3]
        ),
        None,
    )
    if want is None:
        return False, f"{path}: no {key[1]} {key[3]} in the patched resource file"
    if _normalise(want) != _normalise(actual):
        return False, "Patched resource didn't match the expected patched resource"
    return True, "Ok"


def run_dir(paths: list[str], file_name: str = TEST_FILE_NAME) -> list[TestFile]:
    files = find_test_files(paths, file_name)
    base = Path.cwd()
    return [run_test_file(p, base=base) for p in files]
