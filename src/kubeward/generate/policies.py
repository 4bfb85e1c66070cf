"""The registry of `kubeward generate` sets: name, description, parameters, generator.

A set is data plus one generator function named by "module:function"; the module is
imported only when the set is generated (`--list` imports nothing). Every generator has
the signature ``build(params, namespace) -> list[document]`` where ``params`` already holds
every declared parameter (defaults filled in, validated) and each returned item is one
YAML document (a dict for Kubernetes objects; the Falco rules file is a list).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SETS",
    "GenerateError",
    "Param",
    "PolicySet",
    "boolean",
    "get_set",
    "resolve_params",
    "split_list",
]

Builder = Callable[[Mapping[str, str], str], list[Any]]


class GenerateError(ValueError):
    """A usage problem (unknown set or parameter, bad value): one line, exit code 2."""


#: The placeholder container of `projected-token-pod`: a pause image pinned by digest (the
#: digest GKE's own samples pin), so the generated pod passes `image.digest-pin`.
_PAUSE_IMAGE = (
    "gke.gcr.io/pause:3.8@sha256:880e63f94b145e46f1b1082bb71b85e21f16b99b180b9996407d61240ceb9830"
)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    help: str
    default: str | None = None  # None: required
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True, slots=True)
class PolicySet:
    name: str
    summary: str
    target: str  # "module:function", imported lazily
    params: tuple[Param, ...] = ()
    kinds: tuple[str, ...] = ()  # apiVersion/kind of what it writes (docs, dry-run test)
    namespaced: bool = False  # uses -n NAMESPACE
    contains_keys: bool = False  # output holds secret key material
    source: str = ""  # the upstream it follows

    def build(self, params: Mapping[str, str], namespace: str = "default") -> list[Any]:
        """Validate PARAMS (defaults filled) and run the generator."""
        module_name, _, func = self.target.partition(":")
        builder: Builder = getattr(importlib.import_module(module_name), func)
        return builder(resolve_params(self, params), namespace)


def resolve_params(pset: PolicySet, given: Mapping[str, str]) -> dict[str, str]:
    """Defaults plus GIVEN; unknown names, missing required ones and bad choices raise."""
    known = {p.name: p for p in pset.params}
    for name in given:
        if name not in known:
            names = ", ".join(known) or "none"
            raise GenerateError(f"unknown parameter {name!r} for {pset.name} (known: {names})")
    out: dict[str, str] = {}
    for p in pset.params:
        value = given.get(p.name, p.default)
        if value is None:
            raise GenerateError(f"{pset.name} needs --param {p.name}=... ({p.help})")
        if p.choices and value not in p.choices:
            raise GenerateError(f"--param {p.name}={value!r}: use one of {', '.join(p.choices)}")
        out[p.name] = value
    return out


def split_list(value: str) -> list[str]:
    """A comma-separated parameter as a list (blank items dropped)."""
    return [item.strip() for item in value.split(",") if item.strip()]


def boolean(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise GenerateError(f"--param {name}={value!r}: use true or false")


_ACTION = Param("action", "validationFailureAction", "Enforce", ("Enforce", "Audit"))

SETS: tuple[PolicySet, ...] = (
    PolicySet(
        "verify-image-signature",
        "Kyverno verifyImages: images must carry a cosign signature (keyless or public key)",
        "kubeward.generate.kyverno_sets:verify_image_signature",
        (Param("images", "image references to verify, comma-separated globs", "ghcr.io/acme/*"),
         Param("subject", "keyless: certificate subject (signer identity); may end in *",
               "https://github.com/acme/*"),
         Param("issuer", "keyless: OIDC issuer", "https://token.actions.githubusercontent.com"),
         Param("public-key", "PEM public key (or @FILE); when set, key-based instead of keyless", ""),
         Param("rekor-url", "transparency log", "https://rekor.sigstore.dev"),
         _ACTION),
        ("kyverno.io/v1 ClusterPolicy",),
        source="kyverno/policies other/verify-image/verify-image.yaml; "
               "https://kyverno.io/docs/writing-policies/verify-images/sigstore/"),
    PolicySet(
        "add-default-securitycontext",
        "Kyverno mutate: add the restricted securityContext defaults where unset",
        "kubeward.generate.kyverno_sets:add_default_securitycontext",
        (Param("run-as-user", "pod runAsUser added when unset", "1000"),
         Param("run-as-group", "pod runAsGroup added when unset", "3000"),
         Param("fs-group", "pod fsGroup added when unset", "2000"),
         Param("read-only-root", "add readOnlyRootFilesystem: true where unset", "true",
               ("true", "false")),
         Param("automount", "add automountServiceAccountToken: false where unset", "true",
               ("true", "false"))),
        ("kyverno.io/v1 ClusterPolicy",),
        source="kyverno/policies other/add-default-securitycontext/add-default-securitycontext.yaml"),
    PolicySet(
        "restrict-image-registries",
        "Kyverno validate: images only from the allowed registries (optionally no :latest)",
        "kubeward.generate.kyverno_sets:restrict_image_registries",
        (Param("registries", "allowed registry prefixes, comma-separated (e.g. ghcr.io/acme/)"),
         Param("disallow-latest", "also require a tag other than latest", "false",
               ("true", "false")),
         Param("action", "validationFailureAction", "Audit", ("Enforce", "Audit"))),
        ("kyverno.io/v1 ClusterPolicy",),
        source="kyverno/policies best-practices/restrict-image-registries/"
               "restrict-image-registries.yaml"),
    PolicySet(
        "vap-deny-privileged",
        "ValidatingAdmissionPolicy deny-privileged-containers and its Deny binding",
        "kubeward.generate.admission:deny_privileged",
        (Param("api-version", "admissionregistration.k8s.io version (v1 from 1.30, v1beta1 1.28-1.29)",
               "v1", ("v1", "v1beta1")),),
        ("admissionregistration.k8s.io ValidatingAdmissionPolicy",
         "admissionregistration.k8s.io ValidatingAdmissionPolicyBinding"),
        source="https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/"),
    PolicySet(
        "pss-namespace",
        "Namespace with Pod Security Admission labels (enforce, audit, warn)",
        "kubeward.generate.admission:pss_namespace",
        (Param("level", "Pod Security level", "restricted", ("privileged", "baseline", "restricted")),
         Param("version", "policy version (latest or v1.N)", "latest")),
        ("v1 Namespace",), namespaced=True,
        source="https://kubernetes.io/docs/concepts/security/pod-security-admission/"),
    PolicySet(
        "default-deny",
        "default-deny-all NetworkPolicy plus the DNS egress allowance",
        "kubeward.generate.admission:default_deny_set",
        (Param("dns", "add the DNS egress allowance", "true", ("true", "false")),),
        ("networking.k8s.io/v1 NetworkPolicy",), namespaced=True,
        source="https://kubernetes.io/docs/concepts/services-networking/network-policies/"),
    PolicySet(
        "audit-policy",
        "API server audit Policy (audit.k8s.io/v1) for --audit-policy-file",
        "kubeward.generate.audit:audit_policy_set",
        # the parameters of kubeward.detect.auditpolicy.PARAMS (a test keeps them in step)
        (Param("drop-users", "comma-separated users whose requests are not logged", ""),
         Param("drop-namespaces", "comma-separated namespaces whose non-security reads are "
               "not logged", ""),
         Param("body-level", "level for the security-relevant resources", "RequestResponse",
               ("Request", "RequestResponse")),
         Param("default-level", "level for everything else", "Metadata",
               ("None", "Metadata", "Request"))),
        ("audit.k8s.io/v1 Policy",),
        source="https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/"),
    PolicySet(
        "encryption-config",
        "EncryptionConfiguration with fresh random keys, identity last (contains keys!)",
        "kubeward.generate.encryption:encryption_config_set",
        (Param("providers", "providers in order: aescbc, aesgcm, secretbox, kms", "secretbox"),
         Param("resources", "resources to encrypt, comma-separated", "secrets"),
         Param("key-name", "name of the generated keys", "key1"),
         Param("kms-name", "kms v2 plugin name", "kms-plugin"),
         Param("kms-endpoint", "kms v2 plugin socket (placeholder: point it at your plugin)",
               "unix:///var/run/kms-plugin/socket.sock"),
         Param("kms-timeout", "kms v2 call timeout", "3s")),
        ("apiserver.config.k8s.io/v1 EncryptionConfiguration",), contains_keys=True,
        source="https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/"),
    PolicySet(
        "falco-rules",
        "Falco rules: reverse shell (stdio to network) and sensitive file read",
        "kubeward.generate.runtime:falco_rules_set",
        (Param("format", "rules: the rules file; configmap: wrapped for the Falco chart",
               "rules", ("rules", "configmap")),),
        ("Falco rules file", "v1 ConfigMap"), namespaced=True,
        source="falcosecurity/rules rules/falco_rules.yaml"),
    PolicySet(
        "tetragon-policy",
        "Tetragon TracingPolicy: sensitive file reads and writes (security_file_permission)",
        "kubeward.generate.runtime:tetragon_policy_set",
        (Param("action", "what to do on a match: Post (report) or Sigkill", "Post",
               ("Post", "Sigkill")),),
        ("cilium.io/v1alpha1 TracingPolicy",),
        source="cilium/tetragon examples/quickstart/file_monitoring.yaml"),
    PolicySet(
        "external-secret",
        "External Secrets Operator ExternalSecret pulling a secret from a store",
        "kubeward.generate.externalsecret:external_secret_set",
        (Param("name", "ExternalSecret and target Secret name", "app-secrets"),
         Param("store", "SecretStore / ClusterSecretStore name", "vault-backend"),
         Param("store-kind", "store kind", "ClusterSecretStore", ("ClusterSecretStore", "SecretStore")),
         Param("remote-key", "key in the provider (all its properties become Secret keys)",
               "prod/app"),
         Param("refresh", "refresh interval", "1h")),
        ("external-secrets.io/v1 ExternalSecret",), namespaced=True,
        source="https://external-secrets.io/latest/api/externalsecret/"),
    PolicySet(
        "deployer-role",
        "Least-privilege deployer: ServiceAccount, Role and RoleBinding (no secrets, no exec)",
        "kubeward.generate.access:deployer_role_set",
        (Param("service-account", "the deployer's ServiceAccount", "deployer"),
         Param("delete", "also allow deleting what it deploys", "false", ("true", "false"))),
        ("v1 ServiceAccount", "rbac.authorization.k8s.io/v1 Role",
         "rbac.authorization.k8s.io/v1 RoleBinding"), namespaced=True,
        source="https://kubernetes.io/docs/reference/access-authn-authz/rbac/"),
    PolicySet(
        "projected-token-pod",
        "Pod with a bound, short-lived, audience-scoped projected ServiceAccount token",
        "kubeward.generate.access:projected_token_pod_set",
        (Param("name", "pod name", "token-client"),
         Param("service-account", "ServiceAccount of the pod", "token-client"),
         Param("audience", "token audience (the service that validates it)", "vault"),
         Param("expiration", "expirationSeconds, 600 to 3600", "600"),
         Param("image", "container image (pinned by digest)", _PAUSE_IMAGE)),
        ("v1 ServiceAccount", "v1 Pod"), namespaced=True,
        source="https://kubernetes.io/docs/concepts/storage/projected-volumes/"
               "#serviceaccounttoken"),
)

_BY_NAME = {s.name: s for s in SETS}


def get_set(name: str) -> PolicySet:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise GenerateError(f"unknown set {name!r} (known: {', '.join(_BY_NAME)}; "
                            "see kubeward generate --list)") from None
