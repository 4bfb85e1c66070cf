"""Detection rules as data: the built-in rules file, user overrides, lists, macros and CEL.

A rules file has three optional sections (see `data/detect/rules.yaml` and docs/detect.md):

* `lists:` name -> values. A later file replaces a list, or appends with
  `{append: true, items: [...]}`. In conditions a list name becomes a CEL list literal.
* `macros:` name -> CEL snippet. A macro name in a condition is replaced by the snippet in
  parentheses (textually, like Falco's macros), so users override an allow-list or a macro
  once without copying the rules that use it.
* `rules:` by `id`. A later file's rule with a known id is merged key by key over the
  earlier one (`{id: secret-read, enabled: false}` switches a rule off); a new id adds a rule.

Every problem is a `RuleFileError` with one line naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Any

from kubeward.detect.auditpolicy import LEVELS, Need
from kubeward.findings import Severity

__all__ = [
    "BUILTIN_FIELDS",
    "Burst",
    "Match",
    "Rule",
    "RuleFileError",
    "RuleSet",
    "cel_environment",
    "load_rules",
]

#: Variables every condition and field expression may use (see rules.yaml's header).
CEL_VARIABLES = (
    "ev",
    "user",
    "groups",
    "verb",
    "resource",
    "subresource",
    "group",
    "ns",
    "name",
    "code",
    "sourceIP",
    "podspec",
    "images",
)
#: Placeholders every output template may use.
BUILTIN_FIELDS = frozenset(
    {
        "user",
        "groups",
        "verb",
        "resource",
        "subresource",
        "group",
        "namespace",
        "name",
        "sourceIP",
        "userAgent",
        "code",
        "uri",
        "auditID",
        "time",
        "rule",
        "severity",
    }
)
_RULE_KEYS = frozenset(
    {
        "id",
        "title",
        "severity",
        "mitre",
        "description",
        "match",
        "condition",
        "fields",
        "output",
        "key",
        "audit_level",
        "burst",
        "enabled",
    }
)
_MATCH_KEYS = frozenset(
    {"verbs", "resources", "apiGroups", "namespaces", "users", "notUsers", "codes", "stages", "authorized"}
)
_STAGES = frozenset({"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"})
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[A-Za-z_][A-Za-z0-9_]*|\s+|.', re.S)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RULE_ID = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_CODE_CLASS = re.compile(r"[1-5]xx\Z")
# Resources that have no namespace (for the audit-policy check's sample requests).
_CLUSTER_SCOPED = frozenset(
    {
        "nodes",
        "namespaces",
        "clusterroles",
        "clusterrolebindings",
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
        "auditsinks",
        "persistentvolumes",
        "certificatesigningrequests",
    }
)
_GROUP_OF = {
    "deployments": "apps",
    "daemonsets": "apps",
    "statefulsets": "apps",
    "replicasets": "apps",
    "jobs": "batch",
    "cronjobs": "batch",
    "auditsinks": "auditregistration.k8s.io",
}


class RuleFileError(Exception):
    """A rules file is invalid; the message is one line: `file:line: what`."""


@dataclass(frozen=True, slots=True)
class Match:
    """The cheap prefilter: every given field must match; None = any."""

    verbs: frozenset[str] | None = None
    resources: frozenset[str] | None = None  # "pods" or "pods/exec"
    api_groups: frozenset[str] | None = None
    namespaces: frozenset[str] | None = None  # "" = cluster-wide / cluster-scoped
    users: frozenset[str] | None = None
    not_users: frozenset[str] | None = None  # list names already expanded
    codes: frozenset[int] | None = None  # every accepted code (classes expanded)
    stages: frozenset[str] | None = None  # None = the default firing stages
    authorized: bool | None = None


@dataclass(frozen=True, slots=True)
class Burst:
    """A stateful rule: fire when `threshold` matching events share the `by` fields within
    `window` seconds of event time."""

    threshold: int
    window: float
    by: tuple[str, ...]


@dataclass(slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    mitre: str
    description: str
    match: Match
    condition: str  # after list and macro expansion
    source_condition: str
    output: str
    key: tuple[str, ...]
    audit_level: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> expanded CEL
    burst: Burst | None = None
    origin: str = ""
    program: Any = None  # kubeward.cel.Program, None when the condition is `true`
    field_programs: dict[str, Any] = field(default_factory=dict)
    uses_response: bool = False

    @property
    def needs(self) -> list[Need]:
        """Sample requests the audit policy must log for this rule (for `check_audit_policy`)."""
        m = self.match
        verbs = sorted(m.verbs) if m.verbs else ["create"]
        resources = sorted(m.resources) if m.resources else [""]
        out: list[Need] = []
        for resource_path in resources:
            resource, _, sub = resource_path.partition("/")
            if not resource:
                out.append(Need(verb="get", path="/api/v1", level="Metadata"))
                continue
            group = sorted(m.api_groups)[0] if m.api_groups else _GROUP_OF.get(resource, "")
            if m.namespaces:
                namespace = sorted(m.namespaces)[0]
            else:
                namespace = "" if resource in _CLUSTER_SCOPED else "default"
            for verb in verbs:
                out.append(
                    Need(
                        verb=verb,
                        resource=resource,
                        subresource=sub,
                        group=group,
                        namespace=namespace,
                        level=self.audit_level,
                    )
                )
        return out


@dataclass
class RuleSet:
    rules: list[Rule]
    lists: dict[str, list[Any]]
    macros: dict[str, str]
    disabled: list[str]


def _builtin_text() -> str:
    return resources.files("kubeward").joinpath("data/detect/rules.yaml").read_text(encoding="utf-8")


class _Where:
    """Resolves `path` inside one document to `file:line` only when an error needs it."""

    def __init__(self, name: str, text: str, doc: Any) -> None:
        self.name, self.text, self.doc = name, text, doc

    def __call__(self, *path: str | int) -> str:
        from kubeward.inventory import yamlio

        line = None
        if self.doc is not None:
            try:
                line = yamlio.locate(self.text, self.doc, list(path))
            except Exception:  # noqa: BLE001 - best effort; the message still names the path
                line = None
        dotted = ".".join(str(p) for p in path)
        return f"{self.name}:{line or (self.doc.line if self.doc is not None else 0)}: {dotted}"


def _documents(name: str, text: str) -> list[tuple[dict[str, Any], _Where]]:
    from kubeward.inventory import yamlio

    out: list[tuple[dict[str, Any], _Where]] = []
    for item in yamlio.load_documents(text):
        if isinstance(item, yamlio.LoadError):
            raise RuleFileError(f"{name}:{item.line}: {item.message}")
        if item.data is None:
            continue
        where = _Where(name, text, item)
        if not isinstance(item.data, dict):
            raise RuleFileError(f"{name}:{item.line}: a rules file is a mapping with lists, macros, rules")
        unknown = sorted(set(item.data) - {"lists", "macros", "rules"})
        if unknown:
            raise RuleFileError(f"{where(unknown[0])}: unknown section (expected lists, macros, rules)")
        out.append((item.data, where))
    return out


def _merge(
    sources: Iterable[tuple[str, str]],
) -> tuple[dict[str, list[Any]], dict[str, str], dict[str, dict[str, Any]], dict[str, _Where]]:
    lists: dict[str, list[Any]] = {}
    macros: dict[str, str] = {}
    rules: dict[str, dict[str, Any]] = {}
    where_of: dict[str, _Where] = {}
    for name, text in sources:
        for data, where in _documents(name, text):
            for section in ("lists", "macros"):
                if not isinstance(data.get(section) or {}, dict):
                    raise RuleFileError(f"{where(section)}: `{section}` is a mapping of names")
            for list_name, value in (data.get("lists") or {}).items():
                if not isinstance(list_name, str) or not _IDENT.match(list_name):
                    raise RuleFileError(f"{where('lists', str(list_name))}: a list name is an identifier")
                append = False
                if isinstance(value, dict):
                    append = bool(value.get("append", False))
                    value = value.get("items", [])
                if not isinstance(value, list) or not all(
                    isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
                ):
                    raise RuleFileError(f"{where('lists', list_name)}: a list holds strings or numbers")
                if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in value):
                    raise RuleFileError(f"{where('lists', list_name)}: a number is out of the 64-bit range")
                lists[list_name] = (lists.get(list_name, []) + value) if append else list(value)
            for macro_name, snippet in (data.get("macros") or {}).items():
                if not isinstance(macro_name, str) or not _IDENT.match(macro_name):
                    raise RuleFileError(f"{where('macros', str(macro_name))}: a macro name is an identifier")
                if not isinstance(snippet, str) or not snippet.strip():
                    raise RuleFileError(f"{where('macros', macro_name)}: a macro is a CEL expression string")
                macros[macro_name] = snippet
            raw_rules = data.get("rules") or []
            if not isinstance(raw_rules, list):
                raise RuleFileError(f"{where('rules')}: `rules` is a list")
            for index, raw in enumerate(raw_rules):
                if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                    raise RuleFileError(f"{where('rules', index)}: a rule is a mapping with an `id`")
                unknown = sorted(set(raw) - _RULE_KEYS)
                if unknown:
                    raise RuleFileError(f"{where('rules', index, unknown[0])}: unknown rule key")
                rule_id = raw["id"]
                if not _RULE_ID.match(rule_id):
                    raise RuleFileError(f"{where('rules', index, 'id')}: ids are lowercase words with '-'")
                rules[rule_id] = {**rules.get(rule_id, {}), **raw}
                where_of[rule_id] = _RuleWhere(where, index)
    return lists, macros, rules, where_of


class _RuleWhere(_Where):
    def __init__(self, parent: _Where, index: int) -> None:
        super().__init__(parent.name, parent.text, parent.doc)
        self.index = index

    def __call__(self, *path: str | int) -> str:
        return super().__call__("rules", self.index, *path)


def expand(
    expression: str, lists: Mapping[str, list[Any]], macros: Mapping[str, str], _depth: int = 0
) -> str:
    """Replace macro names by `(snippet)` and list names by CEL list literals, outside string
    literals and never after a `.` (a field named like a list stays a field)."""
    import orjson

    if _depth > 20:
        raise ValueError("macros nest more than 20 levels (a macro refers to itself?)")
    out: list[str] = []
    previous = ""
    for token in _TOKEN.findall(expression):
        if token.isspace():
            out.append(token)
            continue
        if _IDENT.match(token) and previous != ".":
            if token in macros:
                out.append("(" + expand(macros[token], lists, macros, _depth + 1) + ")")
                previous = token
                continue
            if token in lists:
                out.append(orjson.dumps(lists[token]).decode())
                previous = token
                continue
        out.append(token)
        previous = token
    return "".join(out)


def _strings(value: Any, where: str, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleFileError(f"{where}: {what} is a list of strings")
    return frozenset(value)


def _codes(value: Any, where: str) -> frozenset[int] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        value = [value]
    out: list[tuple[int, int]] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            out.append((item, item))
        elif isinstance(item, str) and _CODE_CLASS.match(item):
            base = int(item[0]) * 100
            out.append((base, base + 99))
        else:
            raise RuleFileError(f"{where}: a code is 100-599 or a class like 2xx, not {item!r}")
    return frozenset(code for lo, hi in out for code in range(lo, hi + 1))


def _match(raw: Any, where: _Where, lists: Mapping[str, list[Any]]) -> Match:
    if raw is None:
        return Match()
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where('match')}: `match` is a mapping")
    unknown = sorted(set(raw) - _MATCH_KEYS)
    if unknown:
        raise RuleFileError(
            f"{where('match', unknown[0])}: unknown match key (expected {', '.join(sorted(_MATCH_KEYS))})"
        )
    stages = _strings(raw.get("stages"), where("match", "stages"), "stages")
    if stages is not None and not stages <= _STAGES:
        raise RuleFileError(f"{where('match', 'stages')}: stages are {', '.join(sorted(_STAGES))}")
    authorized = raw.get("authorized")
    if authorized is not None and not isinstance(authorized, bool):
        raise RuleFileError(f"{where('match', 'authorized')}: true or false")
    return Match(
        verbs=_strings(raw.get("verbs"), where("match", "verbs"), "verbs"),
        resources=_strings(raw.get("resources"), where("match", "resources"), "resources"),
        api_groups=_strings(raw.get("apiGroups"), where("match", "apiGroups"), "apiGroups"),
        namespaces=_strings(raw.get("namespaces"), where("match", "namespaces"), "namespaces"),
        users=_strings(raw.get("users"), where("match", "users"), "users"),
        not_users=_not_users(raw.get("notUsers"), where("match", "notUsers"), lists),
        codes=_codes(raw.get("codes"), where("match", "codes")),
        stages=stages,
        authorized=authorized,
    )


def _not_users(value: Any, where: str, lists: Mapping[str, list[Any]]) -> frozenset[str] | None:
    """Usernames that never match; an entry naming a list stands for the list's values, so
    the prefilter and the conditions share one allow-list."""
    names = _strings(value, where, "notUsers")
    if names is None:
        return None
    out: set[str] = set()
    for name in names:
        out.update(str(v) for v in lists[name]) if name in lists else out.add(name)
    return frozenset(out)


def _burst(raw: Any, where: _Where) -> Burst | None:
    if raw is None:
        return None
    ok = (
        isinstance(raw, dict)
        and isinstance(raw.get("threshold"), int)
        and raw["threshold"] >= 1
        and isinstance(raw.get("window"), int | float)
        and raw["window"] > 0
    )
    if not ok:
        raise RuleFileError(f"{where('burst')}: burst needs threshold (>= 1) and window (seconds > 0)")
    by = raw.get("by") or ["sourceIP"]
    if not isinstance(by, list) or not all(isinstance(b, str) and b in BUILTIN_FIELDS for b in by):
        raise RuleFileError(f"{where('burst', 'by')}: `by` lists output fields such as sourceIP, user")
    return Burst(int(raw["threshold"]), float(raw["window"]), tuple(by))


def cel_environment() -> Any:
    """The CEL environment every rule compiles in (all variables `dyn`)."""
    from kubeward.cel import Environment

    return Environment(CEL_VARIABLES)


def _build(
    rule_id: str,
    raw: dict[str, Any],
    where: _Where,
    lists: Mapping[str, list[Any]],
    macros: Mapping[str, str],
    env: Any,
) -> Rule:
    from kubeward.cel import CelError

    for required in ("title", "severity", "condition", "output"):
        if not isinstance(raw.get(required), str) or not raw[required].strip():
            raise RuleFileError(f"{where(required)}: rule {rule_id!r} needs `{required}` (a string)")
    try:
        severity = Severity.parse(raw["severity"])
    except ValueError as exc:
        raise RuleFileError(f"{where('severity')}: {exc}") from None
    audit_level = raw.get("audit_level", "Metadata")
    if audit_level not in LEVELS[1:]:
        raise RuleFileError(f"{where('audit_level')}: one of {', '.join(LEVELS[1:])}")
    fields_raw = raw.get("fields") or {}
    if not isinstance(fields_raw, dict) or not all(
        isinstance(k, str) and _IDENT.match(k) and isinstance(v, str) for k, v in fields_raw.items()
    ):
        raise RuleFileError(f"{where('fields')}: `fields` maps names to CEL expressions")
    burst = _burst(raw.get("burst"), where)
    allowed = BUILTIN_FIELDS | set(fields_raw) | ({"count", "window"} if burst else set())
    output = raw["output"]
    try:
        placeholders = [f for _, f, _, _ in Formatter().parse(output) if f is not None]
    except ValueError as exc:
        raise RuleFileError(f"{where('output')}: {exc}") from None
    for placeholder in placeholders:
        if placeholder not in allowed:
            raise RuleFileError(
                f"{where('output')}: unknown field {{{placeholder}}} (known: {', '.join(sorted(allowed))})"
            )
    key = raw.get("key") or ["user", "verb", "resource", "namespace", "name"]
    if not isinstance(key, list) or not all(isinstance(k, str) and k in allowed for k in key):
        raise RuleFileError(f"{where('key')}: `key` lists output fields")
    source = raw["condition"]
    try:
        condition = expand(source, lists, macros)
        expanded_fields = {k: expand(v, lists, macros) for k, v in fields_raw.items()}
    except ValueError as exc:
        raise RuleFileError(f"{where('condition')}: {exc}") from None
    program = None
    if condition.strip() != "true":
        try:
            program = env.compile(condition)
        except CelError as exc:
            raise RuleFileError(f"{where('condition')}: rule {rule_id!r}: {exc}") from None
    field_programs: dict[str, Any] = {}
    for name, expr in expanded_fields.items():
        try:
            field_programs[name] = env.compile(expr)
        except CelError as exc:
            raise RuleFileError(f"{where('fields', name)}: rule {rule_id!r}: {exc}") from None
    texts = [condition, *expanded_fields.values()]
    return Rule(
        id=rule_id,
        title=raw["title"],
        severity=severity,
        mitre=str(raw.get("mitre") or ""),
        description=str(raw.get("description") or ""),
        match=_match(raw.get("match"), where, lists),
        condition=condition,
        source_condition=source,
        output=output,
        key=tuple(key),
        audit_level=audit_level,
        fields=expanded_fields,
        burst=burst,
        origin=where("id"),
        program=program,
        field_programs=field_programs,
        uses_response=any("responseObject" in t for t in texts),
    )


MAX_CONFIG_BYTES = 16 << 20  # a rules file or audit policy larger than this is not one


def read_config_text(path: Path) -> str:
    """The text of a rules file or audit policy, read with a size cap (`--rules /dev/zero`
    or a log file given by mistake must not eat the memory). Raises OSError, ValueError."""
    with open(path, "rb") as fh:
        raw = fh.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"larger than {MAX_CONFIG_BYTES >> 20} MiB: not a rules or policy file")
    return raw.decode("utf-8")


def load_rules(user_files: Sequence[Path] = (), *, builtin: bool = True) -> RuleSet:
    """The built-in rules merged with `user_files` in order; compiled and validated."""
    sources: list[tuple[str, str]] = []
    if builtin:
        sources.append(("rules.yaml (built-in)", _builtin_text()))
    for path in user_files:
        try:
            sources.append((str(path), read_config_text(path)))
        except (OSError, ValueError) as exc:
            raise RuleFileError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    lists, macros, raw_rules, where_of = _merge(sources)
    env = cel_environment()
    rules: list[Rule] = []
    disabled: list[str] = []
    for rule_id, raw in raw_rules.items():
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise RuleFileError(f"{where_of[rule_id]('enabled')}: true or false")
        if not enabled:
            disabled.append(rule_id)
            continue
        rules.append(_build(rule_id, raw, where_of[rule_id], lists, macros, env))
    return RuleSet(rules, lists, macros, disabled)
