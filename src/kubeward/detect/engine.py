"""The detection engine: prefilter index, firing stages, CEL conditions, bursts, dedup.

Why an index: with ~20 rules, evaluating every CEL condition on every event would cap the
engine at a few thousand events/s. Each rule declares a cheap `match` prefilter as data; the
candidate rules of an event depend only on (verb, resource, subresource, apiGroup), so the
list is computed once per distinct tuple and memoised. CEL runs only on candidates, with the
event's derived variables built once per event.

Which stage fires: the API server logs a request at up to four stages
(k8s.io/apiserver/pkg/endpoints/filters/audit.go: RequestReceived, ResponseStarted for
long-running requests such as exec and watch, ResponseComplete, Panic). By default a rule
fires on `ResponseComplete` and `Panic`, so an action logged at several stages alerts once;
and also on a `ResponseStarted` event with code 401, because a failed authentication is logged
only at that stage (filters/authn_audit.go `WithFailedAuthenticationAudit`, v1.20: the event
is created with Stage ResponseStarted and no later stage follows). A rule may list `stages`.
Events without a stage (some providers strip it) count as complete.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubeward.cel import CelError
from kubeward.detect.rules import Rule, RuleSet
from kubeward.k8s.images import parse_image

__all__ = ["DEFAULT_STAGES", "Detector", "EngineStats", "event_time"]

DEFAULT_STAGES = frozenset({"ResponseComplete", "Panic"})
_WORKLOADS = frozenset(
    {
        "pods",
        "deployments",
        "daemonsets",
        "statefulsets",
        "replicasets",
        "jobs",
        "cronjobs",
        "replicationcontrollers",
        "podtemplates",
    }
)
MAX_KEYS = 100_000  # bound on dedup entries and burst keys (oldest evicted first)
_SWEEP_EVERY = 4096


@dataclass
class EngineStats:
    """Counters kept by the engine (the Prometheus collector reads them)."""

    events: int = 0
    alerted_events: int = 0
    malformed: int = 0
    malformed_where: list[str] = field(default_factory=list)
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, severity) -> n
    suppressed: dict[str, int] = field(default_factory=dict)
    cel_errors: dict[str, int] = field(default_factory=dict)
    cel_error_examples: list[str] = field(default_factory=list)

    def bad(self, where: str, why: str) -> None:
        self.malformed += 1
        if len(self.malformed_where) < 5:
            self.malformed_where.append(f"{where}: {why}")


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def event_time(event: Mapping[str, Any]) -> float:
    """stageTimestamp, else requestReceivedTimestamp, else v1beta1 `timestamp`, else now."""
    for key in ("stageTimestamp", "requestReceivedTimestamp", "timestamp"):
        value = _epoch(event.get(key))
        if value is not None:
            return value
    return time.time()


def pod_spec(resource: str, obj: Any) -> dict[str, Any]:
    """The pod spec inside a pod, a workload's template or a CronJob's job template."""
    if not isinstance(obj, dict):
        return {}
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return {}
    if resource == "pods":
        return spec
    if resource == "cronjobs":
        job = spec.get("jobTemplate") if isinstance(spec, dict) else None
        spec = job.get("spec") if isinstance(job, dict) else {}
    template = spec.get("template") if isinstance(spec, dict) else None
    inner = template.get("spec") if isinstance(template, dict) else None
    return inner if isinstance(inner, dict) else {}


def images_of(spec: Mapping[str, Any]) -> list[str]:
    """Every image of containers, initContainers and ephemeralContainers, normalised the way
    the runtime resolves it (kubeward.k8s.images.parse_image), tag or digest kept."""
    out: list[str] = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        containers = spec.get(key)
        for container in containers if isinstance(containers, list) else []:
            image = container.get("image") if isinstance(container, dict) else None
            if isinstance(image, str) and image:
                ref = parse_image(image)
                suffix = f"@{ref.digest}" if ref.digest else (f":{ref.tag}" if ref.tag else "")
                out.append(ref.name + suffix)
    return out


_OBJREF_STRINGS = frozenset({"resource", "subresource", "apiGroup", "apiVersion", "namespace", "name"})


class _Event:
    """The fields of one event that rules, templates and keys read (computed once)."""

    __slots__ = (
        "_cel",
        "code",
        "ev",
        "group",
        "groups",
        "name",
        "namespace",
        "resource",
        "source_ip",
        "subresource",
        "user",
        "verb",
    )

    def __init__(self, ev: dict[str, Any], verb: str, objref: Mapping[str, Any], code: int) -> None:
        self.ev = ev
        self.verb = verb
        self.resource = objref.get("resource") or ""
        self.subresource = objref.get("subresource") or ""
        self.group = objref.get("apiGroup") or ""
        self.namespace = objref.get("namespace") or ""
        self.name = objref.get("name") or ""
        self.code = code
        user = ev.get("impersonatedUser") or ev.get("user") or {}
        if not isinstance(user, dict):
            user = {}
        self.user = str(user.get("username") or "")
        groups = user.get("groups") or []
        self.groups = [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []
        ips = ev.get("sourceIPs") or []
        self.source_ip = str(ips[0]) if isinstance(ips, list) and ips else ""
        self._cel: dict[str, Any] | None = None

    def cel_data(self, with_response: bool) -> dict[str, Any]:
        if self._cel is None:
            ev = self.ev
            if "responseObject" in ev:
                ev = {k: v for k, v in ev.items() if k != "responseObject"}
            spec = (
                pod_spec(self.resource, self.ev.get("requestObject"))
                if (self.resource in _WORKLOADS and not self.subresource)
                else {}
            )
            self._cel = {
                "ev": ev,
                "user": self.user,
                "groups": self.groups,
                "verb": self.verb,
                "resource": self.resource,
                "subresource": self.subresource,
                "group": self.group,
                "ns": self.namespace,
                "name": self.name,
                "code": self.code,
                "sourceIP": self.source_ip,
                "podspec": spec,
                "images": images_of(spec) if spec else [],
            }
        if with_response and "responseObject" in self.ev:
            return {**self._cel, "ev": self.ev}
        return self._cel

    def fields(self) -> dict[str, Any]:
        ev = self.ev
        return {
            "user": self.user,
            "groups": ",".join(self.groups),
            "verb": self.verb,
            "resource": self.resource,
            "subresource": self.subresource,
            "group": self.group,
            "namespace": self.namespace,
            "name": self.name,
            "sourceIP": self.source_ip,
            "userAgent": str(ev.get("userAgent") or ""),
            "code": self.code,
            "uri": redact_uri(str(ev.get("requestURI") or "")),
            "auditID": str(ev.get("auditID") or ""),
        }


def redact_uri(uri: str) -> str:
    """`requestURI` with the values of secret-looking query parameters (`token=`,
    `access_token=`, `password=` …) replaced: alerts travel to chat and SIEMs, and a
    credential passed in a URL must not travel with them."""
    path, sep, query = uri.partition("?")
    if not sep:
        return uri
    from kubeward.secretscan import looks_like_secret_name, redact

    parts = []
    for item in query.split("&"):
        name, eq, value = item.partition("=")
        if eq and value and looks_like_secret_name(name.replace("-", "_")):
            item = f"{name}={redact(value)}"
        parts.append(item)
    return f"{path}?{'&'.join(parts)}"


class _Template(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "<na>"


class Detector:
    """Feeds events through the rules; returns alerts (plain dicts) in event order."""

    def __init__(self, ruleset: RuleSet, *, dedup_window: float = 60.0) -> None:
        self.rules = ruleset.rules
        self.dedup_window = dedup_window
        self.stats = EngineStats()
        self._index: dict[tuple[str, str, str, str], tuple[Rule, ...]] = {}
        self._dedup: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()
        self._bursts: dict[str, OrderedDict[tuple[Any, ...], deque[float]]] = {
            r.id: OrderedDict() for r in self.rules if r.burst is not None
        }
        self._latest = 0.0
        self._summaries: list[dict[str, Any]] = []

    # --- index ------------------------------------------------------------------------------

    def _candidates(self, key: tuple[str, str, str, str]) -> tuple[Rule, ...]:
        verb, resource, subresource, group = key
        combined = f"{resource}/{subresource}" if subresource else resource
        found = []
        for rule in self.rules:
            m = rule.match
            if m.verbs is not None and verb not in m.verbs:
                continue
            if m.resources is not None and combined not in m.resources:
                continue
            if m.api_groups is not None and group not in m.api_groups:
                continue
            found.append(rule)
        out = tuple(found)
        self._index[key] = out
        return out

    # --- events -----------------------------------------------------------------------------

    def process(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        self.stats.events += 1
        verb = ev.get("verb")
        if not isinstance(verb, str):
            verb = ""
        objref = ev.get("objectRef")
        if not isinstance(objref, dict):
            objref = {}
        elif any(not isinstance(v, str) for k, v in objref.items() if k in _OBJREF_STRINGS):
            # a hand-made or corrupt event (`resource: [..]`): such fields count as absent
            objref = {k: v for k, v in objref.items() if k not in _OBJREF_STRINGS or isinstance(v, str)}
        key = (
            verb,
            objref.get("resource") or "",
            objref.get("subresource") or "",
            objref.get("apiGroup") or "",
        )
        candidates = self._index.get(key)
        if candidates is None:
            candidates = self._candidates(key)
        if self.stats.events % _SWEEP_EVERY == 0:
            return self._sweep() + (self._evaluate(ev, verb, objref, candidates) if candidates else [])
        if not candidates:
            return []
        return self._evaluate(ev, verb, objref, candidates)

    def _evaluate(
        self, ev: dict[str, Any], verb: str, objref: Mapping[str, Any], candidates: tuple[Rule, ...]
    ) -> list[dict[str, Any]]:
        status = ev.get("responseStatus")
        code = status.get("code") if isinstance(status, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            code = 0
        stage = ev.get("stage")
        if stage is not None and not isinstance(stage, str):
            stage = ""  # not a stage: matches no rule
        default_ok = stage is None or stage in DEFAULT_STAGES or (stage == "ResponseStarted" and code == 401)
        event: _Event | None = None
        username: str | None = None
        authorized: bool | None = None
        alerts: list[dict[str, Any]] = []
        for rule in candidates:
            m = rule.match
            if not (default_ok if m.stages is None else stage in m.stages):
                continue
            if m.codes is not None and code not in m.codes:
                continue
            if m.users is not None or m.not_users is not None:
                if username is None:
                    username = _username(ev)
                if (m.users is not None and username not in m.users) or (
                    m.not_users is not None and username in m.not_users
                ):
                    continue
            if m.namespaces is not None and (objref.get("namespace") or "") not in m.namespaces:
                continue
            if event is None:
                event = _Event(ev, verb, objref, code)
            if m.authorized is not None:
                if authorized is None:
                    authorized = _was_authorized(ev, code)
                if authorized != m.authorized:
                    continue
            if rule.program is not None:
                try:
                    fired = rule.program.evaluate(event.cel_data(rule.uses_response))
                except CelError as exc:
                    self._cel_error(rule, ev, str(exc))
                    continue
                if fired is not True:
                    continue
            alerts.extend(self._fire(rule, event))
        if alerts:
            self.stats.alerted_events += 1
        return alerts

    def _cel_error(self, rule: Rule, ev: Mapping[str, Any], message: str) -> None:
        self.stats.cel_errors[rule.id] = self.stats.cel_errors.get(rule.id, 0) + 1
        if len(self.stats.cel_error_examples) < 5:
            self.stats.cel_error_examples.append(f"{rule.id} on {ev.get('auditID', '?')}: {message}")

    def _fire(self, rule: Rule, event: _Event) -> list[dict[str, Any]]:
        t = event_time(event.ev)
        if t > self._latest:
            self._latest = t
        values = event.fields()
        values["time"] = _iso(t)
        values["rule"] = rule.id
        values["severity"] = rule.severity.label
        if rule.burst is not None:
            count = self._burst(rule, values, t)
            if count is None:
                return []
            values["count"] = count
            values["window"] = int(rule.burst.window)
        extra: dict[str, Any] = {}
        for name, program in rule.field_programs.items():
            try:
                extra[name] = program.evaluate(event.cel_data(rule.uses_response))
            except CelError as exc:
                self._cel_error(rule, event.ev, f"field {name}: {exc}")
                extra[name] = "<error>"
        values.update(extra)
        if self.dedup_window <= 0:
            self._count(rule)
            return [self._alert(rule, values, extra)]
        dedup_key = (rule.id, *(str(values.get(k, "")) for k in rule.key))
        entry = self._dedup.get(dedup_key)
        if entry is not None and t - entry[0] <= self.dedup_window:
            entry[1] += 1
            self.stats.suppressed[rule.id] = self.stats.suppressed.get(rule.id, 0) + 1
            return []
        summary = self._close(dedup_key, entry) if entry is not None else None
        alert = self._alert(rule, values, extra)
        self._dedup[dedup_key] = [t, 0, alert]
        self._dedup.move_to_end(dedup_key)
        if len(self._dedup) > MAX_KEYS:
            old_key, old = self._dedup.popitem(last=False)
            self._pending_summary(old_key, old)
        self._count(rule)
        return [alert] if summary is None else [summary, alert]

    def _alert(self, rule: Rule, values: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "rule": rule.id,
            "title": rule.title,
            "severity": rule.severity.label,
            "mitre": rule.mitre,
            "time": values["time"],
            "message": rule.output.format_map(_Template(values)),
            "user": values["user"],
            "groups": values["groups"],
            "sourceIP": values["sourceIP"],
            "verb": values["verb"],
            "resource": values["resource"],
            "subresource": values["subresource"],
            "namespace": values["namespace"],
            "name": values["name"],
            "uri": values["uri"],
            "code": values["code"],
            "userAgent": values["userAgent"],
            "auditID": values["auditID"],
            "fields": {k: _plain(v) for k, v in extra.items()},
            "count": int(values.get("count", 1)) if rule.burst is not None else 1,
        }

    def _count(self, rule: Rule) -> None:
        key = (rule.id, rule.severity.label)
        self.stats.alerts[key] = self.stats.alerts.get(key, 0) + 1

    # --- dedup windows ----------------------------------------------------------------------

    def _close(self, key: tuple[Any, ...], entry: list[Any]) -> dict[str, Any] | None:
        """The summary of a closed dedup window with suppressed duplicates (else None)."""
        del key
        _, suppressed, alert = entry
        if not suppressed:
            return None
        out = dict(alert)
        out["count"] = suppressed
        out["repeat"] = True
        out["message"] = f"{alert['message']} (+{suppressed} duplicates since {alert['time']})"
        return out

    def _pending_summary(self, key: tuple[Any, ...], entry: list[Any]) -> None:
        summary = self._close(key, entry)
        if summary is not None:
            self._summaries.append(summary)

    def _sweep(self) -> list[dict[str, Any]]:
        """Close dedup windows that ended before the latest event time; drop idle burst keys."""
        out, self._summaries = self._summaries, []
        horizon = self._latest - self.dedup_window
        while self._dedup:
            key, entry = next(iter(self._dedup.items()))
            if entry[0] >= horizon:
                break
            self._dedup.popitem(last=False)
            summary = self._close(key, entry)
            if summary is not None:
                out.append(summary)
        for rule in self.rules:
            if rule.burst is None:
                continue
            state = self._bursts[rule.id]
            limit = self._latest - rule.burst.window
            while state:
                key, times = next(iter(state.items()))
                if times and times[-1] >= limit:
                    break
                state.popitem(last=False)
        return out

    def flush(self) -> list[dict[str, Any]]:
        """At the end of input: the summaries of every open dedup window with duplicates."""
        out, self._summaries = self._summaries, []
        for key, entry in self._dedup.items():
            summary = self._close(key, entry)
            if summary is not None:
                out.append(summary)
        self._dedup.clear()
        return out

    # --- bursts -----------------------------------------------------------------------------

    def _burst(self, rule: Rule, values: Mapping[str, Any], t: float) -> int | None:
        assert rule.burst is not None
        state = self._bursts[rule.id]
        key = tuple(str(values.get(k, "")) for k in rule.burst.by)
        times = state.get(key)
        if times is None:
            times = deque()
            state[key] = times
            if len(state) > MAX_KEYS:
                state.popitem(last=False)
        else:
            state.move_to_end(key)
        times.append(t)
        limit = t - rule.burst.window
        while times and times[0] < limit:
            times.popleft()
        if len(times) >= rule.burst.threshold:
            count = len(times)
            times.clear()
            return count
        return None


def _username(ev: Mapping[str, Any]) -> str:
    """The effective username (the impersonated user when there is one), as `_Event.user`."""
    user = ev.get("impersonatedUser") or ev.get("user")
    return str(user.get("username") or "") if isinstance(user, dict) else ""


def _was_authorized(ev: Mapping[str, Any], code: int) -> bool:
    """The `authorization.k8s.io/decision` annotation when present (API servers since 1.19
    write it), else a response code that is not 401/403."""
    annotations = ev.get("annotations")
    if isinstance(annotations, dict):
        decision = annotations.get("authorization.k8s.io/decision")
        if decision in ("allow", "forbid"):
            return bool(decision == "allow")
    return code not in (401, 403)


def _iso(t: float) -> str:
    from datetime import UTC

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
