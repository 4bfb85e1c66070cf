"""The `kubeward serve` configuration file (`--config webhook.yaml`): parsed once, at start.

Like Pod Security admission (k8s.io/pod-security-admission/admission/api, the
`PodSecurityConfiguration`), the mode of each rule set is decided by configuration and not
by namespace labels, which an AdmissionReview does not carry. The file::

    failurePolicy: Fail            # Fail (deny) or Ignore (allow) when a request cannot be evaluated
    requestTimeoutSeconds: 8       # keep below the webhook configurations' timeoutSeconds
    maxBodyBytes: 6291456          # larger requests get 413
    mutate: true                   # /mutate adds the default securityContext where absent
    scanConfig: .kubeward.yaml     # registries, disabled rules, severities, exceptions for `rules`
    honorIgnoreAnnotations: false  # `kubeward.io/ignore` on the object itself (its author writes it)
    policyFiles: [policies/]       # Kyverno policies and ValidatingAdmissionPolicies (+ bindings)
    exempt:
      namespaces: [kube-system]
      usernames: [system:serviceaccount:kube-system:replicaset-controller]
      groups: []
    ruleSets:                      # mode: enforce | warn | audit | off
      pss: {mode: enforce, level: restricted, version: latest}
      rules: {mode: warn, minSeverity: high}
      kyverno: {mode: enforce}
      vap: {mode: enforce}
    namespaces:                    # first entry whose pattern matches wins (fnmatch globs)
      - names: [legacy, "team-*"]
        ruleSets:
          pss: {mode: warn, level: baseline}
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kubeward import config as config_fields
from kubeward.findings import Severity

__all__ = [
    "MODES",
    "RULE_SETS",
    "NamespaceOverride",
    "RuleSetConfig",
    "WebhookConfig",
    "WebhookConfigError",
    "load_webhook_config",
    "parse_webhook_config",
]

MODES = ("enforce", "warn", "audit", "off")
RULE_SETS = ("pss", "rules", "kyverno", "vap")
DEFAULT_MAX_BODY = 6 * 1024 * 1024  # the API server caps objects at 3 MiB; a review holds two


class WebhookConfigError(Exception):
    """A configuration problem, phrased for the user (`path: key: message`)."""


@dataclass(slots=True, frozen=True)
class RuleSetConfig:
    mode: str = "enforce"
    level: str = "restricted"  # pss only
    version: str = "latest"  # pss only
    min_severity: Severity = Severity.HIGH  # rules only: findings below do not count


def _defaults() -> dict[str, RuleSetConfig]:
    return {
        "pss": RuleSetConfig("enforce"),
        "rules": RuleSetConfig("warn"),
        "kyverno": RuleSetConfig("enforce"),
        "vap": RuleSetConfig("enforce"),
    }


@dataclass(slots=True, frozen=True)
class NamespaceOverride:
    patterns: tuple[str, ...]
    rule_sets: Mapping[str, RuleSetConfig]

    def matches(self, namespace: str) -> bool:
        return any(fnmatch.fnmatchcase(namespace, p) for p in self.patterns)


@dataclass(slots=True)
class WebhookConfig:
    path: str | None = None
    failure_policy: str = "Fail"
    request_timeout: float = 8.0
    max_body_bytes: int = DEFAULT_MAX_BODY
    mutate: bool = True
    scan_config: str | None = None
    honor_ignore_annotations: bool = False
    policy_files: tuple[str, ...] = ()
    exempt_namespaces: tuple[str, ...] = ()
    exempt_usernames: tuple[str, ...] = ()
    exempt_groups: tuple[str, ...] = ()
    rule_sets: dict[str, RuleSetConfig] = field(default_factory=_defaults)
    namespaces: tuple[NamespaceOverride, ...] = ()
    _cache: dict[str, Mapping[str, RuleSetConfig]] = field(default_factory=dict, repr=False)

    def for_namespace(self, namespace: str) -> Mapping[str, RuleSetConfig]:
        """The rule sets in force in `namespace` (cached: namespaces are few)."""
        found = self._cache.get(namespace)
        if found is None:
            found = dict(self.rule_sets)
            for override in self.namespaces:
                if override.matches(namespace):
                    found.update(override.rule_sets)
                    break
            if len(self._cache) < 4096:
                self._cache[namespace] = found
        return found

    def exempt(self, namespace: str, username: str, groups: list[str] | tuple[str, ...]) -> str | None:
        """Why a request is exempt (PSA's exemptions: namespaces, usernames; plus groups)."""
        if namespace and namespace in self.exempt_namespaces:
            return f"namespace {namespace}"
        if username and username in self.exempt_usernames:
            return f"user {username}"
        for group in groups:
            if group in self.exempt_groups:
                return f"group {group}"
        return None


def load_webhook_config(path: str | None) -> WebhookConfig:
    if path is None:
        return WebhookConfig()
    from kubeward.inventory.yamlio import LoadError, load_documents

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WebhookConfigError(f"{path}: cannot read: {err}") from None
    docs = list(load_documents(text))
    for doc in docs:
        if isinstance(doc, LoadError):
            raise WebhookConfigError(f"{path}:{doc.line}: {doc.message}")
    data = docs[0].data if docs else None  # type: ignore[union-attr]
    if data is None:
        return WebhookConfig(path=path)
    if not isinstance(data, dict):
        raise WebhookConfigError(f"{path}:1: the webhook configuration must be a mapping")
    cfg = parse_webhook_config(data, path)
    base = Path(path).parent
    cfg.policy_files = tuple(str(base / p) for p in cfg.policy_files)
    if cfg.scan_config:
        cfg.scan_config = str(base / cfg.scan_config)
    return cfg


_KNOWN = {
    "apiVersion",
    "kind",
    "failurePolicy",
    "requestTimeoutSeconds",
    "maxBodyBytes",
    "mutate",
    "scanConfig",
    "honorIgnoreAnnotations",
    "policyFiles",
    "exempt",
    "ruleSets",
    "namespaces",
}


def parse_webhook_config(data: Mapping[str, Any], where: str = "config") -> WebhookConfig:
    unknown = sorted(set(map(str, data)) - _KNOWN)
    if unknown:
        raise WebhookConfigError(
            f"{where}: unknown keys: {', '.join(unknown)} (known: {', '.join(sorted(_KNOWN))})"
        )
    cfg = WebhookConfig(path=where)
    policy = data.get("failurePolicy", "Fail")
    if policy not in ("Fail", "Ignore"):
        raise WebhookConfigError(f"{where}: failurePolicy must be Fail or Ignore, not {policy!r}")
    cfg.failure_policy = policy
    cfg.request_timeout = _number(
        data.get("requestTimeoutSeconds", 8), where, "requestTimeoutSeconds", 0.05, 29.0
    )
    cfg.max_body_bytes = int(
        _number(data.get("maxBodyBytes", DEFAULT_MAX_BODY), where, "maxBodyBytes", 1024, 64 * 1024 * 1024)
    )
    mutate = data.get("mutate", True)
    if not isinstance(mutate, bool):
        raise WebhookConfigError(f"{where}: mutate must be true or false")
    cfg.mutate = mutate
    honor = data.get("honorIgnoreAnnotations", False)
    if not isinstance(honor, bool):
        raise WebhookConfigError(f"{where}: honorIgnoreAnnotations must be true or false")
    cfg.honor_ignore_annotations = honor
    scan = data.get("scanConfig")
    if scan is not None and not isinstance(scan, str):
        raise WebhookConfigError(f"{where}: scanConfig must be a path")
    cfg.scan_config = scan
    cfg.policy_files = _strings(data.get("policyFiles"), where, "policyFiles")
    exempt = _mapping(data.get("exempt"), where, "exempt")
    extra = sorted(set(map(str, exempt)) - {"namespaces", "usernames", "groups"})
    if extra:
        raise WebhookConfigError(f"{where}: exempt: unknown keys: {', '.join(extra)}")
    cfg.exempt_namespaces = _strings(exempt.get("namespaces"), where, "exempt.namespaces")
    cfg.exempt_usernames = _strings(exempt.get("usernames"), where, "exempt.usernames")
    cfg.exempt_groups = _strings(exempt.get("groups"), where, "exempt.groups")
    cfg.rule_sets = _rule_sets(data.get("ruleSets"), _defaults(), where, "ruleSets")
    overrides = data.get("namespaces") or []
    if not isinstance(overrides, list):
        raise WebhookConfigError(f"{where}: namespaces must be a list of {{names, ruleSets}}")
    parsed = []
    for i, item in enumerate(overrides):
        key = f"namespaces[{i}]"
        item = _mapping(item, where, key)
        extra = sorted(set(map(str, item)) - {"names", "ruleSets"})
        if extra:
            raise WebhookConfigError(f"{where}: {key}: unknown keys: {', '.join(extra)}")
        names = _strings(item.get("names"), where, f"{key}.names")
        if not names:
            raise WebhookConfigError(f"{where}: {key}.names: give at least one namespace or pattern")
        sets = _rule_sets(item.get("ruleSets"), cfg.rule_sets, where, f"{key}.ruleSets")
        changed = {name: sets[name] for name in sets if sets[name] != cfg.rule_sets[name]}
        parsed.append(NamespaceOverride(names, changed))
    cfg.namespaces = tuple(parsed)
    return cfg


def _rule_sets(
    value: object, base: Mapping[str, RuleSetConfig], where: str, key: str
) -> dict[str, RuleSetConfig]:
    out = dict(base)
    for name, body in _mapping(value, where, key).items():
        if name not in RULE_SETS:
            raise WebhookConfigError(
                f"{where}: {key}: unknown rule set {name!r} (known: {', '.join(RULE_SETS)})"
            )
        if isinstance(body, str):  # `pss: warn`
            body = {"mode": body}
        body = _mapping(body, where, f"{key}.{name}")
        allowed = (
            {"mode"}
            | ({"level", "version"} if name == "pss" else set())
            | ({"minSeverity"} if name == "rules" else set())
        )
        extra = sorted(set(map(str, body)) - allowed)
        if extra:
            raise WebhookConfigError(f"{where}: {key}.{name}: unknown keys: {', '.join(extra)}")
        current = out[name]
        mode = str(body.get("mode", current.mode)).lower()
        if mode not in MODES:
            raise WebhookConfigError(f"{where}: {key}.{name}.mode: {mode!r} is not one of {', '.join(MODES)}")
        updated = replace(current, mode=mode)
        if name == "pss":
            from kubeward import pss

            level = str(body.get("level", current.level)).lower()
            version = str(body.get("version", current.version))
            try:
                pss.parse_level(level)
                pss.parse_version(version)
            except ValueError as err:
                raise WebhookConfigError(f"{where}: {key}.pss: {err}") from None
            updated = replace(updated, level=level, version=version)
        if name == "rules" and "minSeverity" in body:
            try:
                updated = replace(updated, min_severity=Severity.parse(str(body["minSeverity"])))
            except ValueError as err:
                raise WebhookConfigError(f"{where}: {key}.rules.minSeverity: {err}") from None
        out[name] = updated
    return out


def _number(value: object, where: str, key: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise WebhookConfigError(f"{where}: {key} must be a number from {low:g} to {high:g}")
    return float(value)


def _mapping(value: object, where: str, key: str) -> Mapping[str, Any]:
    return config_fields._mapping(value, where, key, WebhookConfigError)


def _strings(value: object, where: str, key: str) -> tuple[str, ...]:
    return config_fields._strings(value, where, key, WebhookConfigError)
