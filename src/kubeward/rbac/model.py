"""The RBAC authorizer, offline: Kubernetes' exact rule matching over an Inventory.

Followed line by line (kubernetes v1.20 - v1.31, unchanged in that range):

* `plugin/pkg/auth/authorizer/rbac/rbac.go`
  - `RulesAllow` / `RuleAllows`: a resource request matches a rule when VerbMatches,
    APIGroupMatches, ResourceMatches(rule, resource + "/" + subresource, subresource) and
    ResourceNameMatches all hold; a non-resource request when VerbMatches and
    NonResourceURLMatches hold. RBAC only allows: the first matching rule grants.
* `pkg/apis/rbac/v1/evaluation_helpers.go`
  - `VerbMatches` / `APIGroupMatches`: `*` or an exact, case-sensitive match;
  - `ResourceMatches`: `*`, the exact combined resource (`pods/exec`), or - only when the
    request has a subresource - `*/<subresource>`; `pods` does NOT match `pods/exec`;
  - `ResourceNameMatches`: an empty resourceNames list matches every name (and the empty
    name of list/create), else only a listed name (so `list` with resourceNames set
    never matches);
  - `NonResourceURLMatches`: `*`, an exact path, or a rule ending in `*` as a prefix
    (strings.TrimRight(rule, "*")).
* `pkg/registry/rbac/validation/rule.go`
  - `VisitRulesFor`: every ClusterRoleBinding, then (for a namespaced request) the
    RoleBindings of the request's namespace; a RoleBinding to a ClusterRole grants the
    ClusterRole's rules in the binding's namespace only;
  - `GetRoleReferenceRules`: roleRef kind Role is looked up in the binding's namespace
    (a ClusterRoleBinding has none, so it never finds one), kind ClusterRole cluster-wide;
    a missing role is an error the authorizer skips: no rules;
  - `appliesTo` / `appliesToUser`: User matches the user name, Group one of the user's
    groups, ServiceAccount the user `system:serviceaccount:<ns>:<name>` where <ns> is the
    subject's namespace or, when empty, the binding's namespace (empty for a
    ClusterRoleBinding: such a subject matches nobody). Any other kind matches nobody.
* Implicit groups (`pkg/serviceaccount/util.go` MakeGroupNames, the authenticators):
  a service account is in `system:serviceaccounts`, `system:serviceaccounts:<ns>` and
  `system:authenticated`; an authenticated user in `system:authenticated`; the anonymous
  user `system:anonymous` in `system:unauthenticated`.
* Aggregated ClusterRoles (`pkg/controller/clusterroleaggregation/
  clusterroleaggregation_controller.go`, `syncClusterRole`): for each of
  `aggregationRule.clusterRoleSelectors` in order, the ClusterRoles matching the label
  selector, sorted by name, skipping the aggregated role itself; their rules appended in
  order unless an equal rule is already there. The result replaces the role's `rules`.
  The controller converges over nested aggregation; this model iterates to a fixpoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.selectors import label_selector

__all__ = [
    "Binding",
    "Grant",
    "PolicyRule",
    "RBACModel",
    "Role",
    "Subject",
    "UserInfo",
    "WhoCanEntry",
    "rule_allows",
]

SA_PREFIX = "system:serviceaccount:"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
ALL = "*"


@dataclass(frozen=True, slots=True, order=True)
class Subject:
    """A binding subject: User, Group or ServiceAccount (namespace only for the latter)."""

    kind: str
    name: str
    namespace: str = ""

    @classmethod
    def parse(cls, text: str) -> Subject:
        """`User:alice`, `Group:devs`, `ServiceAccount:ns:name` (also `sa:ns:name`,
        `ServiceAccount:ns/name` and the username `system:serviceaccount:ns:name`)."""
        if text.startswith(SA_PREFIX):
            ns, _, name = text[len(SA_PREFIX):].partition(":")
            if ns and name:
                return cls("ServiceAccount", name, ns)
            raise ValueError(f"invalid service account user name {text!r}")
        kind, sep, rest = text.partition(":")
        if not sep or not rest:
            raise ValueError(f"subject {text!r}: expected User:NAME, Group:NAME or "
                             "ServiceAccount:NAMESPACE:NAME")
        low = kind.lower()
        if low in ("serviceaccount", "sa"):
            ns, sep2, name = rest.partition(":")
            if not sep2:
                ns, sep2, name = rest.partition("/")
            if not ns or not name:
                raise ValueError(f"subject {text!r}: expected ServiceAccount:NAMESPACE:NAME")
            return cls("ServiceAccount", name, ns)
        if low == "user":
            return cls("User", rest)
        if low == "group":
            return cls("Group", rest)
        raise ValueError(f"subject {text!r}: kind must be User, Group or ServiceAccount")

    @property
    def username(self) -> str:
        if self.kind == "ServiceAccount":
            return f"{SA_PREFIX}{self.namespace}:{self.name}"
        return self.name

    def __str__(self) -> str:
        if self.kind == "ServiceAccount":
            return f"ServiceAccount:{self.namespace}:{self.name}"
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True, slots=True)
class UserInfo:
    """The identity of a request (user.Info): a name and groups, as a SubjectAccessReview
    carries them (no implicit group is added to an explicit UserInfo)."""

    name: str
    groups: tuple[str, ...] = ()

    @classmethod
    def of(cls, subject: Subject | UserInfo) -> UserInfo:
        """The identity a subject authenticates as, with the groups the authenticators add:
        a ServiceAccount in system:serviceaccounts, system:serviceaccounts:<ns> and
        system:authenticated; a User in system:authenticated (system:anonymous in
        system:unauthenticated). A Group stands for a member with no other group."""
        if isinstance(subject, UserInfo):
            return subject
        if subject.kind == "ServiceAccount":
            return cls(subject.username, ("system:serviceaccounts",
                                          f"system:serviceaccounts:{subject.namespace}",
                                          AUTHENTICATED))
        if subject.kind == "User":
            if subject.name == ANONYMOUS:
                return cls(subject.name, (UNAUTHENTICATED,))
            return cls(subject.name, (AUTHENTICATED,))
        return cls("", (subject.name,))


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


@dataclass(frozen=True, slots=True)
class PolicyRule:
    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_obj(cls, obj: Any) -> PolicyRule:
        if not isinstance(obj, Mapping):
            return cls()
        return cls(_strs(obj.get("verbs")), _strs(obj.get("apiGroups")),
                   _strs(obj.get("resources")), _strs(obj.get("resourceNames")),
                   _strs(obj.get("nonResourceURLs")))

    def to_obj(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if self.api_groups or self.resources:
            out["apiGroups"] = list(self.api_groups)
            out["resources"] = list(self.resources)
        if self.resource_names:
            out["resourceNames"] = list(self.resource_names)
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
        out["verbs"] = list(self.verbs)
        return out

    def __str__(self) -> str:
        parts = [f"verbs={','.join(self.verbs)}"]
        if self.non_resource_urls:
            parts.append(f"nonResourceURLs={','.join(self.non_resource_urls)}")
        if self.resources or self.api_groups:
            groups = ",".join(g or '""' for g in self.api_groups)
            parts.append(f"apiGroups={groups}")
            parts.append(f"resources={','.join(self.resources)}")
        if self.resource_names:
            parts.append(f"resourceNames={','.join(self.resource_names)}")
        return " ".join(parts)


def verb_matches(rule: PolicyRule, verb: str) -> bool:
    return any(v in (ALL, verb) for v in rule.verbs)


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    return any(g in (ALL, group) for g in rule.api_groups)


def resource_matches(rule: PolicyRule, combined: str, subresource: str) -> bool:
    for r in rule.resources:
        if r in (ALL, combined):
            return True
        if not subresource:
            continue
        if len(r) == len(subresource) + 2 and r.startswith("*/") and r.endswith(subresource):
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    for u in rule.non_resource_urls:
        if u in (ALL, path):
            return True
        if u.endswith("*") and path.startswith(u.rstrip("*")):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Request:
    """authorizer.Attributes: a resource request, or a non-resource one when `path` is set."""

    verb: str
    resource: str = ""
    subresource: str = ""
    api_group: str = ""
    namespace: str = ""
    name: str = ""
    path: str | None = None

    @property
    def combined(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def rule_allows(req: Request, rule: PolicyRule) -> bool:
    """rbac.go RuleAllows."""
    if req.path is None:
        return (verb_matches(rule, req.verb) and api_group_matches(rule, req.api_group)
                and resource_matches(rule, req.combined, req.subresource)
                and resource_name_matches(rule, req.name))
    return verb_matches(rule, req.verb) and non_resource_url_matches(rule, req.path)


@dataclass(frozen=True, slots=True)
class Role:
    kind: str  # Role or ClusterRole
    namespace: str  # "" for a ClusterRole
    name: str
    rules: tuple[PolicyRule, ...]
    resource: Resource | None = field(default=None, compare=False)
    aggregated: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else \
            f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Binding:
    kind: str  # RoleBinding or ClusterRoleBinding
    namespace: str  # "" for a ClusterRoleBinding
    name: str
    role_kind: str
    role_name: str
    #: subjects as they apply: ServiceAccount namespace defaulted to the binding's; a
    #: subject that can match nobody (unknown kind, SA without namespace) is left out
    subjects: tuple[Subject, ...]
    resource: Resource | None = field(default=None, compare=False)

    @property
    def role_key(self) -> tuple[str, str, str]:
        """GetRoleReferenceRules: a Role in the binding's namespace, or a ClusterRole."""
        if self.role_kind == "ClusterRole":
            return ("ClusterRole", "", self.role_name)
        if self.role_kind == "Role":
            return ("Role", self.namespace, self.role_name)
        return ("", "", "")

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else \
            f"{self.kind} {self.name}"


class Grant(NamedTuple):
    """What allowed a request: the binding, its role and the index of the granting rule."""

    binding: Binding
    role: Role
    rule_index: int

    @property
    def rule(self) -> PolicyRule:
        return self.role.rules[self.rule_index]


class WhoCanEntry(NamedTuple):
    subject: Subject
    binding: Binding
    role: Role
    rule: PolicyRule
    rule_index: int


def _subjects_of(obj: Mapping[str, Any], binding_ns: str) -> tuple[Subject, ...]:
    out: list[Subject] = []
    raw = obj.get("subjects")
    for s in raw if isinstance(raw, list) else []:
        if not isinstance(s, Mapping):
            continue
        kind, name = s.get("kind"), s.get("name")
        if not isinstance(name, str) or not isinstance(kind, str):
            continue
        if kind == "ServiceAccount":
            ns = s.get("namespace")
            ns = ns if isinstance(ns, str) and ns else binding_ns
            if ns:
                out.append(Subject(kind, name, ns))
        elif kind in ("User", "Group"):
            out.append(Subject(kind, name))
    return tuple(out)


def aggregate_cluster_roles(cluster_roles: Sequence[Resource]) -> dict[str, tuple[PolicyRule, ...]]:
    """The rules of every ClusterRole after aggregation (see the module docstring)."""
    rules: dict[str, tuple[PolicyRule, ...]] = {}
    labels: dict[str, Mapping[str, str]] = {}
    aggregated: dict[str, list[Any]] = {}
    for res in sorted(cluster_roles, key=lambda r: r.name):
        raw = res.obj.get("rules")
        rules[res.name] = tuple(PolicyRule.from_obj(r) for r in (raw if isinstance(raw, list) else []))
        lab = res.metadata.get("labels")
        labels[res.name] = {str(k): str(v) for k, v in lab.items()} if isinstance(lab, Mapping) else {}
        agg = res.obj.get("aggregationRule")
        if isinstance(agg, Mapping):
            sels = agg.get("clusterRoleSelectors")
            aggregated[res.name] = list(sels) if isinstance(sels, list) else []
    names = sorted(rules)
    selected: dict[str, list[list[str]]] = {}
    for name, sels in aggregated.items():
        built = [label_selector(sel) for sel in sels]
        selected[name] = [[other for other in names if sel.matches(labels[other])]
                          for sel in built]
    for _ in range(len(aggregated) + 1):
        changed = False
        for name, groups in selected.items():
            new: list[PolicyRule] = []
            seen: set[PolicyRule] = set()
            for group in groups:
                for other in group:
                    if other == name:
                        continue
                    for rule in rules[other]:
                        if rule not in seen:  # ruleExists: semantic equality
                            seen.add(rule)
                            new.append(rule)
            if tuple(new) != rules[name]:
                rules[name] = tuple(new)
                changed = True
        if not changed:
            break
    return rules


class RBACModel:
    """Roles, bindings and indexes: `allows`, `who_can`, `access`, over one Inventory."""

    def __init__(self, roles: Iterable[Role], bindings: Iterable[Binding]) -> None:
        self.roles: dict[tuple[str, str, str], Role] = {r.key: r for r in roles}
        self.bindings: list[Binding] = list(bindings)
        by_subject: dict[Subject, list[Binding]] = defaultdict(list)
        by_role: dict[tuple[str, str, str], list[Binding]] = defaultdict(list)
        for b in self.bindings:
            for s in dict.fromkeys(b.subjects):
                by_subject[s].append(b)
            by_role[b.role_key].append(b)
        self.by_subject = dict(by_subject)
        self.by_role = dict(by_role)
        # (verb, apiGroup, resource) -> [(role key, rule index)], literal strings incl. "*"
        index: dict[tuple[str, str, str], list[tuple[tuple[str, str, str], int]]] = \
            defaultdict(list)
        self.url_rules: list[tuple[tuple[str, str, str], int]] = []
        for key, role in self.roles.items():
            for i, rule in enumerate(role.rules):
                hit = (key, i)
                if rule.non_resource_urls:
                    self.url_rules.append(hit)
                resources = set(rule.resources)
                for v in set(rule.verbs):
                    for g in set(rule.api_groups):
                        for r in resources:
                            index[(v, g, r)].append(hit)
        self.index = dict(index)

    @classmethod
    def from_inventory(cls, inv: Inventory) -> RBACModel:
        roles: list[Role] = []
        cluster_roles = inv.of_kind("ClusterRole")
        computed = aggregate_cluster_roles(cluster_roles)
        for res in cluster_roles:
            agg = isinstance(res.obj.get("aggregationRule"), Mapping)
            roles.append(Role("ClusterRole", "", res.name, computed.get(res.name, ()), res, agg))
        for res in inv.of_kind("Role"):
            raw = res.obj.get("rules")
            rules = tuple(PolicyRule.from_obj(r) for r in (raw if isinstance(raw, list) else []))
            roles.append(Role("Role", res.namespace or "default", res.name, rules, res))
        bindings: list[Binding] = []
        for kind in ("ClusterRoleBinding", "RoleBinding"):
            for res in inv.of_kind(kind):
                ns = (res.namespace or "default") if kind == "RoleBinding" else ""
                ref = res.obj.get("roleRef")
                ref = ref if isinstance(ref, Mapping) else {}
                bindings.append(Binding(kind, ns, res.name, str(ref.get("kind", "")),
                                        str(ref.get("name", "")), _subjects_of(res.obj, ns), res))
        return cls(roles, bindings)

    # --- identities -------------------------------------------------------------------

    def subjects(self) -> list[Subject]:
        """Every subject named by a binding, sorted."""
        return sorted(self.by_subject)

    def bindings_for(self, user: Subject | UserInfo) -> list[Binding]:
        """The bindings whose subjects apply to the user (appliesTo), in no given order."""
        info = UserInfo.of(user)
        keys = [Subject("User", info.name)] + [Subject("Group", g) for g in info.groups]
        if info.name.startswith(SA_PREFIX):
            ns, _, name = info.name[len(SA_PREFIX):].partition(":")
            if ns and name:
                keys.append(Subject("ServiceAccount", name, ns))
        seen: dict[int, Binding] = {}
        for key in keys:
            for b in self.by_subject.get(key, ()):
                seen.setdefault(id(b), b)
        return list(seen.values())

    # --- authorization ----------------------------------------------------------------

    def allows(self, user: Subject | UserInfo, verb: str, resource: str = "",
               subresource: str = "", api_group: str = "", namespace: str | None = None,
               name: str = "", *, path: str | None = None) -> Grant | None:
        """The first (binding, role, rule) that authorizes the request, as VisitRulesFor
        visits them (ClusterRoleBindings, then RoleBindings of the namespace); None if
        RBAC denies it. `path` makes it a non-resource request (`/healthz`)."""
        req = Request(verb, resource, subresource, api_group, namespace or "", name, path)
        bindings = self.bindings_for(user)
        ordered = [b for b in bindings if b.kind == "ClusterRoleBinding"]
        if namespace and path is None:
            ordered += [b for b in bindings if b.kind == "RoleBinding" and b.namespace == namespace]
        for b in ordered:
            role = self.roles.get(b.role_key)
            if role is None:
                continue
            for i, rule in enumerate(role.rules):
                if rule_allows(req, rule):
                    return Grant(b, role, i)
        return None

    def _candidate_rules(self, req: Request) -> list[tuple[tuple[str, str, str], int]]:
        if req.path is not None:
            return list(self.url_rules)
        resources = [req.combined, ALL]
        if req.subresource:
            resources.append(f"*/{req.subresource}")
        out: dict[tuple[tuple[str, str, str], int], None] = {}
        for v in (req.verb, ALL):
            for g in (req.api_group, ALL):
                for r in resources:
                    for hit in self.index.get((v, g, r), ()):
                        out[hit] = None
        return sorted(out, key=lambda h: (h[0], h[1]))

    def who_can(self, verb: str, resource: str = "", subresource: str = "", api_group: str = "",
                namespace: str | None = None, name: str = "", *,
                path: str | None = None) -> list[WhoCanEntry]:
        """Every (subject, binding, role, rule) that grants the request; one entry per
        subject and binding (its first granting rule). No namespace means a cluster-wide
        request (only ClusterRoleBindings count)."""
        req = Request(verb, resource, subresource, api_group, namespace or "", name, path)
        first: dict[tuple[str, str, str], int] = {}
        for key, i in self._candidate_rules(req):
            if key in first and first[key] <= i:
                continue
            role = self.roles[key]
            if rule_allows(req, role.rules[i]):
                first[key] = i
        out: dict[tuple[Subject, int], WhoCanEntry] = {}
        for key, i in first.items():
            role = self.roles[key]
            if role.kind == "Role" and role.namespace != (namespace or None):
                continue
            for b in self.by_role.get(key, ()):
                if b.kind == "RoleBinding" and (path is not None or b.namespace != namespace):
                    continue
                for s in b.subjects:
                    out.setdefault((s, id(b)), WhoCanEntry(s, b, role, role.rules[i], i))
        return sorted(out.values(), key=lambda e: (e.subject, e.binding.kind, e.binding.namespace,
                                                   e.binding.name))

    def access(self, user: Subject | UserInfo, namespace: str | None = None,
               verbs: Sequence[str] = (), resources: Sequence[tuple[str, str, bool]] = (),
               ) -> AccessMatrix:
        """rakkess: which verbs the user may use on each resource, in one namespace or
        cluster-wide (no namespace: namespaced resources in all namespaces at once)."""
        from kubeward.rbac.catalog import DEFAULT_VERBS, resources_for

        verbs = tuple(verbs) or DEFAULT_VERBS
        rows = list(resources) or resources_for(self, user)
        if namespace:
            rows = [r for r in rows if r[2]]
        cells: dict[tuple[str, str], frozenset[str]] = {}
        for group, res, _namespaced in rows:
            resource, _, sub = res.partition("/")
            cells[(group, res)] = frozenset(
                v for v in verbs
                if self.allows(user, v, resource, sub, group, namespace) is not None)
        return AccessMatrix(str(user) if isinstance(user, Subject) else user.name,
                            namespace, tuple(verbs), rows, cells)


@dataclass(slots=True)
class AccessMatrix:
    subject: str
    namespace: str | None
    verbs: tuple[str, ...]
    rows: list[tuple[str, str, bool]]  # (apiGroup, resource, namespaced)
    cells: dict[tuple[str, str], frozenset[str]]

    def allowed(self, group: str, resource: str, verb: str) -> bool:
        return verb in self.cells.get((group, resource), frozenset())

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "namespace": self.namespace,
            "verbs": list(self.verbs),
            "resources": [
                {"apiGroup": g, "resource": r, "namespaced": n,
                 "allowed": sorted(self.cells.get((g, r), frozenset()))}
                for g, r, n in self.rows
            ],
        }
