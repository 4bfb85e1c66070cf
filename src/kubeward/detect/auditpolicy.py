"""The seed's audit policy, generated with parameters, and a check of an existing policy.

`generate_audit_policy` writes an `audit.k8s.io/v1` Policy that gives `kubeward detect` what
its built-in rules read: request/response bodies for exec, attach, port-forward, ephemeral
containers, pods, RBAC and webhook configurations; Metadata only for secrets, config maps and
token requests (a log must never hold secret or token values); nothing for health probes and
the watch traffic of system components; `omitStages: [RequestReceived]` so each request is
logged once it is answered.

`check_audit_policy` decides, for each request a built-in rule needs to see, which level the
API server would log it at, by the same matching as the API server:
k8s.io/apiserver/pkg/audit/policy/checker.go (`policyChecker.LevelAndStages`, `ruleMatches`,
`ruleMatchesResource`, `ruleMatchesNonResource`, `pathMatches`): rules are tried in order and
the FIRST one that matches decides the level; no match means `None`; a rule's `omitStages` is
the union of its own and the policy's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "LEVELS",
    "PARAMS",
    "Gap",
    "Need",
    "check_audit_policy",
    "generate_audit_policy",
    "level_and_stages",
]

#: Audit levels from least to most detail (k8s.io/apiserver/pkg/apis/audit/types.go `Level`).
LEVELS: tuple[str, ...] = ("None", "Metadata", "Request", "RequestResponse")
_RANK = {name: rank for rank, name in enumerate(LEVELS)}

#: The parameters `generate_audit_policy` accepts (name -> description), for `generate --list`.
PARAMS: dict[str, str] = {
    "drop-users": "comma-separated users whose requests are not logged (e.g. a noisy operator)",
    "drop-namespaces": "comma-separated namespaces whose non-security requests are not logged",
    "body-level": "level for the security-relevant resources: RequestResponse (default) or Request",
    "default-level": "level for everything else: Metadata (default), Request or None",
}

_WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def generate_audit_policy(params: Mapping[str, str]) -> dict[str, Any]:
    """The seed audit policy as a plain dict (print it as YAML, or write it for --audit-policy-file).

    Order matters (first match wins, see the module docstring): the `None` rules for noise
    come first, then secrets at Metadata (before any broader rule could log their bodies),
    then the bodies the detection rules read, then the default level.
    Raises ValueError (one line) for an unknown parameter or level.
    """
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} (known: {', '.join(PARAMS)})")
    body_level = params.get("body-level", "RequestResponse")
    if body_level not in ("Request", "RequestResponse"):
        raise ValueError(f"body-level must be Request or RequestResponse, not {body_level!r}")
    default_level = params.get("default-level", "Metadata")
    if default_level not in ("None", "Metadata", "Request"):
        raise ValueError(f"default-level must be None, Metadata or Request, not {default_level!r}")

    rules: list[dict[str, Any]] = [
        # health probes and discovery polled by everyone
        {"level": "None", "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*", "/version", "/openapi*"]},
        # watches and leader election of system components: high volume, no security value
        {
            "level": "None",
            "users": ["system:kube-proxy"],
            "verbs": ["watch"],
            "resources": [
                {"group": "", "resources": ["endpoints", "services", "services/status"]},
                {"group": "discovery.k8s.io", "resources": ["endpointslices"]},
            ],
        },
        {
            "level": "None",
            "userGroups": ["system:nodes"],
            "verbs": ["get", "list", "watch"],
            "resources": [{"group": "", "resources": ["nodes", "nodes/status"]}],
        },
        {
            "level": "None",
            "verbs": ["get", "update"],
            "users": [
                "system:kube-controller-manager",
                "system:kube-scheduler",
                "system:serviceaccount:kube-system:endpoint-controller",
            ],
            "namespaces": ["kube-system"],
            "resources": [
                {"group": "", "resources": ["endpoints"]},
                {"group": "coordination.k8s.io", "resources": ["leases"]},
            ],
        },
        {
            "level": "None",
            "resources": [
                {"group": "", "resources": ["events"]},
                {"group": "events.k8s.io", "resources": ["events"]},
            ],
        },
    ]
    drop_users = _split(params.get("drop-users"))
    if drop_users:
        rules.append({"level": "None", "users": drop_users})
    # never log secret, config map or token bodies (they carry credentials)
    rules.append(
        {
            "level": "Metadata",
            "resources": [
                {"group": "", "resources": ["secrets", "configmaps", "serviceaccounts/token"]},
                {"group": "authentication.k8s.io", "resources": ["tokenreviews", "tokenrequests"]},
                {
                    "group": "authorization.k8s.io",
                    "resources": ["subjectaccessreviews", "selfsubjectaccessreviews"],
                },
            ],
        }
    )
    drop_namespaces = _split(params.get("drop-namespaces"))
    if drop_namespaces:
        # after the security rules would hide exec/RBAC there; only reads are dropped
        rules.append(
            {
                "level": "None",
                "namespaces": drop_namespaces,
                "verbs": ["get", "list", "watch"],
                "resources": [{"group": ""}, {"group": "apps"}, {"group": "batch"}],
            }
        )
    rules += [
        # interactive access into pods (exec/attach via SPDY is `create`, via websocket `get`)
        {
            "level": body_level,
            "resources": [
                {
                    "group": "",
                    "resources": [
                        "pods/exec",
                        "pods/attach",
                        "pods/portforward",
                        "pods/ephemeralcontainers",
                        "pods/proxy",
                        "nodes/proxy",
                        "services/proxy",
                    ],
                }
            ],
        },
        # workloads, RBAC, admission webhooks, nodes: what is created or changed, and by whom
        {
            "level": body_level,
            "verbs": _WRITE_VERBS,
            "resources": [
                {
                    "group": "",
                    "resources": [
                        "pods",
                        "replicationcontrollers",
                        "podtemplates",
                        "nodes",
                        "nodes/status",
                        "serviceaccounts",
                        "namespaces",
                        "services",
                    ],
                },
                {"group": "apps"},
                {"group": "batch"},
                {"group": "rbac.authorization.k8s.io"},
                {"group": "admissionregistration.k8s.io"},
                {"group": "apiregistration.k8s.io"},
                {"group": "auditregistration.k8s.io"},
                {"group": "certificates.k8s.io"},
                {"group": "policy"},
                {"group": "networking.k8s.io"},
            ],
        },
        {"level": default_level},
    ]
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": rules,
    }


# --- checking a policy: the API server's own matching ------------------------------------------


@dataclass(frozen=True, slots=True)
class Need:
    """One request a detection rule must see, and the least level at which it can."""

    verb: str
    resource: str = ""  # "" for a non-resource request
    group: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # for non-resource requests
    user: str = "alice"
    groups: tuple[str, ...] = ("system:authenticated",)
    level: str = "Metadata"

    def describe(self) -> str:
        if not self.resource:
            return f"{self.verb} {self.path}"
        res = self.resource + (f"/{self.subresource}" if self.subresource else "")
        grp = self.group or "core"
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {grp}/{res}{where} by {self.user}"


@dataclass(frozen=True, slots=True)
class Gap:
    """A rule that cannot fire (or fires blind) under the policy."""

    rule_id: str
    need: Need
    logged_at: str  # the level the policy gives, "None" when not logged at all
    reason: str

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.need.describe()}: {self.reason}"


class _HasNeeds(Protocol):
    id: str

    @property
    def needs(self) -> Sequence[Need]: ...


def _has(values: Any, value: str) -> bool:
    return isinstance(values, list) and value in values


def _path_matches(path: str, spec: str) -> bool:
    """checker.go `pathMatches`: "*", exact, or a trailing-* prefix."""
    if spec in ("*", path):
        return True
    return spec.endswith("*") and path.startswith(spec.rstrip("*"))


def _matches_resource(rule: Mapping[str, Any], need: Need) -> bool:
    """checker.go `ruleMatchesResource`."""
    if not need.resource:
        return False
    namespaces = rule.get("namespaces") or []
    if namespaces and need.namespace not in namespaces:  # cluster-scoped: ""
        return False
    resources = rule.get("resources") or []
    if not resources:
        return True
    combined = need.resource + (f"/{need.subresource}" if need.subresource else "")
    for gr in resources:
        if not isinstance(gr, Mapping) or (gr.get("group") or "") != need.group:
            continue
        names = gr.get("resources") or []
        if not names:
            return True
        resource_names = gr.get("resourceNames") or []
        if resource_names and need.name not in resource_names:
            continue
        for res in names:
            if not isinstance(res, str):
                continue
            if res in (combined, "*"):
                return True
            if need.subresource and res.startswith("*/") and need.subresource == res[2:]:
                return True
            if res.endswith("/*") and need.resource == res[:-2]:
                return True
    return False


def _rule_matches(rule: Mapping[str, Any], need: Need) -> bool:
    """checker.go `ruleMatches`."""
    users = rule.get("users") or []
    if users and need.user not in users:
        return False
    user_groups = rule.get("userGroups") or []
    if user_groups and not any(g in user_groups for g in need.groups):
        return False
    verbs = rule.get("verbs") or []
    if verbs and need.verb not in verbs:
        return False
    if rule.get("namespaces") or rule.get("resources"):
        return _matches_resource(rule, need)
    urls = rule.get("nonResourceURLs") or []
    if urls:
        return not need.resource and any(isinstance(s, str) and _path_matches(need.path, s) for s in urls)
    return True


def level_and_stages(policy: Mapping[str, Any], need: Need) -> tuple[str, frozenset[str]]:
    """checker.go `LevelAndStages`: the first matching rule's level and omitted stages."""
    omit = frozenset(s for s in policy.get("omitStages") or [] if isinstance(s, str))
    for rule in policy.get("rules") or []:
        if isinstance(rule, Mapping) and _rule_matches(rule, need):
            own = frozenset(s for s in rule.get("omitStages") or [] if isinstance(s, str))
            return str(rule.get("level") or "None"), omit | own
    return "None", omit


def validate_policy(policy: object) -> str | None:
    """A one-line problem with the document's shape, or None."""
    if not isinstance(policy, Mapping):
        return "not a mapping"
    if policy.get("kind") != "Policy" or policy.get("apiVersion") not in (
        "audit.k8s.io/v1",
        "audit.k8s.io/v1beta1",
        "audit.k8s.io/v1alpha1",
    ):
        return f"not an audit Policy (kind {policy.get('kind')!r}, apiVersion {policy.get('apiVersion')!r})"
    rules = policy.get("rules")
    if not isinstance(rules, list):
        return "`rules` is not a list"
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            return f"rules[{index}] is not a mapping"
        if rule.get("level") not in _RANK:
            return f"rules[{index}].level {rule.get('level')!r} is not one of {', '.join(LEVELS)}"
    return None


def check_audit_policy(policy: Mapping[str, Any], rules: Iterable[_HasNeeds]) -> list[Gap]:
    """Every request a rule needs that the policy logs below the needed level, or in no
    stage that fires (`ResponseComplete`; `ResponseStarted` also counts for long-running
    requests such as exec, which the server logs at both)."""
    gaps: list[Gap] = []
    for rule in rules:
        for need in rule.needs:
            level, omitted = level_and_stages(policy, need)
            if _RANK.get(level, 0) < _RANK[need.level]:
                why = "not logged" if level == "None" else f"logged at {level}, the rule needs {need.level}"
                gaps.append(Gap(rule.id, need, level, why))
            elif "ResponseComplete" in omitted and "Panic" in omitted:
                gaps.append(Gap(rule.id, need, level, "stage ResponseComplete is omitted"))
    return gaps
