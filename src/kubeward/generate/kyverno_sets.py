"""The seed's Kyverno ClusterPolicies, written from the Kyverno policy library.

Upstream (github.com/kyverno/policies):

* ``other/verify-image/verify-image.yaml`` (public key) and the keyless attestor form of
  https://kyverno.io/docs/writing-policies/verify-images/sigstore/ (``attestors[].entries[]
  .keyless.{subject,issuer,rekor.url}``);
* ``other/add-default-securitycontext/add-default-securitycontext.yaml``: ``+(field)``
  add-if-absent anchors in a ``patchStrategicMerge``; extended, as the checklist's mutate
  policy does, with the restricted-profile container fields through ``foreach`` over the
  containers (the per-container form of the library's ``add-default-securitycontext``
  variants), keyed by the ``(name)`` conditional anchor;
* ``best-practices/restrict-image-registries/restrict-image-registries.yaml``: the
  ``"a/* | b/*"`` alternatives pattern on containers, and on init and ephemeral containers
  with the ``=()`` equality anchor (validated only when present).

The registry rule is built by :func:`kubeward.generate.seeds.image_gate_policy` (shared
with `kubeward plan`), so both commands write the same pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeward.generate.policies import GenerateError, boolean, split_list
from kubeward.generate.seeds import image_gate_policy

__all__ = ["add_default_securitycontext", "restrict_image_registries", "verify_image_signature"]

_MANAGED = {"app.kubernetes.io/managed-by": "kubeward"}
_POD = {"any": [{"resources": {"kinds": ["Pod"]}}]}


def _meta(name: str, title: str, category: str, severity: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "labels": dict(_MANAGED),
        "annotations": {
            "policies.kyverno.io/title": title,
            "policies.kyverno.io/category": category,
            "policies.kyverno.io/severity": severity,
            "policies.kyverno.io/subject": "Pod",
            "policies.kyverno.io/description": description,
        },
    }


def verify_image_signature(params: Mapping[str, str], namespace: str) -> list[Any]:
    """Images matching ``images`` must be signed: keyless (Fulcio certificate with the
    given subject and issuer, logged in Rekor) or, with ``public-key``, by that key.

    With ``action=Enforce``, ``mutateDigest`` (upstream default) pins the verified digest
    into the pod and ``verifyDigest`` requires it; with ``Audit`` both are off, because
    Kyverno 1.10+ rejects an Audit policy that mutates digests (kyverno/kyverno#6757).
    Webhook timeout and failurePolicy as in the Kyverno docs' sample (registry calls take
    time, and an unverifiable image must not slip through when Kyverno is down)."""
    enforce = params["action"] == "Enforce"
    images = split_list(params["images"])
    if not images:
        raise GenerateError("--param images: give at least one image reference")
    key = params["public-key"].strip()
    rekor = {"url": params["rekor-url"]}
    if key:
        if "BEGIN PUBLIC KEY" not in key:
            raise GenerateError("--param public-key: not a PEM public key "
                                "(-----BEGIN PUBLIC KEY-----); use @FILE to read one")
        entry: dict[str, Any] = {"keys": {"publicKeys": key + "\n" if not key.endswith("\n") else key,
                                          "rekor": rekor}}
    else:
        entry = {"keyless": {"subject": params["subject"], "issuer": params["issuer"],
                             "rekor": rekor}}
    return [{
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": _meta("verify-image-signature", "Verify Image Signature",
                          "Software Supply Chain Security", "high",
                          "Images must be signed with cosign by the trusted identity or key."),
        "spec": {
            "validationFailureAction": params["action"],
            "background": False,
            "webhookTimeoutSeconds": 30,
            "failurePolicy": "Fail",
            "rules": [{
                "name": "verify-image-signature",
                "match": _POD,
                "verifyImages": [{
                    "imageReferences": images,
                    "mutateDigest": enforce,
                    "verifyDigest": enforce,
                    "required": True,
                    "attestors": [{"count": 1, "entries": [entry]}],
                }],
            }],
        },
    }]


def _container_patch(field: str, read_only_root: bool) -> dict[str, Any]:
    sc: dict[str, Any] = {
        "+(allowPrivilegeEscalation)": False,
        "+(capabilities)": {"drop": ["ALL"]},
    }
    if read_only_root:
        sc["+(readOnlyRootFilesystem)"] = True
    return {
        "list": f"request.object.spec.{field}",
        "patchStrategicMerge": {"spec": {field: [{"(name)": "{{ element.name }}",
                                                   "securityContext": sc}]}},
    }


def add_default_securitycontext(params: Mapping[str, str], namespace: str) -> list[Any]:
    """Mutate pods so they meet Pod Security `restricted` unless they say otherwise.

    Every field uses the ``+()`` add-if-absent anchor: an explicit value in the pod
    (``readOnlyRootFilesystem: false`` for an app that writes to its root, ``runAsUser``
    of the image's user) always wins. Pod level: runAsNonRoot, runAsUser/runAsGroup/
    fsGroup (upstream's values), seccompProfile RuntimeDefault and, unless
    ``automount=false``, automountServiceAccountToken false. Containers and init
    containers: allowPrivilegeEscalation false, capabilities drop ALL and, unless
    ``read-only-root=false``, readOnlyRootFilesystem true. `kubeward fix` applies the same
    fields to manifests."""
    try:
        ids = {k: int(params[k]) for k in ("run-as-user", "run-as-group", "fs-group")}
    except ValueError as err:
        raise GenerateError(f"run-as-user/run-as-group/fs-group must be integers: {err}") from None
    if ids["run-as-user"] == 0:
        raise GenerateError("--param run-as-user=0 contradicts runAsNonRoot")
    pod_spec: dict[str, Any] = {
        "securityContext": {
            "+(runAsNonRoot)": True,
            "+(runAsUser)": ids["run-as-user"],
            "+(runAsGroup)": ids["run-as-group"],
            "+(fsGroup)": ids["fs-group"],
            "+(seccompProfile)": {"type": "RuntimeDefault"},
        },
    }
    if boolean("automount", params["automount"]):
        pod_spec["+(automountServiceAccountToken)"] = False
    read_only = boolean("read-only-root", params["read-only-root"])
    return [{
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": _meta("add-default-securitycontext", "Add Default securityContext", "Sample",
                          "medium",
                          "Adds the Pod Security restricted securityContext fields a pod "
                          "leaves unset; values the pod sets are kept."),
        "spec": {
            "background": False,
            "rules": [
                {"name": "add-default-pod-securitycontext", "match": _POD,
                 "mutate": {"patchStrategicMerge": {"spec": pod_spec}}},
                {"name": "add-default-container-securitycontext", "match": _POD,
                 "mutate": {"foreach": [_container_patch("containers", read_only)]}},
                {"name": "add-default-initcontainer-securitycontext", "match": _POD,
                 "preconditions": {"all": [{
                     "key": "{{ request.object.spec.initContainers[] || `[]` | length(@) }}",
                     "operator": "GreaterThanOrEquals", "value": 1}]},
                 "mutate": {"foreach": [_container_patch("initContainers", read_only)]}},
            ],
        },
    }]


def restrict_image_registries(params: Mapping[str, str], namespace: str) -> list[Any]:
    """Only images from ``registries`` (each a prefix such as ``ghcr.io/acme/``); with
    ``disallow-latest=true`` also Kyverno's disallow-latest-tag rules. Upstream starts in
    Audit: check the policy report, then switch ``action`` to Enforce."""
    registries = split_list(params["registries"])
    if not registries:
        raise GenerateError("--param registries: give at least one registry")
    gate = image_gate_policy(registries)
    rules: list[dict[str, Any]] = gate["spec"]["rules"]
    if not boolean("disallow-latest", params["disallow-latest"]):
        rules = [r for r in rules if r["name"] == "allowed-registries"]
    for rule in rules:
        pattern = rule["validate"]["pattern"]["spec"]
        image = pattern["containers"][0]["image"]
        # upstream checks every container list; =() keeps the optional ones optional
        rule["validate"]["pattern"]["spec"] = {
            "=(ephemeralContainers)": [{"image": image}],
            "=(initContainers)": [{"image": image}],
            "containers": [{"image": image}],
        }
    for rule in rules:
        if rule["name"] == "allowed-registries":
            rule["name"] = "validate-registries"
    return [{
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": _meta("restrict-image-registries", "Restrict Image Registries",
                          "Best Practices", "medium",
                          f"Images must come from: {', '.join(registries)}."),
        "spec": {"validationFailureAction": params["action"], "background": True,
                 "rules": rules},
    }]
