"""Accepted risks: inline `kubeward.io/ignore` annotations and the exceptions file.

An exception needs a reason, may carry an expiry (after which it stops applying and is
reported), and is reported when it matched nothing, so stale exceptions do not pile up.
`--strict RULE` makes chosen rules impossible to except.

Annotation syntax (on the object or on its pod template):
    kubeward.io/ignore: "<rule-id-glob>=<reason>[ until YYYY-MM-DD][, …]"
Exceptions-file entries (in `.kubeward.yaml` `exceptions:` or a file given with
`--exceptions`): `{rule, kind, namespace, name, reason, expires}`, globs allowed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeward.findings import Finding, Suppression
from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import pod_template

__all__ = [
    "ANNOTATION",
    "ExceptionEntry",
    "ExceptionReport",
    "apply_exceptions",
    "parse_annotation",
    "parse_entries",
]

ANNOTATION = "kubeward.io/ignore"
_SPLIT = re.compile(r",\s*(?=[A-Za-z0-9*?.\[\]_-]+\s*=)")
_UNTIL = re.compile(r"\s*\(?\b(?:until|expires)\s+(\d{4}-\d{2}-\d{2})\)?\s*$", re.IGNORECASE)


@dataclass(slots=True)
class ExceptionEntry:
    rule: str
    reason: str
    source: str  # "annotation on <ref>" or "<file>"
    kind: str = "*"
    namespace: str = "*"
    name: str = "*"
    expires: dt.date | None = None
    used: int = 0

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def matches(self, finding: Finding) -> bool:
        res = finding.resource
        if not fnmatch.fnmatchcase(finding.rule.id, self.rule):
            return False
        if res is None:
            return self.kind == self.namespace == self.name == "*"
        return (
            fnmatch.fnmatchcase(res.kind, self.kind)
            and fnmatch.fnmatchcase(res.namespace or "", self.namespace)
            and fnmatch.fnmatchcase(res.name, self.name)
        )

    def describe(self) -> str:
        scope = "" if self.kind == self.namespace == self.name == "*" else (
            f" for {self.kind}/{self.namespace}/{self.name}"
        )
        return f"{self.rule}{scope} ({self.source})"


@dataclass(slots=True)
class ExceptionReport:
    unused: list[ExceptionEntry] = field(default_factory=list)
    expired: list[ExceptionEntry] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    strict_overrides: int = 0


def parse_annotation(value: object, where: str) -> tuple[list[ExceptionEntry], list[str]]:
    """Entries of one `kubeward.io/ignore` value, plus messages for malformed parts."""
    entries: list[ExceptionEntry] = []
    problems: list[str] = []
    if not isinstance(value, str):
        return entries, [f"{where}: {ANNOTATION} must be a string"]
    for part in _SPLIT.split(value.strip()):
        if not part.strip():
            continue
        rule, sep, reason = part.partition("=")
        rule, reason = rule.strip(), reason.strip()
        if not sep or not rule or not reason:
            problems.append(f'{where}: {ANNOTATION} entry "{part.strip()}" needs "<rule-id>=<reason>"')
            continue
        expires = None
        m = _UNTIL.search(reason)
        if m:
            try:
                expires = dt.date.fromisoformat(m.group(1))
            except ValueError:
                problems.append(f"{where}: bad expiry date {m.group(1)!r}")
                continue
            reason = reason[: m.start()].strip()
            if not reason:
                problems.append(f'{where}: {ANNOTATION} entry "{part.strip()}" needs a reason '
                                "before its expiry")
                continue
        entries.append(ExceptionEntry(rule, reason, f"annotation on {where}", expires=expires))
    return entries, problems


def parse_entries(raw: Sequence[Mapping[str, Any]], source: str) -> tuple[list[ExceptionEntry], list[str]]:
    entries: list[ExceptionEntry] = []
    problems: list[str] = []
    for i, item in enumerate(raw):
        rule = item.get("rule")
        reason = item.get("reason")
        if not isinstance(rule, str) or not isinstance(reason, str) or not reason.strip():
            problems.append(f"{source}: exception {i + 1} needs a rule and a reason")
            continue
        expires = item.get("expires")
        date = None
        if expires is not None:
            try:
                date = dt.date.fromisoformat(str(expires))
            except ValueError:
                problems.append(f"{source}: exception {i + 1}: bad expires date {expires!r}")
                continue
        entries.append(
            ExceptionEntry(
                rule=rule,
                reason=reason.strip(),
                source=source,
                kind=str(item.get("kind", "*")),
                namespace=str(item.get("namespace", "*")),
                name=str(item.get("name", "*")),
                expires=date,
            )
        )
    return entries, problems


def _annotations_of(res: Resource) -> Iterable[tuple[object, str]]:
    value = res.annotations.get(ANNOTATION)
    if value is not None:
        yield value, res.ref
    if res.kind != "Pod":
        tpl = pod_template(res.kind, res.obj)
        ann = tpl.metadata.get("annotations") if tpl is not None else None
        if isinstance(ann, dict) and ann.get(ANNOTATION) is not None:
            yield ann[ANNOTATION], f"{res.ref} (pod template)"


def apply_exceptions(
    findings: list[Finding],
    resources: Iterable[Resource],
    file_entries: list[ExceptionEntry],
    *,
    strict: Sequence[str] = (),
    today: dt.date | None = None,
) -> ExceptionReport:
    """Mark excepted findings as suppressed (in place) and report stale exceptions.

    Annotation exceptions apply only to the object that carries them; file exceptions
    apply wherever their kind/namespace/name globs match. An expired exception no longer
    applies. A finding of a `strict` rule is never suppressed.
    """
    today = today or dt.date.today()
    report = ExceptionReport()
    by_resource: dict[int, list[ExceptionEntry]] = {}
    annotation_entries: list[ExceptionEntry] = []
    for res in resources:
        entries: list[ExceptionEntry] = []
        for value, where in _annotations_of(res):
            parsed, problems = parse_annotation(value, where)
            entries.extend(parsed)
            report.invalid.extend(problems)
        if entries:
            by_resource[id(res)] = entries
            annotation_entries.extend(entries)
    for finding in findings:
        candidates = by_resource.get(id(finding.resource), []) if finding.resource else []
        for entry in (*candidates, *file_entries):
            if not entry.matches(finding) or entry.expired(today):
                continue
            entry.used += 1
            if any(fnmatch.fnmatchcase(finding.rule.id, s) for s in strict):
                report.strict_overrides += 1
                break
            finding.suppressed = Suppression(
                entry.source, entry.reason, entry.expires.isoformat() if entry.expires else None
            )
            break
    for entry in (*annotation_entries, *file_entries):
        if entry.expired(today):
            report.expired.append(entry)
        elif entry.used == 0:
            report.unused.append(entry)
    return report
