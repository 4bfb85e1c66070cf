"""kubeward's own rendering of a kustomize subset: exact (equal to `kubectl kustomize`) or
declined (None, and kubectl renders as before)."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubeward.inventory import kustomize, render, yamlio

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpora" / "manifests"
FIXTURES = Path(__file__).parent / "fixtures" / "kustomize"

#: Corpus kustomizations that are not resources-only and that the subset must render itself
#: (they are what made `kubeward scan` start kubectl).
CORPUS_OVERLAYS = [
    "gke-samples/quickstarts/whereami/k8s-backend-overlay-example",
    "gke-samples/quickstarts/whereami/k8s-echo-headers-overlay-example",
    "gke-samples/quickstarts/whereami/k8s-frontend-overlay-clusterip-example",
    "gke-samples/quickstarts/whereami/k8s-frontend-overlay-example",
    "gke-samples/quickstarts/whereami/k8s-grpc-clusterip-backend-overlay-example",
    "gke-samples/quickstarts/whereami/k8s-grpc-frontend-overlay-example",
    "gke-samples/quickstarts/whereami/k8s-grpc-headless-backend-overlay-example",
    "gke-samples/workloads/migrate-x86-app-to-multi-arch/k8s/overlays/arm",
    "gke-samples/workloads/migrate-x86-app-to-multi-arch/k8s/overlays/multiarch",
    "gke-samples/workloads/migrate-x86-app-to-multi-arch/k8s/overlays/x86",
    "gke-samples/workloads/migrate-x86-app-to-multi-arch/k8s/overlays/x86_increase_replicas",
]


def needs_kustomize() -> None:
    if not (shutil.which("kustomize") or shutil.which("kubectl")):
        pytest.skip("neither kustomize nor kubectl is on PATH")


def kubectl_kustomize(directory: Path) -> str:
    tool = shutil.which("kustomize")
    cmd = [tool, "build", str(directory)] if tool else \
        [str(shutil.which("kubectl")), "kustomize", str(directory)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def documents(text: str) -> list[Any]:
    docs = [d for d in yamlio.load_documents(text)]
    assert all(isinstance(d, yamlio.Document) for d in docs), docs
    return [d.data for d in docs if isinstance(d, yamlio.Document) and d.data is not None]


def assert_same_as_kustomize(directory: Path) -> int:
    ours = kustomize.build(directory)
    assert ours is not None, f"declined: {directory}"
    expected = documents(kubectl_kustomize(directory))
    got = documents(ours)
    assert [(d["kind"], d["metadata"]["name"]) for d in got] == \
        [(d["kind"], d["metadata"]["name"]) for d in expected], directory
    assert got == expected, directory
    return len(got)


# --- the claim, on the shared corpus ------------------------------------------------------

@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the repository")
def test_every_corpus_kustomization_built_here_equals_kustomize_output() -> None:
    needs_kustomize()
    accepted: list[Path] = []
    for kfile in sorted(CORPUS.rglob("kustomization.y*ml")):
        if kustomize.build(kfile.parent) is None:
            continue
        assert_same_as_kustomize(kfile.parent)
        accepted.append(kfile.parent)
    overlays = [CORPUS / rel for rel in CORPUS_OVERLAYS]
    assert [d for d in overlays if d not in accepted] == []
    assert len(overlays) == 11
    # The corpus' other non-plain kustomizations use generators, replacements, images,
    # `namespace`, JSON 6902 patches, remote resources or files outside their root: declined.
    for kfile in sorted(CORPUS.rglob("kustomization.y*ml")):
        if render.plain_resources(kfile.parent) is None and kfile.parent not in overlays:
            assert kustomize.build(kfile.parent) is None, kfile.parent


# --- fixtures, one feature each, compared with kustomize ---------------------------------

@pytest.mark.parametrize("name", [
    "prefix-suffix-refs",  # prefix + suffix, configMap/secret/SA/service/PVC/role refs, CRD
    "nested/overlay",  # two levels of prefix, a suffix, labels and commonLabels, legacy sort
    "nested/mid",
    "labels",  # includeSelectors true/false, includeTemplates, commonLabels
    "patches",  # target regex/labelSelector/annotationSelector, SMP, $patch: delete, inline
])
def test_fixture_equals_kustomize_output(name: str) -> None:
    needs_kustomize()
    assert assert_same_as_kustomize(FIXTURES / name) > 0


def test_names_and_references_follow_the_prefix_and_suffix() -> None:
    text = kustomize.build(FIXTURES / "prefix-suffix-refs")
    assert text is not None
    objs = {(d["kind"], d["metadata"]["name"]): d for d in documents(text)}
    assert ("Namespace", "shop") in objs  # kustomize does not rename namespaces
    assert ("CustomResourceDefinition", "widgets.example.com") in objs  # nor CRDs
    pod = objs[("Deployment", "shop-api-v2")]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "shop-api-v2"
    assert pod["volumes"][0]["configMap"]["name"] == "shop-settings-v2"
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["UNRELATED"]["valueFrom"]["configMapKeyRef"]["name"] == \
        "not-in-this-kustomization"
    binding = objs[("RoleBinding", "shop-api-reader-v2")]
    assert binding["roleRef"]["name"] == "shop-reader-v2"
    assert binding["subjects"][0]["name"] == "shop-api-v2"


def test_patches_merge_by_key_in_kustomize_order_and_delete() -> None:
    text = kustomize.build(FIXTURES / "patches")
    assert text is not None
    objs = {(d["kind"], d["metadata"]["name"]): d for d in documents(text)}
    assert ("Deployment", "legacy") not in objs and ("ConfigMap", "obsolete") not in objs
    web = objs[("Deployment", "web-frontend")]
    containers = web["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["sidecar", "app"]  # the patch's elements first
    assert containers[1]["env"] == [{"name": "LOG_LEVEL", "value": "debug"},
                                    {"name": "NEW_VAR", "value": "1"}]
    assert "limits" not in containers[1]["resources"]
    assert objs[("ConfigMap", "cfg")]["data"] == {"color": "green"}
    worker = objs[("Deployment", "worker")]["spec"]
    assert worker["replicas"] == 5
    assert worker["template"]["spec"]["containers"][0]["args"] == ["--queue", "high"]
    assert "tolerations" not in objs[("Deployment", "web-backend")]["spec"]["template"]["spec"]


# --- what must decline ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["crd-patch", "json6902-patch", "missing-patch-file",
                                  "duplicate-ids"])
def test_unsupported_fixture_declines(name: str) -> None:
    assert kustomize.build(FIXTURES / "decline" / name) is None


UNSUPPORTED_FIELDS = {
    "namespace": "namespace: shop\n",
    "configMapGenerator": "configMapGenerator:\n- name: gen\n  literals: [a=b]\n",
    "secretGenerator": "secretGenerator:\n- name: gen\n  literals: [a=b]\n",
    "generatorOptions": "generatorOptions:\n  disableNameSuffixHash: true\n",
    "images": "images:\n- name: example/api\n  newTag: '2.0'\n",
    "replicas": "replicas:\n- name: api\n  count: 3\n",
    "replacements": "replacements:\n- source: {kind: ConfigMap, name: settings, "
                    "fieldPath: data.MODE}\n  targets:\n  - select: {kind: Deployment}\n"
                    "    fieldPaths: [metadata.annotations.mode]\n",
    "components": "components:\n- ../comp\n",
    "configurations": "configurations:\n- config.yaml\n",
    "crds": "crds:\n- crd.json\n",
    "vars": "vars:\n- name: MODE\n  objref: {kind: ConfigMap, name: settings, apiVersion: v1}\n",
    "openapi": "openapi:\n  path: schema.json\n",
    "helmCharts": "helmCharts:\n- name: chart\n",
    "sortOptions": "sortOptions:\n  order: fifo\n",
    "commonAnnotations": "commonAnnotations:\n  team: a\n",
    "patchesJson6902": "patchesJson6902:\n- target: {kind: Deployment, name: api, group: apps, "
                       "version: v1}\n  patch: '[{\"op\": \"remove\", \"path\": \"/spec\"}]'\n",
    "transformers": "transformers:\n- t.yaml\n",
    "generators": "generators:\n- g.yaml\n",
    "validators": "validators:\n- v.yaml\n",
    "buildMetadata": "buildMetadata: [originAnnotations]\n",
    "labels.fields": "labels:\n- pairs: {a: b}\n  fields:\n  - path: spec/x\n    kind: Foo\n",
    "patches.options": "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n"
                       "    metadata: {name: renamed}\n  target: {kind: Deployment}\n"
                       "  options: {allowNameChange: true}\n",
}


@pytest.mark.parametrize("field", sorted(UNSUPPORTED_FIELDS))
def test_each_unsupported_field_declines(field: str, tmp_path: Path) -> None:
    base = FIXTURES / "decline" / "fields-base"
    work = tmp_path / "k"
    shutil.copytree(base, work)
    assert kustomize.build(work) is not None  # the base alone is in the subset
    with (work / "kustomization.yaml").open("a") as f:
        f.write(UNSUPPORTED_FIELDS[field])
    assert kustomize.build(work) is None


@pytest.mark.parametrize("patch", [
    # a list whose merge semantics the subset does not know (container ports: two keys)
    "spec:\n  template:\n    spec:\n      containers:\n      - name: api\n"
    "        ports: [{containerPort: 80}]\n",
    "$patch: replace\nspec: {}\n",  # a directive it does not implement
    "spec:\n  $retainKeys: [replicas]\n",
    "spec:\n  template:\n    spec:\n      volumes:\n      - name: x\n        emptyDir: {}\n",
])
def test_unsure_patches_decline(patch: str, tmp_path: Path) -> None:
    work = tmp_path / "k"
    shutil.copytree(FIXTURES / "decline" / "fields-base", work)
    (work / "patch.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n" + patch)
    with (work / "kustomization.yaml").open("a") as f:
        f.write("patches:\n- path: patch.yaml\n")
    assert kustomize.build(work) is None


def test_a_cycle_or_a_file_outside_the_root_declines(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "kustomization.yaml").write_text("resources: [../b]\n")
    (b / "kustomization.yaml").write_text("resources: [../a]\n")
    assert kustomize.build(a) is None
    (b / "kustomization.yaml").write_text("resources: [../outside.yaml]\n")
    (tmp_path / "outside.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                           "  name: x\n")
    assert kustomize.build(b) is None


def test_render_uses_the_subset_without_starting_kubectl(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    def no_run(cmd: list[str], label: str) -> Any:
        raise AssertionError(f"kubectl started: {cmd}")

    monkeypatch.setattr(render, "_run", no_run)
    rendered = render.render("kustomize", FIXTURES / "nested" / "overlay")
    assert isinstance(rendered, render.Rendered) and rendered.tool == "kustomize"
    names = [d["metadata"]["name"] for d in documents(rendered.text)]
    assert names == ["top-cfg-o", "top-beta-o", "top-beta-o", "top-mid-alpha"]


def test_the_subset_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[list[str]] = []

    def fake_run(cmd: list[str], label: str) -> str:
        runs.append(cmd)
        return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kubectl\n"

    monkeypatch.setattr(render, "_run", fake_run)  # kubectl itself is not needed to see it asked
    monkeypatch.setenv("KUBEWARD_KUSTOMIZE_SUBSET", "0")
    monkeypatch.setenv("KUBEWARD_RENDER_CACHE", "0")
    if not (shutil.which("kustomize") or shutil.which("kubectl")):
        pytest.skip("neither kustomize nor kubectl is on PATH")
    rendered = render.render("kustomize", FIXTURES / "nested" / "overlay")
    assert isinstance(rendered, render.Rendered) and "from-kubectl" in rendered.text
    assert len(runs) == 1


def test_strings_that_look_like_booleans_stay_strings(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\nnamePrefix: p-\n")
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
        "data: {a: 'y', b: 'n', c: 'yes', d: '0755', e: '=', f: '2024-01-01', g: 'null'}\n")
    text = kustomize.build(tmp_path)
    assert text is not None
    [cm] = documents(text)
    assert cm["data"] == {"a": "y", "b": "n", "c": "yes", "d": "0755", "e": "=",
                          "f": "2024-01-01", "g": "null"}


def test_yaml_that_kustomize_reads_differently_declines(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\nnamePrefix: p-\n")
    # a key given twice: kustomize (kyaml) keeps the first, PyYAML the last
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {a: '1'}\ndata: {a: '2'}\n")
    assert kustomize.build(tmp_path) is None
    # `y` is a string to kustomize (YAML 1.2) and a boolean to go-yaml v2 readers
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n")
    assert kustomize.build(tmp_path) is None
    # anchors and merge keys
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
        "data:\n  base: &b {a: '1'}\n  more:\n    <<: *b\n")
    assert kustomize.build(tmp_path) is None


@pytest.mark.parametrize("value", ["n", "on", "Off", "0777", "1_000", "1e3", "0x1F", "1:20",
                                   "2024-01-02"])
def test_plain_scalars_yaml_1_2_reads_otherwise_decline(value: str, tmp_path: Path) -> None:
    """`image: n` is the string "n" to kustomize (go-yaml v3) and false to this project's
    loader (go-yaml v2 rules): the output would differ, so kubectl renders it."""
    (tmp_path / "kustomization.yaml").write_text("resources: [pod.yaml]\nnamePrefix: p-\n")
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n"
        f"  - name: c\n    image: {value}\n")
    assert kustomize.build(tmp_path) is None
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n"
        f"  - name: c\n    image: '{value}'\n    args: [--port, '8080', -v, 10, 1.5, -2]\n")
    assert kustomize.build(tmp_path) is not None


def test_a_null_in_a_patchs_metadata_declines(tmp_path: Path) -> None:
    """kubectl 1.32 leaves `app: "null"` when a patch deletes a resource's last label."""
    work = tmp_path / "k"
    shutil.copytree(FIXTURES / "decline" / "fields-base", work)
    (work / "patch.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  labels: {app: null}\n")
    with (work / "kustomization.yaml").open("a") as f:
        f.write("patches:\n- path: patch.yaml\n")
    assert kustomize.build(work) is None


# --- differential: random overlays against kubectl ----------------------------------------

_DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                 "serviceAccountName": "app",
                 "containers": [
                     {"name": "main", "image": "nginx:1.25",
                      "env": [{"name": "A", "value": "1"},
                              {"name": "P", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "p"}}}],
                      "envFrom": [{"configMapRef": {"name": "cfg"}}],
                      "volumeMounts": [{"name": "c", "mountPath": "/c"}]},
                     {"name": "side", "image": "busybox:1.36", "args": ["sleep", "1"]}],
                 "volumes": [{"name": "c", "configMap": {"name": "cfg"}},
                             {"name": "s", "secret": {"secretName": "creds"}}]}}}}
_BASE_OBJECTS: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"A": "1"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"p": "x"}},
    _DEPLOYMENT,
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
     "subjects": [{"kind": "ServiceAccount", "name": "app"}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader"},
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
     "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
         "service": {"name": "web", "port": {"number": 80}}}}]}}]}},
    {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "job"},
     "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
         "restartPolicy": "Never",
         "containers": [{"name": "j", "image": "busybox",
                         "envFrom": [{"secretRef": {"name": "creds"}}]}]}}}}}},
]
_PATCHES: list[dict[str, Any]] = [
    {"kind": "Deployment", "name": "web", "body": {"spec": {"replicas": 5}}},
    {"kind": "Deployment", "name": "web", "body": {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.27", "env": [{"name": "B", "value": "2"}]}]}}}}},
    {"kind": "Deployment", "name": "web", "body": {"spec": {"template": {"spec": {"containers": [
        {"name": "side", "$patch": "delete"}]}}}}},
    {"kind": "Deployment", "name": "web", "body": {"spec": {"template": {"spec": {"containers": [
        {"name": "new", "image": "redis:7"}]}}}}},
    {"kind": "Deployment", "name": "web", "body": {"spec": {"template": {"spec": {
        "volumes": [{"name": "c", "configMap": {"name": "cfg", "optional": True}}],
        "nodeSelector": {"disk": "ssd"}}}}}},
    {"kind": "ConfigMap", "name": "cfg", "body": {"data": {"B": "2", "A": None}}},
    {"kind": "Service", "name": "web", "body": {"spec": {"type": "NodePort"}}},
    {"kind": "Deployment", "name": "web", "labels": {"app": None}, "body": {}},
]
_API = {"Deployment": "apps/v1", "ConfigMap": "v1", "Service": "v1"}


def _random_overlay(rng: random.Random, root: Path) -> Path:
    """A base of some of `_BASE_OBJECTS` and an overlay with a random mix of the subset's
    fields (prefix, suffix, labels in both spellings, the three ways to write a patch)."""
    base, overlay = root / "base", root / "overlay"
    base.mkdir(parents=True)
    overlay.mkdir()
    objs = rng.sample(_BASE_OBJECTS, rng.randint(3, len(_BASE_OBJECTS)))
    import yaml

    (base / "all.yaml").write_text(yaml.safe_dump_all(objs, sort_keys=False))
    k: dict[str, Any] = {"resources": ["all.yaml"]}
    if rng.random() < 0.4:
        k["namePrefix"] = "b-"
    if rng.random() < 0.3:
        k["commonLabels"] = {"base": "yes"}
    (base / "kustomization.yaml").write_text(yaml.safe_dump(k))
    k = {"resources": ["../base"]}
    if rng.random() < 0.6:
        k["namePrefix"] = rng.choice(["prod-", "x-"])
    if rng.random() < 0.6:
        k["nameSuffix"] = rng.choice(["-v2", "-eu"])
    r = rng.random()
    if r < 0.3:
        k["commonLabels"] = {"env": "prod"}
    elif r < 0.6:
        entry: dict[str, Any] = {"pairs": {"env": "prod", "team": "a"}}
        for option in ("includeSelectors", "includeTemplates"):
            if rng.random() < 0.5:
                entry[option] = rng.random() < 0.5
        k["labels"] = [entry]
    present = {(o["kind"], o["metadata"]["name"]) for o in objs}
    usable = [p for p in _PATCHES if (p["kind"], p["name"]) in present]
    patches: list[dict[str, Any]] = []
    for i, p in enumerate(rng.sample(usable, min(len(usable), rng.randint(0, 3)))):
        meta = {"name": p["name"], **({"labels": p["labels"]} if "labels" in p else {})}
        doc = {"apiVersion": _API[p["kind"]], "kind": p["kind"], "metadata": meta, **p["body"]}
        style = rng.random()
        if style < 0.3:
            (overlay / f"p{i}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
            k.setdefault("patchesStrategicMerge", []).append(f"p{i}.yaml")
        elif style < 0.6:
            (overlay / f"p{i}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
            patches.append({"path": f"p{i}.yaml"})
        elif style < 0.8:
            patches.append({"patch": yaml.safe_dump(doc, sort_keys=False)})
        else:
            doc["metadata"] = {**meta, "name": "ignored"}
            name = rng.choice([p["name"], p["name"][:2] + ".*"])
            patches.append({"patch": yaml.safe_dump(doc, sort_keys=False),
                            "target": {"kind": p["kind"], "name": name}})
    if patches:
        k["patches"] = patches
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(k, sort_keys=False))
    return overlay


@pytest.mark.parametrize("seed", range(3))
def test_random_overlays_equal_kustomize_output_or_decline(seed: int, tmp_path: Path) -> None:
    """Differential: every random overlay the subset builds equals kubectl's output (found
    the `null` label and YAML 1.2 cases above before they were declined)."""
    needs_kustomize()
    rng = random.Random(seed)
    built = 0
    for i in range(25):
        overlay = _random_overlay(rng, tmp_path / str(i))
        if kustomize.build(overlay) is not None:
            assert_same_as_kustomize(overlay)
            built += 1
    assert built >= 5  # the generator must keep exercising the subset


# --- regressions found by a wider differential fuzz (kustomize v5.5) ----------------------

def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


_SHARED_LABEL_BASE = {
    "base/r.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                   "  name: a\nspec:\n  podSelector:\n    matchLabels: {app: x}\n---\n"
                   "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n"
                   "  labels: {tier: own}\nspec:\n  selector:\n    matchLabels: {app: x}\n"
                   "  template:\n    metadata:\n      labels: {app: x}\n    spec:\n"
                   "      containers: [{name: c, image: i}]\n",
    "base/kustomization.yaml": "resources: [r.yaml]\ncommonLabels: {tier: t, zz: z}\n",
}


@pytest.mark.parametrize("overlay", [
    # a patch of one field the base's commonLabels created changes all of them
    "resources: [../base]\npatches:\n- patch: |\n    apiVersion: networking.k8s.io/v1\n"
    "    kind: NetworkPolicy\n    metadata:\n      name: a\n      labels: {tier: a}\n",
    # ... from the selector side too
    "resources: [../base]\npatches:\n- patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n"
    "    metadata:\n      name: a\n    spec:\n      selector:\n        matchLabels: {zz: s}\n",
    # a metadata-only label over a created label: the selectors follow
    "resources: [../base]\nlabels:\n- pairs: {zz: o, tier: o}\n",
    # the same within one kustomization, entry after entry
    "resources: [../base]\nlabels:\n- pairs: {k: one}\n  includeSelectors: true\n"
    "- pairs: {k: two}\n",
])
def test_fields_one_label_transformer_created_change_together(overlay: str,
                                                               tmp_path: Path) -> None:
    """kyaml's SetEntry puts one node per resource and key in every field it creates, and
    later writes copy into that node: kustomize changes them all (the Deployment's own
    `tier: own` label is not shared and is written alone)."""
    needs_kustomize()
    _write(tmp_path, {**_SHARED_LABEL_BASE, "overlay/kustomization.yaml": overlay})
    assert_same_as_kustomize(tmp_path / "overlay")


def test_a_shared_label_patched_to_a_non_string_declines(tmp_path: Path) -> None:
    _write(tmp_path, {**_SHARED_LABEL_BASE, "overlay/kustomization.yaml":
                      "resources: [../base]\npatches:\n- patch: |\n    apiVersion: apps/v1\n"
                      "    kind: Deployment\n    metadata:\n      name: a\n"
                      "      labels: {zz: 5}\n"})
    assert kustomize.build(tmp_path / "overlay") is None


def _workload(api: str, kind: str, extra: str = "") -> str:
    return (f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: a}}\nspec:\n{extra}"
            "  template:\n    spec:\n      containers: [{name: c, image: i}]\n")


def test_hpa_references_follow_kustomizes_sorted_referral_order(tmp_path: Path) -> None:
    """kustomize sorts the nameReference table by kind (legacy order: Deployment,
    StatefulSet, then ReplicaSet, ReplicationController), not namereference.go's order;
    the first kind that renames the field wins."""
    needs_kustomize()
    files = {
        "rs/r.yaml": _workload("apps/v1", "ReplicaSet"),
        "rs/kustomization.yaml": "resources: [r.yaml]\nnamePrefix: r-\n",
        "ss/r.yaml": _workload("apps/v1", "StatefulSet", "  serviceName: x\n"),
        "ss/kustomization.yaml": "resources: [r.yaml]\nnamePrefix: s-\n",
        "rc/r.yaml": _workload("v1", "ReplicationController"),
        "rc/kustomization.yaml": "resources: [r.yaml]\nnamePrefix: c-\n",
        "hpa.yaml": "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
                    "metadata: {name: h}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, "
                    "kind: StatefulSet, name: a}\n  maxReplicas: 3\n",
    }
    _write(tmp_path, files)
    for resources, expected in (("rs, ss", "s-a"), ("rc, rs", "r-a"), ("rc, ss", "s-a")):
        (tmp_path / "kustomization.yaml").write_text(f"resources: [{resources}, hpa.yaml]\n")
        text = kustomize.build(tmp_path)
        assert text is not None
        [hpa] = [d for d in documents(text) if d["kind"] == "HorizontalPodAutoscaler"]
        assert hpa["spec"]["scaleTargetRef"]["name"] == expected
        assert_same_as_kustomize(tmp_path)


def test_more_name_reference_rows_of_kustomize_5_5(tmp_path: Path) -> None:
    """PodTemplate's ConfigMap and Secret references are fixed (not its service account,
    claim or priority class); Ingress spec/tls/secretName is fixed twice (namereference.go
    lists it twice); a Knative Service's ConfigMap references are not fixed."""
    needs_kustomize()
    pod = ("    serviceAccountName: a\n    priorityClassName: a\n"
           "    imagePullSecrets: [{name: a}]\n    containers:\n    - name: c\n"
           "      env:\n      - {name: X, valueFrom: {configMapKeyRef: {name: a, key: k}}}\n"
           "      - {name: Z, valueFrom: {secretKeyRef: {name: a, key: k}}}\n"
           "      envFrom: [{configMapRef: {name: a}}, {secretRef: {name: a}}]\n"
           "    volumes:\n    - {name: v1, configMap: {name: a}}\n"
           "    - {name: v2, secret: {secretName: a}}\n"
           "    - {name: v3, persistentVolumeClaim: {claimName: a}}\n"
           "    - {name: v4, projected: {sources: [{configMap: {name: a}}, "
           "{secret: {name: a}}]}}\n")
    docs = [
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: p-a}\n",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: a}\n",
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: a}\n"
        "value: 1\n",
        "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: t}\ntemplate:\n  spec:\n" + pod,
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n"
        "  tls: [{secretName: a}]\n",
        "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: k}\nspec:\n"
        "  template:\n    spec:\n      containers:\n      - name: c\n        env:\n"
        "        - {name: X, valueFrom: {configMapKeyRef: {name: a, key: k}}}\n"
        "        - {name: Z, valueFrom: {secretKeyRef: {name: p-a, key: k}}}\n"
        "        envFrom: [{configMapRef: {name: a}}]\n",
    ]
    _write(tmp_path, {"r.yaml": "---\n".join(docs),
                      "kustomization.yaml": "resources: [r.yaml]\nnamePrefix: p-\n"})
    text = kustomize.build(tmp_path)
    assert text is not None
    objs = {(d["kind"], d["metadata"]["name"]): d for d in documents(text)}
    spec = objs[("PodTemplate", "p-t")]["template"]["spec"]
    assert spec["containers"][0]["envFrom"] == [{"configMapRef": {"name": "p-a"}},
                                                {"secretRef": {"name": "p-a"}}]
    assert (spec["serviceAccountName"], spec["priorityClassName"]) == ("a", "a")
    assert spec["volumes"][2]["persistentVolumeClaim"]["claimName"] == "a"
    assert objs[("Ingress", "p-i")]["spec"]["tls"] == [{"secretName": "p-p-a"}]
    knative = objs[("Service", "p-k")]["spec"]["template"]["spec"]["containers"][0]
    assert knative["envFrom"] == [{"configMapRef": {"name": "a"}}]
    assert knative["env"][1]["valueFrom"]["secretKeyRef"]["name"] == "p-p-a"
    assert_same_as_kustomize(tmp_path)


@pytest.mark.parametrize("value", ["1", "true", "{x: y}", "null", "1.5"])
def test_annotations_that_are_not_strings_decline(value: str, tmp_path: Path) -> None:
    """kustomize writes them as strings (`i: 1` -> `i: "1"`, a map -> `""`)."""
    _write(tmp_path, {"kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: p-\n",
                      "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                                 f"  annotations: {{a: {value}}}\n"})
    assert kustomize.build(tmp_path) is None
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {a: 'v'}\n")
    assert kustomize.build(tmp_path) is not None


_DELETE_CM = "    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n    $patch: delete\n"
_SCALE_API = "    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: api}\n" \
             "    spec: {replicas: 2}\n"


@pytest.mark.parametrize("entry", [
    # "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set
    # `patches.target` field"
    "- patch: |\n" + _SCALE_API + "    ---\n" + _SCALE_API + "  target: {kind: Deployment}\n",
    # kustomize v5.5 panics (nil pointer) on the patch after one that deleted an object
    "- patch: |\n" + _DELETE_CM + "    ---\n" + _SCALE_API,
])
def test_patch_entries_kustomize_fails_on_decline(entry: str, tmp_path: Path) -> None:
    work = tmp_path / "k"
    shutil.copytree(FIXTURES / "decline" / "fields-base", work)
    (work / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    head = "resources: [app.yaml, cm.yaml]\npatches:\n"
    (work / "kustomization.yaml").write_text(head + entry)
    assert kustomize.build(work) is None
    # the same documents, a deletion last, are in the subset
    (work / "kustomization.yaml").write_text(
        head + "- patch: |\n" + _SCALE_API + "    ---\n" + _DELETE_CM)
    assert kustomize.build(work) is not None


@pytest.mark.parametrize(("role_ref", "expected"), [
    ("{apiGroup: '', kind: Role, name: a}", "p-a"),  # an empty apiGroup selects any group
    ("{apiGroup: rbac.authorization.k8s.io, kind: '', name: a}", "p-a"),
    ("{kind: ClusterRole, name: a}", "p-a"),  # no apiGroup: roleRef is not consulted
    ("{apiGroup: other.io, kind: ClusterRole, name: a}", "a"),
])
def test_role_ref_selects_referrals_as_kustomize_does(role_ref: str, expected: str,
                                                      tmp_path: Path) -> None:
    needs_kustomize()
    rbac = "apiVersion: rbac.authorization.k8s.io/v1\n"
    _write(tmp_path, {
        "kustomization.yaml": "resources: [r.yaml]\nnamePrefix: p-\n",
        "r.yaml": f"{rbac}kind: Role\nmetadata: {{name: a}}\n---\n"
                  f"{rbac}kind: ClusterRole\nmetadata: {{name: a}}\n---\n"
                  f"{rbac}kind: RoleBinding\nmetadata: {{name: rb}}\nroleRef: {role_ref}\n"})
    text = kustomize.build(tmp_path)
    assert text is not None
    [binding] = [d for d in documents(text) if d["kind"] == "RoleBinding"]
    assert binding["roleRef"]["name"] == expected
    assert_same_as_kustomize(tmp_path)


@pytest.mark.parametrize("api_kind", [
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),  # cluster-scoped: one id to kustomize
    ("v1", "PersistentVolume"),
    ("storage.k8s.io/v1", "CSIDriver"),  # a scope this module does not know
    ("v1", "StorageClass"),  # namespaced to kustomize (wrong group), unknown here
])
def test_one_name_in_two_namespaces_of_a_cluster_scoped_kind_declines(
        api_kind: tuple[str, str], tmp_path: Path) -> None:
    api, kind = api_kind
    doc = f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: x, namespace: NS}}\n"
    _write(tmp_path, {"kustomization.yaml": "resources: [r.yaml]\n",
                      "r.yaml": doc.replace("NS", "a") + "---\n" + doc.replace("NS", "b")})
    assert kustomize.build(tmp_path) is None


def test_one_name_in_two_namespaces_of_namespaced_kinds_builds(tmp_path: Path) -> None:
    needs_kustomize()
    docs = [f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: x, namespace: {ns}}}\n"
            for api, kind in (("v1", "ConfigMap"), ("x.io/v1", "Widget"),
                              ("x.io/v1", "ClusterRole"))
            for ns in ("a", "b")]
    _write(tmp_path, {"kustomization.yaml": "resources: [r.yaml]\n", "r.yaml": "---\n".join(docs)})
    assert assert_same_as_kustomize(tmp_path) == 6


def test_cluster_scope_is_by_group_and_kind(tmp_path: Path) -> None:
    """`x.io/v1 Node` is namespaced to kustomize: in another namespace than the ConfigMap it
    names, kustomize leaves the reference; the subset declines (it did rename it)."""
    needs_kustomize()
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns1}\n"
    node = "apiVersion: v1\nkind: Node\nmetadata: {name: real}\n" \
           "spec:\n  configSource: {configMap: c}\n"
    _write(tmp_path, {"kustomization.yaml": "resources: [r.yaml]\nnamePrefix: p-\n",
                      "r.yaml": cm + "---\n" + node})
    text = kustomize.build(tmp_path)
    assert text is not None
    assert next(d for d in documents(text) if d["kind"] == "Node")["spec"] == \
        {"configSource": {"configMap": "p-c"}}
    assert_same_as_kustomize(tmp_path)
    (tmp_path / "r.yaml").write_text(cm + "---\n" + node.replace("v1\n", "x.io/v1\n", 1)
                                     .replace("{name: real}", "{name: real, namespace: ns2}"))
    assert kustomize.build(tmp_path) is None
