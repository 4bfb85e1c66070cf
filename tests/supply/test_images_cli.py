"""`kubeward images`: the inventory, its gates, exit codes, and --verify against the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.cli.main import cli
from kubeward.supply.cosign import simple_signing_payload
from tests.supply.conftest import cosign_sign, push_cosign_signature, push_image

MANIFESTS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - {name: init, image: "busybox"}
      containers:
        - {name: web, image: "nginx:1.27"}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop}
spec:
  containers:
    - {name: main, image: "docker.io/library/nginx:1.27"}
  ephemeralContainers:
    - {name: dbg, image: "ghcr.io/acme/debug@sha256:DIGEST"}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - {name: r, image: "ghcr.io/acme/report:2.0"}
""".replace("DIGEST", "1" * 64)


def run(*args: str):
    return CliRunner().invoke(cli, ["images", *args])


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(MANIFESTS)
    return path


def test_inventory_json(manifests):
    res = run(str(manifests), "-o", "json", "--no-config")
    assert res.exit_code == 1, res.output  # busybox has no tag: image.latest-tag (medium)
    images = {i["image"]: i for i in json.loads(res.stdout)["images"]}
    assert sorted(images) == [
        "docker.io/library/busybox:latest",
        "docker.io/library/nginx:1.27",
        f"ghcr.io/acme/debug@sha256:{'1' * 64}",
        "ghcr.io/acme/report:2.0",
    ]
    nginx = images["docker.io/library/nginx:1.27"]
    assert nginx["workloads"] == ["Deployment/shop/web", "Pod/shop/debug"]
    assert nginx["spellings"] == ["docker.io/library/nginx:1.27", "nginx:1.27"]
    assert nginx["pinned"] is False and nginx["allowed"] is None
    assert nginx["verification_policies"] == []
    assert {f["rule"] for f in nginx["findings"]} == {"image.digest-pin"}
    busybox = images["docker.io/library/busybox:latest"]
    assert busybox["containers"] == [{"workload": "Deployment/shop/web", "container": "init",
                                      "field": "initContainers"}]
    assert [f["rule"] for f in busybox["findings"]] == ["image.latest-tag"]
    debug = images[f"ghcr.io/acme/debug@sha256:{'1' * 64}"]
    assert debug["pinned"] and debug["tag"] is None and debug["findings"] == []
    assert debug["containers"][0]["field"] == "ephemeralContainers"
    assert images["ghcr.io/acme/report:2.0"]["workloads"] == ["CronJob/shop/report"]


def test_allow_list_and_fail_on(manifests):
    res = run(str(manifests), "--no-config", "--allowed-registry", "ghcr.io/acme",
              "--fail-on", "high")
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    nginx = next(line for line in lines if line.startswith("library/nginx"))
    assert " NO " in nginx
    assert "image.allowed-registry" in res.stdout
    ok = run(str(manifests), "--no-config", "--allowed-registry", "ghcr.io",
             "--allowed-registry", "docker.io", "--fail-on", "high")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.rstrip().endswith("4 images")


def test_policy_column(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(MANIFESTS + """
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: acme}
spec:
  images: [{glob: "ghcr.io/acme/**"}]
  authorities: [{key: {data: "k"}}]
""")
    res = run(str(path), "--no-config", "-o", "json")
    images = {i["image"]: i for i in json.loads(res.stdout)["images"]}
    report = images["ghcr.io/acme/report:2.0"]
    assert report["verification_policies"][0]["policy"] == "ClusterImagePolicy/acme"
    assert report["unverified_in"] == []
    nginx = images["docker.io/library/nginx:1.27"]
    assert nginx["unverified_in"] == ["Deployment/shop/web", "Pod/shop/debug"]
    assert "image.not-verified" in {f["rule"] for f in nginx["findings"]}


@pytest.mark.parametrize(("args", "message"), [
    (["--key", "k.pub"], "need --verify"),
    (["--verify"], "--verify needs --key FILE"),
    (["--verify", "--key", "missing.pub"], "missing.pub"),
    (["--verify", "--key", "k.pub", "--trusted-root", "r.json"], "either --key or"),
    (["--verify", "--trusted-root", "nope.json", "--certificate-identity", "x",
      "--certificate-oidc-issuer", "y"], "nope.json: no such file"),
    (["--verify", "--trusted-root", "junk.json", "--certificate-identity", "x",
      "--certificate-oidc-issuer", "y"], "junk.json"),
])
def test_usage_errors_exit_2(manifests, args, message, monkeypatch):
    (manifests.parent / "junk.json").write_text("{}")  # not a trusted root: refused up front
    monkeypatch.chdir(manifests.parent)
    res = run(str(manifests), "--no-config", *args)
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.output
    assert len(res.stderr.splitlines()) == 1  # before any registry request


def test_unreadable_input_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    res = run(str(bad), "--no-config")
    assert res.exit_code == 2
    assert "bad.yaml" in res.stderr


@pytest.mark.registry
def test_verify_against_the_registry(registry, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pub = tmp_path / "cosign.pub"
    pub.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    signed = push_image(registry, "cli/signed", "1.0", tmp_path, content=b"signed")
    payload = simple_signing_payload(signed, f"{registry.host}/cli/signed")
    push_cosign_signature(registry, "cli/signed", signed, tmp_path, payload=payload,
                          signature=cosign_sign(key, payload))
    push_image(registry, "cli/unsigned", "1.0", tmp_path, content=b"unsigned")
    doc = tmp_path / "d.yaml"
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: ns}\n"
           "spec:\n  containers:\n    - {name: c, image: \"%s\"}\n")
    doc.write_text(pod % ("a", f"{registry.host}/cli/signed@{signed}"))
    res = run(str(doc), "--no-config", "--verify", "--key", str(pub), "--registry-insecure",
              "--fail-on", "medium")
    assert res.exit_code == 0, res.output
    assert "verified" in res.stdout.splitlines()[1]

    doc.write_text(pod % ("a", f"{registry.host}/cli/signed:1.0") + "---\n"
                   + pod % ("b", f"{registry.host}/cli/unsigned:1.0"))
    res = run(str(doc), "--no-config", "--verify", "--key", str(pub), "--registry-insecure",
              "-o", "json", "--fail-on", "medium")
    assert res.exit_code == 1
    sigs = {i["repository"]: i["signature"] for i in json.loads(res.stdout)["images"]}
    assert sigs["cli/signed"]["status"] == "verified"
    assert sigs["cli/signed"]["digest"] == signed
    assert sigs["cli/unsigned"]["status"] == "unsigned"
    assert sigs["cli/unsigned"]["reason"] == "no signatures found"
    # Unsigned counts as medium: --fail-on high passes (digest-pin findings are low).
    res = run(str(doc), "--no-config", "--verify", "--key", str(pub), "--registry-insecure",
              "--fail-on", "high")
    assert res.exit_code == 0, res.output


@pytest.mark.registry
def test_verify_unreachable_registry_exit_2(registry, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pub = tmp_path / "cosign.pub"
    pub.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    doc = tmp_path / "d.yaml"
    doc.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
                   "spec:\n  containers:\n    - {name: c, image: \"127.0.0.1:9/x/y:1\"}\n")
    res = run(str(doc), "--no-config", "--verify", "--key", str(pub), "--registry-insecure")
    assert res.exit_code == 2
    assert "Error: 127.0.0.1:9/x/y:1: 127.0.0.1:9: ConnectError" in res.stderr


def test_snapshot_input_skips_controlled_objects(tmp_path):
    """A cluster read holds Deployments and their ReplicaSets and Pods: one row per image."""
    import yaml

    from kubeward.inventory.cluster import ClusterRead
    from kubeward.inventory.snapshot import write_snapshot

    deploy = yaml.safe_load(MANIFESTS.split("---")[0])
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-5d9", "namespace": "shop", "ownerReferences": [
              {"kind": "Deployment", "name": "web", "controller": True}]},
          "spec": deploy["spec"]}
    snap = tmp_path / "s.json.gz"
    write_snapshot(ClusterRead("https://example:6443", "test", [deploy, rs], []), str(snap))
    res = run("--snapshot", str(snap), "--no-config", "-o", "json")
    images = json.loads(res.stdout)["images"]
    assert [i["workloads"] for i in images] == [["Deployment/shop/web"]] * 2
    missing = run("--snapshot", str(tmp_path / "missing.json.gz"), "--no-config")
    assert missing.exit_code == 2


@pytest.mark.registry
def test_verify_attestations_report_sboms(registry, tmp_path):
    from kubeward.supply.cosign import DSSE_MEDIA, signature_tag
    from kubeward.supply.oci import OCI_MANIFEST
    from tests.supply.conftest import OCI_CONFIG, oras_blob, oras_manifest
    from tests.supply.test_cosign_registry import CYCLONEDX, _envelope, _statement

    key = ec.generate_private_key(ec.SECP256R1())
    pub = tmp_path / "cosign.pub"
    pub.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with_sbom = push_image(registry, "cli/sbom", "1", tmp_path, content=b"with sbom")
    payload = simple_signing_payload(with_sbom, f"{registry.host}/cli/sbom")
    push_cosign_signature(registry, "cli/sbom", with_sbom, tmp_path, payload=payload,
                          signature=cosign_sign(key, payload))
    env = json.dumps(_envelope(key, _statement(with_sbom, "https://cyclonedx.org/bom",
                                               CYCLONEDX))).encode()
    layer = oras_blob(registry, "cli/sbom", env, DSSE_MEDIA, tmp_path)
    config = oras_blob(registry, "cli/sbom", b'{"rootfs":{"type":"layers"}}', OCI_CONFIG,
                       tmp_path)
    oras_manifest(registry, "cli/sbom", signature_tag(with_sbom, "att"),
                  {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                   "layers": [layer]})
    push_image(registry, "cli/nosbom", "1", tmp_path, content=b"no sbom")
    doc = tmp_path / "d.yaml"
    doc.write_text("".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {n}}}\n"
        f"spec:\n  containers:\n    - {{name: c, image: \"{registry.host}/cli/{n}:1\"}}\n"
        for n in ("sbom", "nosbom")))
    args = [str(doc), "--no-config", "--verify", "--key", str(pub), "--attestations",
            "--registry-insecure"]
    res = run(*args, "-o", "json")
    images = {i["repository"]: i for i in json.loads(res.stdout)["images"]}
    assert images["cli/sbom"]["sbom"] == {"source": f"{signature_tag(with_sbom, 'att')} layer 0",
                                          "format": images["cli/sbom"]["sbom"]["format"],
                                          "packages": 1}
    assert images["cli/sbom"]["attestations"][0]["verified"] is True
    assert images["cli/nosbom"]["sbom"] is None
    assert images["cli/nosbom"]["signature"]["status"] == "unsigned"
    table = run(*args).stdout
    assert f"{registry.host}/cli/nosbom:1: no verified SBOM attestation" in table
    assert "SBOM CycloneDX" in table and "with 1 package" in table
