"""Which hardening fields to add to a workload: pure planning, no YAML text.

The fields are those of the seed's mutate policy (`kubeward generate
add-default-securitycontext`), i.e. what Pod Security `restricted` asks of every pod
(k8s.io/pod-security-admission/policy: check_runAsNonRoot.go, check_allowPrivilegeEscalation.go,
check_capabilities_restricted.go, check_seccompProfile_restricted.go) plus two
defence-in-depth fields:

pod level (``spec`` of the pod template, inherited by every container)
    ``securityContext.runAsNonRoot: true``, ``securityContext.seccompProfile.type:
    RuntimeDefault``, ``automountServiceAccountToken: false``;
container level (containers, initContainers, ephemeralContainers)
    ``securityContext.allowPrivilegeEscalation: false``, ``capabilities.drop: [ALL]``
    (``ALL`` appended to an existing drop list), ``readOnlyRootFilesystem: true``.

Rules:

* A value the manifest sets is never changed. When it contradicts the hardening
  (``runAsNonRoot: false``, ``seccompProfile: Unconfined``, ``allowPrivilegeEscalation:
  true`` ...) it is kept and reported.
* Nothing is added that the API server would reject: no ``allowPrivilegeEscalation:
  false`` on a privileged container or one adding CAP_SYS_ADMIN (validation.go
  `ValidateSecurityContext`; a privileged container gets no container-level field at
  all - it bypasses them and is reported), no Linux-only field on a Windows pod (``spec.os.name:
  windows``), no ``runAsNonRoot: true`` next to an explicit ``runAsUser: 0`` (the kubelet
  would refuse to start it).
* ``readOnlyRootFilesystem: true`` only where no writable path is *evident*. A path is
  evidently written when (a) the image is one of :data:`KNOWN_WRITABLE_PATHS` (official
  images that write below their root filesystem, e.g. nginx to /var/cache/nginx) or
  (b) the container's command, args or env values name a path under /tmp - and that path
  is not covered by a writable volume mount (an emptyDir at /tmp covers /tmp/x). Anything
  else is assumed not to write outside its volumes; the diff shows the change for review.
* ``automountServiceAccountToken: false`` only when the pod shows no sign of using the
  API: it runs as the ``default`` ServiceAccount (a dedicated ServiceAccount is usually
  there to be given RBAC rights or a cloud identity), has no projected
  serviceAccountToken volume and mounts nothing at /var/run/secrets/kubernetes.io/serviceaccount.

After planning, :func:`remaining_violations` evaluates the planned result with kubeward's
PSS engine; every remaining `restricted` violation becomes a reason line.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeward.k8s.images import parse_image
from kubeward.k8s.pods import WORKLOAD_KINDS, containers, pod_template

__all__ = [
    "KNOWN_WRITABLE_PATHS",
    "Edit",
    "WorkloadPlan",
    "apply_edits",
    "plan_document",
    "plan_workload",
    "remaining_violations",
]

Path = tuple[str | int, ...]

#: docker.io official images (and a few well-known ones) -> paths they write below the
#: image's root filesystem with their default configuration (from each image's Dockerfile /
#: docs: VOLUME, pid and cache directories).
KNOWN_WRITABLE_PATHS: dict[str, tuple[str, ...]] = {
    "library/nginx": ("/var/cache/nginx", "/var/run"),
    "nginxinc/nginx-unprivileged": ("/tmp",),  # noqa: S108 - a path the image writes
    "library/httpd": ("/usr/local/apache2/logs",),
    "library/postgres": ("/var/lib/postgresql/data", "/var/run/postgresql"),
    "library/mysql": ("/var/lib/mysql", "/var/run/mysqld"),
    "library/mariadb": ("/var/lib/mysql", "/run/mysqld"),
    "library/redis": ("/data",),
    "library/mongo": ("/data/db", "/data/configdb"),
    "library/rabbitmq": ("/var/lib/rabbitmq",),
    "library/wordpress": ("/var/www/html",),
    "library/tomcat": ("/usr/local/tomcat/logs", "/usr/local/tomcat/work"),
    "library/elasticsearch": ("/usr/share/elasticsearch/data",),
    "jenkins/jenkins": ("/var/jenkins_home",),
    "grafana/grafana": ("/var/lib/grafana",),
}
_SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_SYS_ADMIN = {"SYS_ADMIN", "CAP_SYS_ADMIN"}
#: "/tmp" as a path of its own in a command line, flag or env value
_TMP = re.compile(r"(?:^|[\s=:,'\"])/tmp(?:/|$|[\s,'\";])")


@dataclass(frozen=True, slots=True)
class Edit:
    """Set ``key`` in the mapping at ``path`` (intermediate mappings created) when it is
    absent or null; with ``append``, ``key`` is a list and ``value`` is appended."""

    path: Path
    key: str
    value: Any
    append: bool = False


@dataclass(slots=True)
class WorkloadPlan:
    kind: str
    name: str
    namespace: str | None
    prefix: Path = ()  # where the object sits in its document (("items", 3) in a List)
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def shown(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


def _map(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def _items(value: Any) -> list[Any]:
    """A list field, or nothing when the manifest holds something else there (`env: 5`)."""
    return value if isinstance(value, list) else []


def _covered(path: str, mounts: list[tuple[str, bool]]) -> bool:
    for mount, read_only in mounts:
        base = mount.rstrip("/") or "/"
        if not read_only and (path == base or path.startswith(base + "/") or base == "/"):
            return True
    return False


def _evident_writes(spec: Mapping[str, Any]) -> list[str]:
    """Paths the container evidently writes that no writable volume mount covers."""
    mounts: list[tuple[str, bool]] = []
    for m in _items(spec.get("volumeMounts")):
        if isinstance(m, dict) and isinstance(m.get("mountPath"), str):
            mounts.append((m["mountPath"], m.get("readOnly") is True))
    wanted: list[str] = []
    image = spec.get("image")
    if isinstance(image, str) and image.strip():
        wanted.extend(KNOWN_WRITABLE_PATHS.get(parse_image(image).repository, ()))
    texts: list[str] = []
    for key in ("command", "args"):
        items = spec.get(key)
        if isinstance(items, list):
            texts.extend(str(i) for i in items if isinstance(i, str | int))
    for env in _items(spec.get("env")):
        if isinstance(env, dict) and isinstance(env.get("value"), str):
            texts.append(env["value"])
    if any(_TMP.search(t) for t in texts):
        wanted.append("/tmp")  # noqa: S108 - a path the container writes, not ours
    out: list[str] = []
    for path in wanted:
        if not _covered(path, mounts) and path not in out:
            out.append(path)
    return out


def _needs_api(spec: Mapping[str, Any]) -> str | None:
    """Why the pod may use its ServiceAccount token (None: no sign of it)."""
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if isinstance(sa, str) and sa and sa != "default":
        return f"runs as ServiceAccount {sa} (may call the API)"
    for vol in _items(spec.get("volumes")):
        projected = _map(vol.get("projected")) if isinstance(vol, dict) else None
        for src in _items((projected or {}).get("sources")):
            if isinstance(src, dict) and "serviceAccountToken" in src:
                return "mounts a projected ServiceAccount token"
    for c in containers(spec):
        for m in _items(c.spec.get("volumeMounts")):
            if isinstance(m, dict) and str(m.get("mountPath", "")).startswith(_SA_MOUNT):
                return f"container {c.name} mounts {_SA_MOUNT}"
    return None


def plan_workload(kind: str, obj: Mapping[str, Any], prefix: Path = ()) -> WorkloadPlan | None:
    """The edits for one workload object (paths from the document root, with PREFIX for
    objects nested in a List), or None when OBJ is not a workload."""
    if kind not in WORKLOAD_KINDS:
        return None
    pt = pod_template(kind, obj)
    meta = _map(obj.get("metadata")) or {}
    name = meta.get("name")
    ns = meta.get("namespace")
    plan = WorkloadPlan(kind, name if isinstance(name, str) else "(unnamed)",
                        ns if isinstance(ns, str) else None, prefix)
    if pt is None:
        return plan
    spec = pt.spec
    spec_path: Path = (*prefix, *pt.spec_path)
    notes, edits = plan.notes, plan.edits
    os_name = (_map(spec.get("os")) or {}).get("name")
    windows = os_name == "windows"
    if windows:
        notes.append("Windows pod: Linux securityContext fields left")
    psc_raw = spec.get("securityContext")
    pod_ok = psc_raw is None or isinstance(psc_raw, dict)
    if not pod_ok:
        notes.append("securityContext is not a mapping: pod-level fields left")
    psc: Mapping[str, Any] = psc_raw if isinstance(psc_raw, dict) else {}
    sc_path: Path = (*spec_path, "securityContext")

    def container_values(key: str) -> Iterator[tuple[str, Any]]:
        for c in containers(spec):
            sc = _map(c.spec.get("securityContext"))
            if sc is not None and sc.get(key) is not None:
                yield c.name, sc[key]

    # --- pod level --------------------------------------------------------------------------
    if not windows and pod_ok:
        root_users = [n for n, v in container_values("runAsUser") if v == 0]
        if psc.get("runAsNonRoot") is False:
            notes.append("runAsNonRoot: false kept (set in the manifest)")
        elif psc.get("runAsUser") == 0 or root_users:
            who = "the pod" if psc.get("runAsUser") == 0 else ", ".join(root_users)
            notes.append(f"runAsNonRoot left: runAsUser 0 is set ({who})")
        elif psc.get("runAsNonRoot") is None:
            edits.append(Edit(sc_path, "runAsNonRoot", True))
        for cname, value in container_values("runAsNonRoot"):
            if value is False:
                notes.append(f"container {cname}: runAsNonRoot: false kept")
        seccomp = psc.get("seccompProfile")
        if seccomp is None:
            annotations = _map(pt.metadata.get("annotations")) or {}
            legacy = annotations.get("seccomp.security.alpha.kubernetes.io/pod")
            if legacy not in (None, "runtime/default", "docker/default"):
                notes.append(f"seccomp annotation {legacy!r} kept; seccompProfile not added")
            else:
                edits.append(Edit((*sc_path, "seccompProfile"), "type", "RuntimeDefault"))
        elif isinstance(seccomp, dict) and seccomp.get("type") == "Unconfined":
            notes.append("seccompProfile Unconfined kept (set in the manifest)")
        for cname, value in container_values("seccompProfile"):
            if isinstance(value, dict) and value.get("type") == "Unconfined":
                notes.append(f"container {cname}: seccompProfile Unconfined kept")

    automount = spec.get("automountServiceAccountToken")
    if automount is True:
        notes.append("automountServiceAccountToken: true kept (set in the manifest)")
    elif automount is None:
        why = _needs_api(spec)
        if why:
            notes.append(f"automountServiceAccountToken left: {why}")
        else:
            edits.append(Edit(spec_path, "automountServiceAccountToken", False))

    # --- containers ---------------------------------------------------------------------------
    if windows:
        return plan
    for c in containers(spec):
        cpath: Path = (*spec_path, c.field, c.index)
        raw = c.spec.get("securityContext")
        if raw is not None and not isinstance(raw, dict):
            notes.append(f"container {c.name}: securityContext is not a mapping; left")
            continue
        sc = raw or {}
        csc: Path = (*cpath, "securityContext")
        caps_raw = sc.get("capabilities")
        caps = _map(caps_raw) or {}
        add_raw = caps.get("add")
        added: list[Any] = add_raw if isinstance(add_raw, list) else []
        privileged = sc.get("privileged") is True
        sys_admin = any(str(a) in _SYS_ADMIN for a in added)
        if privileged:
            notes.append(f"container {c.name}: privileged: true kept; its container-level "
                         "hardening left (a privileged container bypasses it)")
            continue
        ape = sc.get("allowPrivilegeEscalation")
        if ape is True:
            notes.append(f"container {c.name}: allowPrivilegeEscalation: true kept")
        elif ape is None:
            if sys_admin:
                notes.append(f"container {c.name}: allowPrivilegeEscalation left (adds "
                             "CAP_SYS_ADMIN: the API rejects false with it)")
            else:
                edits.append(Edit(csc, "allowPrivilegeEscalation", False))
        if caps_raw is not None and not isinstance(caps_raw, dict):
            notes.append(f"container {c.name}: capabilities is not a mapping; left")
        else:
            drop = caps.get("drop")
            if drop is None:
                edits.append(Edit((*csc, "capabilities"), "drop", ["ALL"]))
            elif not isinstance(drop, list):
                notes.append(f"container {c.name}: capabilities.drop is not a list; left")
            elif "ALL" not in drop:
                edits.append(Edit((*csc, "capabilities"), "drop", "ALL", append=True))
            extra = [str(a) for a in added if str(a) != "NET_BIND_SERVICE"]
            if extra:
                notes.append(f"container {c.name}: capabilities.add {', '.join(extra)} kept "
                             "(restricted allows only NET_BIND_SERVICE)")
        rorf = sc.get("readOnlyRootFilesystem")
        if rorf is False:
            notes.append(f"container {c.name}: readOnlyRootFilesystem: false kept")
        elif rorf is None:
            writes = _evident_writes(c.spec)
            if writes:
                notes.append(f"container {c.name}: readOnlyRootFilesystem left: "
                             f"{', '.join(writes)} {'is' if len(writes) == 1 else 'are'} written "
                             "(mount an emptyDir there, then set it)")
            else:
                edits.append(Edit(csc, "readOnlyRootFilesystem", True))
    return plan


def plan_document(doc: Any) -> list[WorkloadPlan]:
    """Plans for a document: one workload, or the workloads in a ``kind: *List``."""
    if not isinstance(doc, dict):
        return []
    kind = doc.get("kind")
    if not isinstance(kind, str):
        return []
    if kind.endswith("List") and isinstance(doc.get("items"), list):
        plans = []
        for i, item in enumerate(doc["items"]):
            if isinstance(item, dict) and isinstance(item.get("kind"), str):
                plan = plan_workload(item["kind"], item, ("items", i))
                if plan is not None:
                    plans.append(plan)
        return plans
    plan = plan_workload(kind, doc)
    return [plan] if plan is not None else []


def apply_edits(
    root: Any,
    edits: list[Edit],
    *,
    new_map: Callable[[], Any] = dict,
    convert: Callable[[Any], Any] = copy.deepcopy,
) -> None:
    """Apply EDITS to ROOT in place (plain dicts, or ruamel's round-trip types with
    NEW_MAP / CONVERT producing them). New keys go at the end of their mapping."""
    for edit in edits:
        node = root
        for key in edit.path:
            if isinstance(key, int):
                node = node[key]
                continue
            child = node.get(key)
            if child is None:
                child = new_map()
                node[key] = child
            node = child
        if edit.append:
            node[edit.key].append(convert(edit.value))
        elif node.get(edit.key) is None:
            node[edit.key] = convert(edit.value)


def remaining_violations(kind: str, fixed: Mapping[str, Any]) -> list[str]:
    """Pod Security `restricted` (latest) violations of the fixed workload, as reasons."""
    from kubeward.pss import evaluate

    pt = pod_template(kind, fixed)
    if pt is None:
        return []
    return [f"restricted not met: {v.reason}" + (f" ({v.detail})" if v.detail else "")
            for v in evaluate(pt.metadata, pt.spec, "restricted", "latest")]
