"""Reading a live cluster: every kind audit needs, paginated, read-only, lean.

Why raw list calls rather than typed client objects: lightkube resolves the kubeconfig
(contexts, client certificates, tokens, exec plugins, in-cluster service account) and gives
an HTTP client; the lists themselves are decoded with orjson into the same plain dicts the
file loader produces, so every rule runs unchanged and no model objects are built (the
typed clients decode 5-10x slower and hold far more memory).

What is read is the fixed catalog `KINDS` (plus security CRDs when their CRD is served),
so the minimal ClusterRole (`deploy/audit-clusterrole.yaml`) can name every resource.
Secrets are reduced to metadata, type and key names on arrival: values never leave this
module. Objects owned by a controller that is itself read (a Deployment's ReplicaSets and
their Pods, a CronJob's Jobs) are dropped so each workload is reported once, on its owner.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeward.inventory.resource import Origin, Resource, SourceText

__all__ = [
    "KINDS",
    "ClusterError",
    "ClusterRead",
    "KindSpec",
    "connect",
    "read_cluster",
    "reduce_object",
    "resources_from_objects",
]

#: Objects per list request: bounded memory per response, few round trips.
PAGE_SIZE = 500


@dataclass(slots=True, frozen=True)
class KindSpec:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    optional: bool = False  # not served by every cluster (CRDs, newer APIs): 404 is quiet

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def path(self) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/{self.plural}"


def _k(group: str, version: str, plural: str, kind: str, namespaced: bool = True,
       optional: bool = False) -> KindSpec:
    return KindSpec(group, version, plural, kind, namespaced, optional)


KINDS: tuple[KindSpec, ...] = (
    _k("", "v1", "namespaces", "Namespace", False),
    _k("", "v1", "nodes", "Node", False),
    _k("", "v1", "pods", "Pod"),
    _k("", "v1", "services", "Service"),
    _k("", "v1", "serviceaccounts", "ServiceAccount"),
    _k("", "v1", "configmaps", "ConfigMap"),
    _k("", "v1", "secrets", "Secret"),
    _k("", "v1", "limitranges", "LimitRange"),
    _k("", "v1", "resourcequotas", "ResourceQuota"),
    _k("", "v1", "replicationcontrollers", "ReplicationController"),
    _k("", "v1", "podtemplates", "PodTemplate"),
    _k("apps", "v1", "deployments", "Deployment"),
    _k("apps", "v1", "replicasets", "ReplicaSet"),
    _k("apps", "v1", "statefulsets", "StatefulSet"),
    _k("apps", "v1", "daemonsets", "DaemonSet"),
    _k("batch", "v1", "jobs", "Job"),
    _k("batch", "v1", "cronjobs", "CronJob", optional=True),  # batch/v1 from 1.21
    _k("batch", "v1beta1", "cronjobs", "CronJob", optional=True),
    _k("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
    _k("networking.k8s.io", "v1", "ingresses", "Ingress"),
    _k("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", optional=True),
    _k("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _k("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _k("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _k("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _k("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
       "ValidatingWebhookConfiguration", False),
    _k("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
       "MutatingWebhookConfiguration", False),
    _k("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies",
       "ValidatingAdmissionPolicy", False, optional=True),
    _k("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
       "ValidatingAdmissionPolicyBinding", False, optional=True),
    _k("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
       False),
    # Security CRDs: listed only when their CRD is served (see _served_crds).
    _k("kyverno.io", "v1", "clusterpolicies", "ClusterPolicy", False, optional=True),
    _k("kyverno.io", "v1", "policies", "Policy", optional=True),
    _k("policies.kyverno.io", "v1alpha1", "imagevalidatingpolicies", "ImageValidatingPolicy", False,
       optional=True),
    _k("policy.sigstore.dev", "v1beta1", "clusterimagepolicies", "ClusterImagePolicy", False,
       optional=True),
    _k("config.ratify.deislabs.io", "v1beta1", "verifiers", "Verifier", False, optional=True),
    _k("constraints.gatekeeper.sh", "v1beta1", "ratifyverification", "RatifyVerification", False,
       optional=True),
    _k("cilium.io", "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", optional=True),
    _k("cilium.io", "v2", "ciliumclusterwidenetworkpolicies",
       "CiliumClusterwideNetworkPolicy", False, optional=True),
    _k("security.istio.io", "v1", "peerauthentications", "PeerAuthentication", optional=True),
    _k("security.istio.io", "v1", "authorizationpolicies", "AuthorizationPolicy",
       optional=True),
    _k("bitnami.com", "v1alpha1", "sealedsecrets", "SealedSecret", optional=True),
    _k("external-secrets.io", "v1beta1", "externalsecrets", "ExternalSecret", optional=True),
)

# Owner kinds whose children are dropped: (child kind, owner kind).
_OWNED = {("ReplicaSet", "Deployment"), ("Pod", "ReplicaSet"), ("Pod", "DaemonSet"),
          ("Pod", "StatefulSet"), ("Pod", "Job"), ("Job", "CronJob"),
          ("Pod", "ReplicationController")}


class ClusterError(Exception):
    """The cluster could not be reached or the kubeconfig is unusable (one line)."""


@dataclass(slots=True)
class KindStatus:
    kind: KindSpec
    status: str  # ok, forbidden, not-served, error
    count: int = 0
    detail: str = ""


@dataclass(slots=True)
class ClusterRead:
    server: str
    context: str | None
    objects: list[dict[str, Any]] = field(default_factory=list)
    kinds: list[KindStatus] = field(default_factory=list)

    @property
    def forbidden(self) -> list[str]:
        return [k.kind.kind for k in self.kinds if k.status == "forbidden"]

    @property
    def failed(self) -> list[KindStatus]:
        return [k for k in self.kinds if k.status == "error"]


class Connection:
    """An HTTP client bound to one cluster (from lightkube's kubeconfig handling)."""

    def __init__(self, client: Any, server: str, context: str | None) -> None:
        self._client = client
        self.server = server
        self.context = context

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> tuple[int, Any]:
        import orjson

        try:
            response = self._client.get(path, params=params)
        except Exception as err:  # noqa: BLE001 - transport errors of the HTTP stack
            raise ClusterError(f"cannot reach {self.server}: {type(err).__name__}: {err}") from None
        body = response.content
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            data = None
        return response.status_code, data

    def close(self) -> None:
        self._client.close()


def connect(kubeconfig: str | None = None, context: str | None = None,
            timeout: float = 30.0) -> Connection:
    """Connect as kubectl would: --kubeconfig, $KUBECONFIG, ~/.kube/config, or in-cluster."""
    try:
        from lightkube.config.client_adapter import Client, ConnectionParams
        from lightkube.config.kubeconfig import KubeConfig
        from lightkube.core.exceptions import ConfigError
    except ImportError as err:  # pragma: no cover - lightkube is a dependency
        raise ClusterError(f"cluster access needs lightkube: {err}") from None
    import httpx2

    try:
        config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
        single = config.get(context_name=context)
        if single is None:
            raise ClusterError(f"{kubeconfig or 'kubeconfig'}: no context to use")
        client = Client(single, ConnectionParams(timeout=httpx2.Timeout(timeout)))
    except (ConfigError, OSError, ValueError, KeyError) as err:
        where = kubeconfig or "kubeconfig"
        raise ClusterError(f"{where}: {err}") from None
    return Connection(client, single.cluster.server, context or single.context_name)


def read_cluster(conn: Connection, kinds: Sequence[KindSpec] = KINDS) -> ClusterRead:
    """List every kind (paginated); never raises for one kind's failure."""
    read = ClusterRead(conn.server, conn.context)
    crds: set[str] | None = None
    seen_kinds: set[str] = set()
    for spec in kinds:
        if spec.kind in seen_kinds:
            continue  # an earlier version of the same kind was served (CronJob)
        if spec.optional and "." in spec.group and not spec.group.endswith("k8s.io"):
            if crds is None:
                crds = _served_crds(read.objects)
            if f"{spec.plural}.{spec.group}" not in crds:
                continue
        status = _list_kind(conn, spec, read.objects)
        if status.status == "not-served" and spec.optional:
            continue
        if status.status == "ok":
            seen_kinds.add(spec.kind)
        read.kinds.append(status)
    read.objects = list(_drop_owned(read.objects))
    return read


def _served_crds(objects: Sequence[Mapping[str, Any]]) -> set[str]:
    names = set()
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            meta = obj.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                names.add(meta["name"])
    return names


def _list_kind(conn: Connection, spec: KindSpec, out: list[dict[str, Any]]) -> KindStatus:
    status = KindStatus(spec, "ok")
    params: dict[str, str] = {"limit": str(PAGE_SIZE)}
    restarted = False
    collected: list[dict[str, Any]] = []
    while True:
        code, data = conn.get_json(spec.path, params)
        if code == 410 and not restarted:  # continue token expired: list again, once
            restarted = True
            collected.clear()
            params = {"limit": str(PAGE_SIZE)}
            continue
        if code in (401, 403):
            status.status, status.detail = "forbidden", _message(data, code)
            return status
        if code == 404:
            status.status = "not-served"
            return status
        if code != 200 or not isinstance(data, dict):
            status.status, status.detail = "error", _message(data, code)
            return status
        items = data.get("items")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                item.setdefault("apiVersion", spec.api_version)
                item.setdefault("kind", spec.kind)
                collected.append(reduce_object(item))
        meta = data.get("metadata")
        token = meta.get("continue") if isinstance(meta, dict) else None
        if not token:
            break
        params = {"limit": str(PAGE_SIZE), "continue": token}
    out.extend(collected)
    status.count = len(collected)
    return status


def _message(data: Any, code: int) -> str:
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return f"HTTP {code}: {data['message']}"
    return f"HTTP {code}"


def reduce_object(obj: dict[str, Any]) -> dict[str, Any]:
    """What audit keeps of an object: no secret values, no managedFields, no CRD schemas."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            # kubectl's last-applied copy would carry a Secret's values a second time.
            ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    kind = obj.get("kind")
    if kind == "Secret":
        for key in ("data", "stringData"):
            values = obj.get(key)
            if isinstance(values, dict):
                obj[key] = dict.fromkeys(values, "")
    elif kind == "CustomResourceDefinition":
        spec = obj.get("spec")
        if isinstance(spec, dict):
            versions = spec.get("versions")
            if isinstance(versions, list):
                spec["versions"] = [
                    {k: v for k, v in ver.items() if k != "schema"}
                    for ver in versions if isinstance(ver, dict)
                ]
    return obj


def _drop_owned(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    present = {
        (o.get("kind"), _meta(o).get("namespace"), _meta(o).get("uid")) for o in objects
    }
    for obj in objects:
        owners = _meta(obj).get("ownerReferences")
        if isinstance(owners, list) and any(
            isinstance(ref, dict)
            and ref.get("controller") is True
            and (obj.get("kind"), ref.get("kind")) in _OWNED
            and (ref.get("kind"), _meta(obj).get("namespace"), ref.get("uid")) in present
            for ref in owners
        ):
            continue
        yield obj


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def resources_from_objects(
    objects: Sequence[dict[str, Any]], shown: str, kind: str
) -> list[Resource]:
    """Wrap cluster (or snapshot) objects as Resources; their location is the cluster."""
    source = SourceText(shown, None, kind)
    return [Resource(obj, Origin(source, None, 0)) for obj in objects]


def audit_cluster_role(name: str = "kubeward-audit") -> dict[str, Any]:
    """The minimal ClusterRole `kubeward audit` needs: get/list on every kind it reads.

    deploy/audit-clusterrole.yaml is this, rendered; a test keeps the two equal.
    """
    by_group: dict[str, set[str]] = {}
    for spec in KINDS:
        by_group.setdefault(spec.group, set()).add(spec.plural)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/name": "kubeward"},
            "annotations": {
                "kubeward.io/purpose": "read-only access for `kubeward audit` and "
                "`kubeward snapshot`; Secrets are reduced to names, types and keys on read",
            },
        },
        "rules": [
            {"apiGroups": [group], "resources": sorted(plurals), "verbs": ["get", "list"]}
            for group, plurals in sorted(by_group.items())
        ],
    }
