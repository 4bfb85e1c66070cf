"""`kubeward generate` output against a real kube-apiserver v1.20.2.

* Every generated object whose kind exists in v1.20 is accepted by
  `kubectl apply --dry-run=server` (the server validates and admits it, stores nothing).
* Kinds v1.20 does not serve are listed in NOT_IN_V1_20, with the reason; the test
  asserts that every generated kind is either applied or listed there, so nothing is
  skipped silently.
* The two API server configuration files (EncryptionConfiguration, audit Policy) are not
  API objects: a second API server is started with them (its own `Cluster`, module
  scope), a Secret is written, and etcd's copy of it is checked to be encrypted by the
  first provider.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeward.cli.generate import render_documents
from kubeward.generate.policies import SETS, get_set
from tests.cluster.kube import Cluster

pytestmark = pytest.mark.cluster

NAMESPACE = "gen-dryrun"
REQUIRED = {"restrict-image-registries": {"registries": "ghcr.io/acme/"}}
VARIANTS: list[tuple[str, dict[str, str]]] = [
    *((s.name, REQUIRED.get(s.name, {})) for s in SETS),
    ("falco-rules", {"format": "configmap"}),
    ("deployer-role", {"delete": "true"}),
    ("projected-token-pod", {"expiration": "3600"}),
]

#: apiVersion/kind -> why `kubectl apply --dry-run=server` cannot take it on v1.20.2.
NOT_IN_V1_20: dict[tuple[str, str], str] = {
    ("kyverno.io/v1", "ClusterPolicy"): "Kyverno CRD, not installed",
    ("cilium.io/v1alpha1", "TracingPolicy"): "Tetragon CRD, not installed",
    ("external-secrets.io/v1", "ExternalSecret"): "External Secrets Operator CRD, not installed",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): "built in from 1.26 (GA 1.30)",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): "built in from 1.26 (GA 1.30)",
    ("audit.k8s.io/v1", "Policy"): "an API server config file, tested below with --audit-policy-file",
    ("apiserver.config.k8s.io/v1", "EncryptionConfiguration"):
        "an API server config file, tested below with --encryption-provider-config",
}
#: sets whose output is not a Kubernetes object at all (format=rules)
NOT_OBJECTS = {"falco-rules": "a Falco rules file (format=configmap is applied instead)"}


@pytest.fixture(scope="module")
def namespace(cluster: Cluster) -> str:
    cluster.kubectl("create", "namespace", NAMESPACE, check=False)
    return NAMESPACE


def _objects(name: str, params: dict[str, str]) -> list[dict[str, Any]]:
    ns = "gen-pss" if name == "pss-namespace" else NAMESPACE
    docs = get_set(name).build(params, ns)
    return [d for d in docs if isinstance(d, dict) and "kind" in d]


@pytest.mark.parametrize(("name", "params"), VARIANTS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)])
def test_generated_objects_pass_server_dry_run(cluster: Cluster, namespace: str, name: str,
                                               params: dict[str, str]) -> None:
    objects = _objects(name, params)
    if not objects:
        assert name in NOT_OBJECTS and params.get("format", "rules") == "rules"
        return
    applicable = [o for o in objects if (o["apiVersion"], o["kind"]) not in NOT_IN_V1_20]
    for obj in applicable:
        proc = cluster.kubectl("apply", "--dry-run=server", "-o", "name", "-f", "-",
                               input=render_documents([obj]), check=False)
        assert proc.returncode == 0, f"{obj['kind']}/{obj['metadata']['name']}: {proc.stderr}"
        assert "dry run" in proc.stdout or proc.stdout.strip(), proc.stdout


def test_every_generated_kind_is_applied_or_listed() -> None:
    """Every kind the generators write either exists in v1.20 (served by the test API
    server) or is named in NOT_IN_V1_20 with its reason."""
    served = {("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "ServiceAccount"), ("v1", "Pod"),
              ("networking.k8s.io/v1", "NetworkPolicy"),
              ("rbac.authorization.k8s.io/v1", "Role"),
              ("rbac.authorization.k8s.io/v1", "RoleBinding")}
    kinds = {(o["apiVersion"], o["kind"]) for name, params in VARIANTS for o in _objects(name, params)}
    assert kinds <= served | set(NOT_IN_V1_20), kinds - served - set(NOT_IN_V1_20)
    assert kinds & served, "nothing would be dry-run"


def test_listed_kinds_really_are_missing_on_v1_20(cluster: Cluster) -> None:
    """The skip list is checked against the server's own discovery, not assumed."""
    for (api_version, kind), _why in NOT_IN_V1_20.items():
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        proc = cluster.kubectl("get", "--raw", path, check=False)
        if proc.returncode != 0:
            continue  # the group/version is not served at all
        kinds = {r["kind"] for r in json.loads(proc.stdout)["resources"]}
        assert kind not in kinds, f"{api_version} {kind} is served: dry-run it instead"


# --- the two configuration files on an API server of their own ------------------------------

@pytest.fixture(scope="module")
def configured(kube_assets: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("gen-config")
    enc = folder / "encryption.yaml"
    # kms v2 needs a plugin socket and Kubernetes >= 1.25; the key-based providers all
    # load on v1.20, the first one encrypts.
    enc.write_text(render_documents(get_set("encryption-config").build(
        {"providers": "secretbox,aescbc,aesgcm"})))
    audit = folder / "audit.yaml"
    audit.write_text(render_documents(get_set("audit-policy").build({})))
    cluster = Cluster(kube_assets, extra_apiserver_args=[
        f"--encryption-provider-config={enc}", f"--audit-policy-file={audit}"])
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _etcd_url(cluster: Cluster) -> str:
    args = cluster._procs["kube-apiserver"].args  # the flags it was started with
    assert isinstance(args, list)
    return next(a.split("=", 1)[1] for a in args if str(a).startswith("--etcd-servers="))


def test_apiserver_starts_with_generated_configs_and_encrypts(configured: Cluster) -> None:
    configured.kubectl("create", "secret", "generic", "probe", "--from-literal=k=plain-value")
    got = configured.kubectl("get", "secret", "probe", "-o", "json")
    assert base64.b64decode(json.loads(got.stdout)["data"]["k"]) == b"plain-value"
    key = base64.b64encode(b"/registry/secrets/default/probe").decode()
    req = urllib.request.Request(f"{_etcd_url(configured)}/v3/kv/range",
                                 data=json.dumps({"key": key}).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = json.load(resp)
    stored = base64.b64decode(body["kvs"][0]["value"])
    assert stored.startswith(b"k8s:enc:secretbox:v1:key1:"), stored[:40]
    assert b"plain-value" not in stored
    # the generated audit policy is in force: the request above was logged
    events = [json.loads(line) for line in configured.audit_log.read_text().splitlines() if line]
    assert any(e.get("objectRef", {}).get("resource") == "secrets" and e.get("level") == "Metadata"
               for e in events)


# --- `kubeward fix` output is accepted by the API server --------------------------------------

FIX_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fix"


@pytest.mark.parametrize("name", ["deployment-comments", "multi-doc", "explicit-values"])
def test_fixed_manifests_pass_server_dry_run(cluster: Cluster, name: str) -> None:
    """The fields `kubeward fix` adds are valid for the API server (field names, types,
    combinations such as privileged/allowPrivilegeEscalation). The Windows example of
    list-and-special is left out: `spec.os` is a 1.23 field this v1.20 server rejects."""
    from kubeward.fix.yamledit import fix_text

    fixed = fix_text((FIX_FIXTURES / f"{name}.yaml").read_text()).fixed
    # CronJob is served as batch/v1beta1 on v1.20 (batch/v1 from 1.21); same pod template
    fixed = fixed.replace("apiVersion: batch/v1\nkind: CronJob", "apiVersion: batch/v1beta1\nkind: CronJob")
    for ns in ("shop", "ops"):
        cluster.kubectl("create", "namespace", ns, check=False)
    proc = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=fixed, check=False)
    assert proc.returncode == 0, proc.stderr
