"""Good and bad example pods for the generated Kyverno policies, as a Kyverno CLI test
suite (`kyverno-test.yaml`) that `kubeward policy test DIR` (or `kyverno test DIR`) runs.

Format: ``apiVersion: cli.kyverno.io/v1alpha1, kind: Test`` with ``policies``,
``resources`` and ``results`` (``policy``, ``rule``, ``resources``, ``kind``, ``result``;
``patchedResource`` for mutations), as in kyverno/kyverno
pkg/cli/kubectl-kyverno/apis/v1alpha1/test.go and the library's own kyverno-test.yaml files.

Expected outcomes are written by hand here, independently of the generators: a pod from
an allowed registry passes, one from elsewhere fails (also when only an init container
is); the mutate policy turns a bare pod into exactly the expected hardened pod, leaves a
hardened one alone (``skip``: nothing to patch) and keeps explicit values. verifyImages
needs the registry and is not covered (the signature verifier tests it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeward.generate.policies import GenerateError, boolean, get_set, split_list

__all__ = ["SUPPORTED", "policy_test_suite"]

SUPPORTED = ("restrict-image-registries", "add-default-securitycontext")
_UNTRUSTED = "untrusted.example.invalid/app:1.0"


def _pod(name: str, containers: list[dict[str, Any]], namespace: str,
         init: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**spec}
    if init:
        body["initContainers"] = init
    body["containers"] = containers
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace}, "spec": body}


def _row(policy: str, rule: str, names: list[str], result: str, **extra: str) -> dict[str, Any]:
    return {"policy": policy, "rule": rule, "kind": "Pod", "resources": names,
            "result": result, **extra}


def _registries_suite(params: Mapping[str, str], namespace: str) -> tuple[list[Any], list[Any], list[Any]]:
    allowed = split_list(params["registries"])
    good_image = f"{allowed[0].rstrip('/')}/app:1.0"
    good = _pod("good-registry", [{"name": "app", "image": good_image}], namespace,
                init=[{"name": "init", "image": good_image}])
    bad = _pod("bad-registry", [{"name": "app", "image": _UNTRUSTED}], namespace)
    bad_init = _pod("bad-init-registry", [{"name": "app", "image": good_image}], namespace,
                    init=[{"name": "init", "image": _UNTRUSTED}])
    resources = [good, bad, bad_init]
    rows = [_row("restrict-image-registries", "validate-registries", ["good-registry"], "pass"),
            _row("restrict-image-registries", "validate-registries",
                 ["bad-registry", "bad-init-registry"], "fail")]
    if boolean("disallow-latest", params["disallow-latest"]):
        latest = _pod("latest-tag", [{"name": "app", "image": f"{allowed[0].rstrip('/')}/app:latest"}],
                      namespace)
        resources.append(latest)
        rows += [_row("restrict-image-registries", "validate-image-tag", ["good-registry"], "pass"),
                 _row("restrict-image-registries", "validate-image-tag", ["latest-tag"], "fail")]
    return resources, rows, []


def _hardened_container(name: str, read_only: bool, **given: Any) -> dict[str, Any]:
    sc: dict[str, Any] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    if read_only:
        sc["readOnlyRootFilesystem"] = True
    sc.update(given)
    return {"name": name, "image": "ghcr.io/acme/app:1.0", "securityContext": sc}


def _securitycontext_suite(params: Mapping[str, str],
                           namespace: str) -> tuple[list[Any], list[Any], list[Any]]:
    read_only = boolean("read-only-root", params["read-only-root"])
    automount = boolean("automount", params["automount"])
    ids = {"runAsUser": int(params["run-as-user"]), "runAsGroup": int(params["run-as-group"]),
           "fsGroup": int(params["fs-group"])}
    pod_sc = {"runAsNonRoot": True, **ids, "seccompProfile": {"type": "RuntimeDefault"}}
    extra: dict[str, Any] = {"automountServiceAccountToken": False} if automount else {}
    image = "ghcr.io/acme/app:1.0"
    bare = _pod("bare", [{"name": "app", "image": image}], namespace,
                init=[{"name": "init", "image": image}])
    bare_patched = _pod("bare", [_hardened_container("app", read_only)], namespace,
                        init=[_hardened_container("init", read_only)],
                        securityContext=dict(pod_sc), **extra)
    explicit = _pod("explicit", [{"name": "app", "image": image,
                                  "securityContext": {"readOnlyRootFilesystem": False}}],
                    namespace, securityContext={"runAsUser": 5000})
    explicit_patched = _pod("explicit", [_hardened_container("app", read_only,
                                                             readOnlyRootFilesystem=False)],
                            namespace, securityContext={**pod_sc, "runAsUser": 5000}, **extra)
    hardened = _pod("hardened", [_hardened_container("app", True)], namespace,
                    securityContext=dict(pod_sc), automountServiceAccountToken=False)
    policy = "add-default-securitycontext"
    rows = [
        _row(policy, "add-default-pod-securitycontext", ["bare"], "pass",
             patchedResource="patched.yaml"),
        _row(policy, "add-default-container-securitycontext", ["bare", "explicit"], "pass",
             patchedResource="patched.yaml"),
        _row(policy, "add-default-initcontainer-securitycontext", ["bare"], "pass",
             patchedResource="patched.yaml"),
        _row(policy, "add-default-pod-securitycontext", ["explicit"], "pass",
             patchedResource="patched.yaml"),
        _row(policy, "add-default-pod-securitycontext", ["hardened"], "skip"),
        _row(policy, "add-default-container-securitycontext", ["hardened"], "skip"),
        _row(policy, "add-default-initcontainer-securitycontext", ["hardened", "explicit"], "skip"),
    ]
    return [bare, explicit, hardened], rows, [bare_patched, explicit_patched]


def policy_test_suite(set_name: str, params: Mapping[str, str],
                      namespace: str = "default") -> dict[str, list[Any]]:
    """File name -> YAML documents of a Kyverno CLI test suite for SET: ``policy.yaml``,
    ``resources.yaml``, ``patched.yaml`` (mutations) and ``kyverno-test.yaml``."""
    if set_name not in SUPPORTED:
        raise GenerateError(f"--tests: example suites exist for {', '.join(SUPPORTED)}, "
                            f"not {set_name}")
    pset = get_set(set_name)
    policies = pset.build(params, namespace)
    from kubeward.generate.policies import resolve_params

    full = resolve_params(pset, params)
    build = _registries_suite if set_name == "restrict-image-registries" else _securitycontext_suite
    resources, rows, patched = build(full, namespace)
    test: dict[str, Any] = {
        "apiVersion": "cli.kyverno.io/v1alpha1",
        "kind": "Test",
        "metadata": {"name": f"{set_name}-examples"},
        "policies": ["policy.yaml"],
        "resources": ["resources.yaml"],
        "results": rows,
    }
    files: dict[str, list[Any]] = {"policy.yaml": policies, "resources.yaml": resources}
    if patched:
        files["patched.yaml"] = patched
    files["kyverno-test.yaml"] = [test]
    return files
