"""Control-plane settings from static pods and kubelet configuration (CIS Benchmark; items 8, 9, 13).

Where the settings come from:
  * static pods as kubeadm writes them to /etc/kubernetes/manifests (and as a live cluster
    shows their mirror pods): a Pod in kube-system named `kube-apiserver` /
    `kube-apiserver-<node>` or labelled `component=kube-apiserver` (likewise `etcd`,
    `kube-controller-manager`, `kube-scheduler`), whose container runs that binary. The
    command line is `command` + `args`, parsed as the binary parses it
    (`kubeward.k8s.flags`: pflag for Kubernetes components, Go `flag` for etcd, which also
    reads `ETCD_<FLAG>` environment variables for flags not given on the command line);
  * kubelet configuration: a `KubeletConfiguration` object (kubelet.config.k8s.io), or the
    kubeadm ConfigMap kube-system/kubelet-config (key `kubelet`). Command-line flags of the
    kubelet override its config file; they are not visible here.

Each rule is one CIS Kubernetes Benchmark control, with the exact test kube-bench runs for it
(aquasecurity/kube-bench cfg/cis-1.10 master.yaml, etcd.yaml, node.yaml, controlplane.yaml;
the v1.9 numbering of these controls is identical). Where kube-bench compares a string
(`--profiling` "eq false") the value is read as the binary reads it (`--profiling=0` is
false too). Controls the current benchmarks dropped carry the benchmark they come from
(`1.2.18 (V1.20 benchmark)`: the CIS Kubernetes V1.20 Benchmark, kube-bench cfg/cis-1.20).
Control planes that are not static pods (managed services, hosted control planes) are out
of scope: nothing is reported for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kubeward.findings import Severity
from kubeward.inventory.resource import Resource
from kubeward.k8s.flags import (
    BOOL_FLAGS,
    GOFLAG,
    PFLAG,
    Argv,
    Flag,
    Flags,
    FlagValueError,
    container_argv,
    parse_flags,
)
from kubeward.rules.base import Context, Hit, Refs, object_rule

__all__ = ["COMPONENTS", "KubeletConfig", "StaticPod", "kubelet_config", "static_pod"]

APISERVER, CONTROLLER_MANAGER, SCHEDULER, ETCD = (
    "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd",
)
COMPONENTS = (APISERVER, CONTROLLER_MANAGER, SCHEDULER, ETCD)
_SHORT = {APISERVER: "apiserver", CONTROLLER_MANAGER: "controller-manager",
          SCHEDULER: "scheduler", ETCD: "etcd"}

NSA_CP = "NSA-CISA: Network separation and hardening (control plane hardening)"
NSA_AUTH = "NSA-CISA: Authentication and authorization"
NSA_AUDIT = "NSA-CISA: Audit logging and threat detection"
NSA_ETCD = "NSA-CISA: Network separation and hardening (etcd)"
NSA_SECRETS = "NSA-CISA: Secrets (encryption at rest)"
H, M, L = Severity.HIGH, Severity.MEDIUM, Severity.LOW


# --------------------------------------------------------------------------- static pods


@dataclass(slots=True, frozen=True)
class StaticPod:
    """A control-plane component found in a static pod, with its effective flags."""

    component: str
    res: Resource
    container_path: tuple[str | int, ...]  # ("spec", "containers", i)
    flags: Flags
    paths: Mapping[str, tuple[str | int, ...]]  # flag name -> object path of its last occurrence
    fallback_path: tuple[str | int, ...]  # where to point for a missing flag
    written: Mapping[str, str]  # flag name -> its last occurrence as written

    @property
    def name(self) -> str:
        return self.component

    def path_of(self, *names: str) -> tuple[str | int, ...]:
        for name in names:
            if name in self.paths:
                return self.paths[name]
        return self.fallback_path

    def shown(self, name: str) -> str:
        """The setting as written: `--profiling=true`, `ETCD_AUTO_TLS=true (environment)`."""
        return self.written.get(name, f"--{name}")

    @property
    def stray(self) -> str:
        """A note on positional arguments, which the components refuse at start-up."""
        if not self.flags.positional:
            return ""
        args = " ".join(repr(a) for a in self.flags.positional[:3])
        return (f" (and the stray argument {args} stops {self.component} from starting: a "
                "boolean flag takes its value only as --flag=value)")

    def string(self, name: str) -> str | None:
        """A path-like flag: None when unset or set to the empty string."""
        value = self.flags.value(name)
        return value if value else None


def static_pod(res: Resource) -> StaticPod | None:
    """The control-plane component a Pod runs, or None (see the module docstring)."""
    if res.kind != "Pod" or res.namespace not in (None, "kube-system"):
        return None
    spec = res.obj.get("spec")
    items = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(items, list):
        return None
    for component in COMPONENTS:
        if not (res.labels.get("component") == component or res.name == component
                or res.name.startswith(component + "-")):
            continue
        for i, container in enumerate(items):
            if not isinstance(container, dict):
                continue
            argv = container_argv(container)
            start = argv.find_program({component})
            if start is None:
                if container.get("name") != component or argv.has_command:
                    continue
                start = -1  # args only: the image's entrypoint is the binary
            return _build(component, res, ("spec", "containers", i), container, argv, start + 1)
    return None


def _build(component: str, res: Resource, cpath: tuple[str | int, ...],
           container: Mapping[str, Any], argv: Argv, first: int) -> StaticPod:
    style = GOFLAG if component == ETCD else PFLAG
    flags = parse_flags(argv.tokens[first:], bool_flags=BOOL_FLAGS[component], style=style)
    paths: dict[str, tuple[str | int, ...]] = {}
    written: dict[str, str] = {}
    for f in flags.occurrences:
        paths[f.name] = (*cpath, *argv.paths[first + f.token])
        token = argv.tokens[first + f.token]
        if not f.explicit:
            written[f.name] = f"{token} (no value: true)"
        elif "=" in token:
            written[f.name] = token
        else:
            written[f.name] = f"{token} {f.value}"
    if component == ETCD:  # etcd: flags.SetFlagsFromEnv("ETCD", fs) for flags not on the command line
        env = container.get("env")
        for j, var in enumerate(env if isinstance(env, list) else []):
            if not isinstance(var, dict):
                continue
            name, value = var.get("name"), var.get("value")
            if not (isinstance(name, str) and name.startswith("ETCD_") and isinstance(value, str)):
                continue
            flag = name[len("ETCD_"):].lower().replace("_", "-")
            if not flags.has(flag):
                flags.occurrences.append(Flag(flag, value, -1, True))
                paths[flag] = (*cpath, "env", j, "value")
                written[flag] = f"{name}={value} (environment)"
    fallback = (*cpath, "command") if argv.has_command else (*cpath, "args") \
        if isinstance(container.get("args"), list) else cpath
    return StaticPod(component, res, cpath, flags, paths, fallback, written)


def _static_pod(ctx: Context, res: Resource) -> StaticPod | None:
    cache: dict[int, StaticPod | None] = ctx.cache.setdefault("controlplane.static-pods", {})
    key = id(res)
    if key not in cache:
        cache[key] = static_pod(res)
    return cache[key]


StaticCheck = Callable[[StaticPod], Iterator[Hit]]


def _cp_rule(component: str, slug: str, cis: str, title: str, severity: Severity,
             remediation: str, *, checklist: int = 13, nsa: tuple[str, ...] = (NSA_CP,),
             mitre: tuple[str, ...] = ()) -> Callable[[StaticCheck], StaticCheck]:
    """Register `fn(static_pod)` as rule `cis.<component>.<slug>` over Pods."""

    def wrap(fn: StaticCheck) -> StaticCheck:
        def check(ctx: Context, res: Resource) -> Iterable[Hit]:
            # static_pod's own first test, inline: the admission webhook runs these rules on
            # every Pod, nearly all of them in an application namespace
            if res.namespace not in (None, "kube-system"):
                return ()
            sp = _static_pod(ctx, res)
            if sp is None or sp.component != component:
                return ()
            if component == ETCD and sp.string("config-file"):
                return ()  # etcd then ignores every other flag and ETCD_* variable
            return fn(sp)

        check.__doc__ = fn.__doc__
        check.__name__ = check.__qualname__ = fn.__name__
        object_rule(
            kinds=("Pod",),
            id=f"cis.{_SHORT[component]}.{slug}",
            title=title,
            severity=severity,
            checklist=checklist,
            remediation=remediation,
            refs=Refs(cis=(cis,), nsa=nsa, mitre=mitre),
        )(check)
        return fn

    return wrap


# --------------------------------------------------------------------------- test helpers


def _invalid(sp: StaticPod, name: str, err: FlagValueError) -> Hit:
    return Hit(f"{sp.name}: --{name} has an invalid value ({err}); the component will not start",
               sp.path_of(name))


def _boolean(sp: StaticPod, name: str, why: str, *, want: bool, default: bool | None) -> Iterator[Hit]:
    """A boolean flag must be `want`. `default` is what the binary uses when the flag is unset;
    None means an unset flag passes (kube-bench `set: false`)."""
    try:
        value = sp.flags.boolean(name)
    except FlagValueError as err:
        yield _invalid(sp, name, err)
        return
    if value is None:
        if default is not None and default != want:
            yield Hit(f"{sp.name}: --{name} is not set (defaults to {str(default).lower()}): {why}",
                      sp.path_of(name))
    elif value != want:
        yield Hit(f"{sp.name}: {sp.shown(name)}: {why}{sp.stray}", sp.path_of(name))


def _must_be_false(sp: StaticPod, name: str, why: str) -> Iterator[Hit]:
    """kube-bench `eq false` (unset fails: these flags default to true)."""
    return _boolean(sp, name, why, want=False, default=True)


def _must_be_true(sp: StaticPod, name: str, why: str) -> Iterator[Hit]:
    """kube-bench `eq true` / `noteq false` (unset fails: these flags default to false)."""
    return _boolean(sp, name, why, want=True, default=False)


def _must_not_be_true(sp: StaticPod, name: str, why: str) -> Iterator[Hit]:
    """kube-bench `set: false` or `eq false` (unset passes)."""
    return _boolean(sp, name, why, want=False, default=None)


def _must_not_be_false(sp: StaticPod, name: str, why: str) -> Iterator[Hit]:
    """kube-bench `set: false` or `eq true` (unset passes: these flags default to true)."""
    return _boolean(sp, name, why, want=True, default=None)


def _must_be_set(sp: StaticPod, names: tuple[str, ...], why: str) -> Iterator[Hit]:
    """kube-bench flag presence (`bin_op: and` over `names`); an empty value counts as unset."""
    missing = [n for n in names if sp.string(n) is None]
    if missing:
        shown = " and ".join(f"--{n}" for n in missing)
        verb = "is" if len(missing) == 1 else "are"
        yield Hit(f"{sp.name}: {shown} {verb} not set: {why}", sp.path_of(*missing))


def _at_least(sp: StaticPod, name: str, minimum: int, unset: str, low: str) -> Iterator[Hit]:
    """kube-bench `gte` (unset fails); judged only when audit events go to a log file.

    The log file is rotated by lumberjack: maxage 0 keeps rotated files regardless of age,
    maxbackup 0 keeps all of them, maxsize 0 rotates at lumberjack's default of 100 MB.
    """
    path = sp.string("audit-log-path")
    if path is None or path == "-":
        return
    try:
        value = sp.flags.integer(name)
    except FlagValueError as err:
        yield _invalid(sp, name, err)
        return
    if not value:  # unset or 0: the same lumberjack default
        what = f"--{name} is not set" if value is None else sp.shown(name)
        yield Hit(f"{sp.name}: {what} ({unset}); CIS asks for an explicit value of at least "
                  f"{minimum}", sp.path_of(name, "audit-log-path"))
    elif value < minimum:
        yield Hit(f"{sp.name}: {sp.shown(name)}: {low.format(value)}; CIS asks for at least {minimum}",
                  sp.path_of(name))


def _bound_to_localhost(sp: StaticPod, why: str) -> Iterator[Hit]:
    """kube-bench 1.3.7 / 1.4.2: `--bind-address` eq 127.0.0.1, or not set.

    Unset passes the benchmark although the component then listens on all interfaces
    (default 0.0.0.0) - the secure port still requires authentication.
    """
    value = sp.flags.value("bind-address")
    if value is not None and value != "127.0.0.1":
        yield Hit(f"{sp.name}: --bind-address={value}: {why}", sp.path_of("bind-address"))


# --------------------------------------------------------------------------- kube-apiserver


def _authorization_modes(sp: StaticPod) -> list[str] | None:
    """The authorizer chain; None when it lives in an --authorization-config file."""
    if not sp.flags.has("authorization-mode") and sp.string("authorization-config"):
        return None
    if not sp.flags.has("authorization-mode"):
        return ["AlwaysAllow"]  # kube-apiserver's default
    try:
        modes = sp.flags.values("authorization-mode")
    except FlagValueError:
        return None
    return modes or None  # an empty list fails validation: the API server does not start


# Admission plugins enabled by default (kube-apiserver AdmissionOptions; only those judged here).
_DEFAULT_ON_PLUGINS = frozenset({"NamespaceLifecycle", "ServiceAccount"})


def _plugin_enabled(sp: StaticPod, plugin: str) -> bool:
    """Whether an admission plugin runs, as kube-apiserver's AdmissionOptions computes it.

    The deprecated `--admission-control` list is exact (every plugin not in it is off);
    otherwise `--enable-admission-plugins` adds to and `--disable-admission-plugins`
    removes from the default-on set (enable wins, as in enabledPluginNames).
    """
    if sp.flags.has("admission-control"):
        return plugin in _list(sp, "admission-control")
    if plugin in _list(sp, "enable-admission-plugins"):
        return True
    if plugin in _list(sp, "disable-admission-plugins"):
        return False
    return plugin in _DEFAULT_ON_PLUGINS


def _list(sp: StaticPod, name: str) -> list[str]:
    try:
        return sp.flags.values(name)
    except FlagValueError:
        return []  # not a CSV list: the API server does not start


def _plugins_path(sp: StaticPod) -> tuple[str | int, ...]:
    return sp.path_of("enable-admission-plugins", "admission-control", "disable-admission-plugins")


@_cp_rule(APISERVER, "anonymous-auth", "1.2.1", "API server accepts anonymous requests", M,
          "Set --anonymous-auth=false on kube-apiserver (health probes can use /livez and "
          "/readyz with an authenticated identity, or an AuthenticationConfiguration that "
          "allows anonymous access only to those paths).",
          nsa=(NSA_AUTH,), mitre=("T1133",))
def apiserver_anonymous_auth(sp: StaticPod) -> Iterator[Hit]:
    """With anonymous auth every unauthenticated request is served as system:anonymous:
    one careless RBAC binding to system:unauthenticated exposes the API to anyone who can reach it."""
    why = "requests without credentials are served as system:anonymous"
    if sp.string("authentication-config") and not sp.flags.has("anonymous-auth"):
        why += " (unless the AuthenticationConfiguration file named by --authentication-config disables it)"
    yield from _must_be_false(sp, "anonymous-auth", why)


@_cp_rule(APISERVER, "token-auth-file", "1.2.2", "API server accepts static bearer tokens", H,
          "Remove --token-auth-file; authenticate users with OIDC or client certificates and "
          "workloads with ServiceAccount tokens.",
          nsa=(NSA_AUTH,), mitre=("T1552.001", "T1078"))
def apiserver_token_auth_file(sp: StaticPod) -> Iterator[Hit]:
    """Static tokens live in a plain file on the control plane, never expire and can only be
    rotated by restarting the API server."""
    value = sp.string("token-auth-file")
    if value is not None:
        yield Hit(f"{sp.name}: --token-auth-file={value}: static tokens never expire and are "
                  "stored in clear text on the node", sp.path_of("token-auth-file"))


@_cp_rule(APISERVER, "kubelet-client-certificate", "1.2.4",
          "API server does not authenticate to kubelets", H,
          "Set --kubelet-client-certificate and --kubelet-client-key so the API server "
          "authenticates to kubelets with a client certificate.",
          nsa=(NSA_CP,), mitre=("T1557",))
def apiserver_kubelet_client_certificate(sp: StaticPod) -> Iterator[Hit]:
    """Kubelets that authenticate their callers cannot tell the API server from anyone else
    unless it presents a client certificate."""
    yield from _must_be_set(sp, ("kubelet-client-certificate", "kubelet-client-key"),
                            "the API server presents no client certificate to kubelets")


@_cp_rule(APISERVER, "kubelet-certificate-authority", "1.2.5",
          "API server does not verify kubelet serving certificates", M,
          "Set --kubelet-certificate-authority to the CA that signs kubelet serving "
          "certificates (enable serverTLSBootstrap / rotate-server-certificates on kubelets).",
          nsa=(NSA_CP,), mitre=("T1557",))
def apiserver_kubelet_certificate_authority(sp: StaticPod) -> Iterator[Hit]:
    """Without it the API server's connections to kubelets (exec, logs, port-forward) are not
    verified and can be intercepted on the node network."""
    yield from _must_be_set(sp, ("kubelet-certificate-authority",),
                            "connections to kubelets (exec, logs, port-forward) are not verified")


@_cp_rule(APISERVER, "authorization-always-allow", "1.2.6", "API server authorizes every request",
          Severity.CRITICAL,
          "Set --authorization-mode=Node,RBAC (never AlwaysAllow).",
          nsa=(NSA_AUTH,), mitre=("T1078",))
def apiserver_authorization_always_allow(sp: StaticPod) -> Iterator[Hit]:
    """AlwaysAllow makes every authenticated (and, with anonymous auth, unauthenticated)
    request cluster-admin. It is the API server's default when --authorization-mode is unset."""
    modes = _authorization_modes(sp)
    if modes is None or "AlwaysAllow" not in modes:
        return
    if sp.flags.has("authorization-mode"):
        msg = f"{sp.name}: --authorization-mode={','.join(modes)} includes AlwaysAllow"
    else:
        msg = f"{sp.name}: --authorization-mode is not set (defaults to AlwaysAllow)"
    yield Hit(msg + ": every request is authorized", sp.path_of("authorization-mode"))


@_cp_rule(APISERVER, "authorization-node", "1.2.7", "Node authorizer not enabled", M,
          "Include Node in --authorization-mode (e.g. --authorization-mode=Node,RBAC) and "
          "enable the NodeRestriction admission plugin.",
          nsa=(NSA_AUTH,), mitre=("T1078",))
def apiserver_authorization_node(sp: StaticPod) -> Iterator[Hit]:
    """The Node authorizer limits each kubelet to the Secrets, ConfigMaps and volumes of the
    pods bound to its own node; without it a compromised node reads far more."""
    modes = _authorization_modes(sp)
    if modes is not None and "Node" not in modes:
        yield Hit(f"{sp.name}: --authorization-mode={','.join(modes)} does not include Node",
                  sp.path_of("authorization-mode"))


@_cp_rule(APISERVER, "authorization-rbac", "1.2.8", "RBAC authorizer not enabled", H,
          "Include RBAC in --authorization-mode (e.g. --authorization-mode=Node,RBAC).",
          nsa=(NSA_AUTH,), mitre=("T1078",))
def apiserver_authorization_rbac(sp: StaticPod) -> Iterator[Hit]:
    """Without RBAC, Roles and bindings have no effect: least privilege cannot be expressed."""
    modes = _authorization_modes(sp)
    if modes is not None and "RBAC" not in modes:
        yield Hit(f"{sp.name}: --authorization-mode={','.join(modes)} does not include RBAC",
                  sp.path_of("authorization-mode"))


@_cp_rule(APISERVER, "always-admit", "1.2.10", "AlwaysAdmit admission plugin enabled", H,
          "Remove AlwaysAdmit from --enable-admission-plugins.",
          nsa=(NSA_CP,), mitre=("T1610",))
def apiserver_always_admit(sp: StaticPod) -> Iterator[Hit]:
    """AlwaysAdmit (deprecated) admits every request regardless of the other plugins."""
    if _plugin_enabled(sp, "AlwaysAdmit"):
        yield Hit(f"{sp.name}: the AlwaysAdmit admission plugin is enabled", _plugins_path(sp))


@_cp_rule(APISERVER, "service-account-plugin", "1.2.12",
          "ServiceAccount admission plugin disabled", M,
          "Remove ServiceAccount from --disable-admission-plugins.",
          nsa=(NSA_CP,), mitre=("T1078.001",))
def apiserver_service_account_plugin(sp: StaticPod) -> Iterator[Hit]:
    """The ServiceAccount plugin assigns and validates each pod's ServiceAccount and its token."""
    if not _plugin_enabled(sp, "ServiceAccount"):
        yield Hit(f"{sp.name}: the ServiceAccount admission plugin is disabled", _plugins_path(sp))


@_cp_rule(APISERVER, "namespace-lifecycle-plugin", "1.2.13",
          "NamespaceLifecycle admission plugin disabled", M,
          "Remove NamespaceLifecycle from --disable-admission-plugins.",
          nsa=(NSA_CP,))
def apiserver_namespace_lifecycle_plugin(sp: StaticPod) -> Iterator[Hit]:
    """NamespaceLifecycle stops objects being created in terminating or non-existent namespaces
    and protects the system namespaces from deletion."""
    if not _plugin_enabled(sp, "NamespaceLifecycle"):
        yield Hit(f"{sp.name}: the NamespaceLifecycle admission plugin is disabled",
                  _plugins_path(sp))


@_cp_rule(APISERVER, "node-restriction", "1.2.14", "NodeRestriction admission plugin not enabled", M,
          "Add NodeRestriction to --enable-admission-plugins (with the Node authorizer).",
          nsa=(NSA_CP,), mitre=("T1078",))
def apiserver_node_restriction(sp: StaticPod) -> Iterator[Hit]:
    """NodeRestriction limits a kubelet to modifying its own Node object and the pods bound to
    it: without it one compromised node can relabel other nodes and attract workloads."""
    if not _plugin_enabled(sp, "NodeRestriction"):
        yield Hit(f"{sp.name}: NodeRestriction is not in --enable-admission-plugins",
                  _plugins_path(sp))


@_cp_rule(APISERVER, "profiling", "1.2.15", "API server profiling endpoint enabled", L,
          "Set --profiling=false on kube-apiserver.", nsa=(NSA_CP,))
def apiserver_profiling(sp: StaticPod) -> Iterator[Hit]:
    """/debug/pprof exposes program internals and costly profiles; it is not needed in production."""
    yield from _must_be_false(sp, "profiling", "/debug/pprof is served")


@_cp_rule(APISERVER, "audit-log-path", "1.2.16", "API server writes no audit log", M,
          "Set --audit-log-path (e.g. /var/log/kubernetes/audit/audit.log) together with "
          "--audit-policy-file, and ship the file to your SIEM.",
          checklist=8, nsa=(NSA_AUDIT,), mitre=("T1562.008",))
def apiserver_audit_log_path(sp: StaticPod) -> Iterator[Hit]:
    """Without audit logs there is no record of who did what through the API: incidents cannot
    be investigated."""
    if sp.string("audit-log-path") is None:
        why = "API requests are not written to an audit log"
        if sp.string("audit-webhook-config-file"):
            why += " (audit events go only to the webhook backend)"
        yield Hit(f"{sp.name}: --audit-log-path is not set: {why}", sp.path_of("audit-log-path"))


@_cp_rule(APISERVER, "audit-log-maxage", "1.2.17", "Audit log retention shorter than 30 days", L,
          "Set --audit-log-maxage=30 (days) or what your retention policy requires.",
          checklist=8, nsa=(NSA_AUDIT,), mitre=("T1070",))
def apiserver_audit_log_maxage(sp: StaticPod) -> Iterator[Hit]:
    """Rotated audit files older than maxage days are deleted; evidence must outlive detection,
    and an explicit retention keeps the disk from filling up (0 or unset: never deleted by age)."""
    yield from _at_least(sp, "audit-log-maxage", 30,
                         "rotated files are never deleted by age: retention is left to chance",
                         "rotated audit logs are deleted after {} days")


@_cp_rule(APISERVER, "audit-log-maxbackup", "1.2.18", "Fewer than 10 rotated audit logs kept", L,
          "Set --audit-log-maxbackup=10 or what your retention policy requires.",
          checklist=8, nsa=(NSA_AUDIT,), mitre=("T1070",))
def apiserver_audit_log_maxbackup(sp: StaticPod) -> Iterator[Hit]:
    """maxbackup bounds how many rotated audit files are kept (0 or unset keeps all of them,
    until the disk fills up and the API server can no longer write audit events)."""
    yield from _at_least(sp, "audit-log-maxbackup", 10,
                         "every rotated file is kept until the disk fills up",
                         "only {} rotated audit log files are kept")


@_cp_rule(APISERVER, "audit-log-maxsize", "1.2.19", "Audit log rotated below 100 MB", L,
          "Set --audit-log-maxsize=100 (MB) or an appropriate size.",
          checklist=8, nsa=(NSA_AUDIT,), mitre=("T1070",))
def apiserver_audit_log_maxsize(sp: StaticPod) -> Iterator[Hit]:
    """maxsize is the size in MB at which the audit log rotates; with maxbackup it bounds how much
    history is kept (0 or unset: lumberjack's default, 100 MB)."""
    yield from _at_least(sp, "audit-log-maxsize", 100,
                         "the log rotates at lumberjack's default of 100 MB",
                         "the log rotates every {} MB, so the kept files cover less history")


@_cp_rule(APISERVER, "service-account-lookup", "1.2.21",
          "Deleted ServiceAccounts' tokens stay valid", M,
          "Remove --service-account-lookup=false (the default is true).",
          nsa=(NSA_AUTH,), mitre=("T1528",))
def apiserver_service_account_lookup(sp: StaticPod) -> Iterator[Hit]:
    """Without the lookup the API server accepts tokens of ServiceAccounts (and legacy token
    Secrets) that have been deleted."""
    yield from _must_not_be_false(sp, "service-account-lookup",
                                  "tokens of deleted ServiceAccounts remain valid")


@_cp_rule(APISERVER, "service-account-key-file", "1.2.22",
          "ServiceAccount token verification key not set", M,
          "Set --service-account-key-file to the public key(s) matching the controller "
          "manager's --service-account-private-key-file.",
          nsa=(NSA_AUTH,), mitre=("T1528",))
def apiserver_service_account_key_file(sp: StaticPod) -> Iterator[Hit]:
    """An explicit verification key lets ServiceAccount signing keys be rotated."""
    yield from _must_be_set(sp, ("service-account-key-file",),
                            "ServiceAccount tokens are verified with the TLS serving key")


@_cp_rule(APISERVER, "etcd-client-certificate", "1.2.23",
          "API server does not authenticate to etcd with a client certificate", H,
          "Set --etcd-certfile and --etcd-keyfile (and run etcd with --client-cert-auth=true).",
          nsa=(NSA_ETCD,), mitre=("T1557",))
def apiserver_etcd_client_certificate(sp: StaticPod) -> Iterator[Hit]:
    """etcd holds every Secret: only the API server should be able to talk to it, proven by a
    client certificate."""
    yield from _must_be_set(sp, ("etcd-certfile", "etcd-keyfile"),
                            "the API server presents no client certificate to etcd")


@_cp_rule(APISERVER, "tls-cert-file", "1.2.24", "API server serving certificate not set", M,
          "Set --tls-cert-file and --tls-private-key-file to a certificate signed by the "
          "cluster CA.", nsa=(NSA_CP,), mitre=("T1557",))
def apiserver_tls_cert_file(sp: StaticPod) -> Iterator[Hit]:
    """Without them the API server generates a self-signed certificate clients cannot verify."""
    yield from _must_be_set(sp, ("tls-cert-file", "tls-private-key-file"),
                            "the API server serves a self-signed certificate")


@_cp_rule(APISERVER, "client-ca-file", "1.2.25", "API server client CA not set", M,
          "Set --client-ca-file to the cluster CA bundle.", nsa=(NSA_AUTH,), mitre=("T1557",))
def apiserver_client_ca_file(sp: StaticPod) -> Iterator[Hit]:
    """Without a client CA no client certificate is accepted - and kubelets cannot authenticate
    the API server's requests."""
    yield from _must_be_set(sp, ("client-ca-file",), "client certificates are not verified")


@_cp_rule(APISERVER, "etcd-cafile", "1.2.26", "API server does not verify etcd's certificate", H,
          "Set --etcd-cafile to the etcd CA (and serve etcd over https).",
          nsa=(NSA_ETCD,), mitre=("T1557",))
def apiserver_etcd_cafile(sp: StaticPod) -> Iterator[Hit]:
    """Without an etcd CA the API server cannot verify it is talking to the real etcd."""
    yield from _must_be_set(sp, ("etcd-cafile",), "the connection to etcd is not verified")


@_cp_rule(APISERVER, "encryption-provider-config", "1.2.27",
          "Secrets are not encrypted at rest in etcd", H,
          "Write an EncryptionConfiguration (kms v2, or aescbc/secretbox) for secrets and set "
          "--encryption-provider-config to it; then rewrite existing Secrets "
          "(kubectl get secrets -A -o json | kubectl replace -f -).",
          checklist=9, nsa=(NSA_SECRETS,), mitre=("T1552",))
def apiserver_encryption_provider_config(sp: StaticPod) -> Iterator[Hit]:
    """Without an encryption provider Secrets are stored in etcd in plain text: anyone with a
    backup or disk snapshot of etcd reads every credential."""
    yield from _must_be_set(sp, ("encryption-provider-config",),
                            "Secrets are stored in etcd in plain text")


@_cp_rule(APISERVER, "audit-policy-file", "3.2.1", "No audit policy", M,
          "Write an audit Policy (Metadata level for secrets, configmaps and tokenreviews; "
          "RequestResponse for pods/exec, pods/portforward and RBAC changes) and set "
          "--audit-policy-file.",
          checklist=8, nsa=(NSA_AUDIT,), mitre=("T1562.008",))
def apiserver_audit_policy_file(sp: StaticPod) -> Iterator[Hit]:
    """Without an audit policy the API server records no audit events at all, even with a log
    path or webhook configured."""
    yield from _must_be_set(sp, ("audit-policy-file",), "no audit events are recorded")


@_cp_rule(APISERVER, "insecure-port", "1.2.18 (V1.20 benchmark)",
          "API server serves an insecure port", H,
          "Remove --insecure-port (or set it to 0); the flag was removed in Kubernetes 1.24.",
          nsa=(NSA_CP,), mitre=("T1133",))
def apiserver_insecure_port(sp: StaticPod) -> Iterator[Hit]:
    """The insecure port serves the whole API over plain HTTP with no authentication and no
    authorization (CIS Kubernetes V1.20 Benchmark 1.2.18, kube-bench cfg/cis-1.20; later
    benchmarks dropped the control with the flag)."""
    value = sp.flags.value("insecure-port")
    if value is None:
        return
    try:
        port = sp.flags.integer("insecure-port", 32)
    except FlagValueError as err:
        yield _invalid(sp, "insecure-port", err)
        return
    if port != 0:
        yield Hit(f"{sp.name}: --insecure-port={value}: the API is served over HTTP without "
                  "authentication or authorization", sp.path_of("insecure-port"))


# --------------------------------------------------------------------------- controller manager


@_cp_rule(CONTROLLER_MANAGER, "terminated-pod-gc-threshold", "1.3.1",
          "Terminated pods are garbage-collected only at 12500", L,
          "Set --terminated-pod-gc-threshold to a value that fits the cluster (e.g. 10 per node).")
def cm_terminated_pod_gc_threshold(sp: StaticPod) -> Iterator[Hit]:
    """Terminated pods pile up to 12500 by default, which can degrade the control plane."""
    yield from _must_be_set(sp, ("terminated-pod-gc-threshold",),
                            "terminated pods are kept until there are 12500 of them")


@_cp_rule(CONTROLLER_MANAGER, "profiling", "1.3.2", "Controller manager profiling enabled", L,
          "Set --profiling=false on kube-controller-manager.")
def cm_profiling(sp: StaticPod) -> Iterator[Hit]:
    """/debug/pprof exposes program internals and costly profiles; it is not needed in production."""
    yield from _must_be_false(sp, "profiling", "/debug/pprof is served")


@_cp_rule(CONTROLLER_MANAGER, "use-service-account-credentials", "1.3.3",
          "Controllers share the controller manager's own credentials", M,
          "Set --use-service-account-credentials=true so each controller runs with its own "
          "ServiceAccount and least-privilege role.", nsa=(NSA_AUTH,), mitre=("T1078",))
def cm_use_service_account_credentials(sp: StaticPod) -> Iterator[Hit]:
    """With shared credentials every controller holds the union of all controllers' rights."""
    yield from _must_be_true(sp, "use-service-account-credentials",
                             "every controller runs with the controller manager's full rights")


@_cp_rule(CONTROLLER_MANAGER, "service-account-private-key-file", "1.3.4",
          "ServiceAccount signing key not set", M,
          "Set --service-account-private-key-file to the key whose public half the API server "
          "verifies with (--service-account-key-file).", nsa=(NSA_AUTH,), mitre=("T1528",))
def cm_service_account_private_key_file(sp: StaticPod) -> Iterator[Hit]:
    """A dedicated signing key can be rotated independently of serving certificates."""
    yield from _must_be_set(sp, ("service-account-private-key-file",),
                            "ServiceAccount tokens are not signed with a dedicated key")


@_cp_rule(CONTROLLER_MANAGER, "root-ca-file", "1.3.5", "Pods get no cluster root CA", L,
          "Set --root-ca-file to the cluster CA bundle.", mitre=("T1557",))
def cm_root_ca_file(sp: StaticPod) -> Iterator[Hit]:
    """Pods verify the API server's certificate with the CA the controller manager publishes."""
    yield from _must_be_set(sp, ("root-ca-file",),
                            "pods cannot verify the API server's serving certificate")


@_cp_rule(CONTROLLER_MANAGER, "rotate-kubelet-server-certificate", "1.3.6",
          "Kubelet serving certificate rotation disabled", L,
          "Remove RotateKubeletServerCertificate=false from --feature-gates.")
def cm_rotate_kubelet_server_certificate(sp: StaticPod) -> Iterator[Hit]:
    """Serving certificates that never rotate stay valid for their whole lifetime once stolen."""
    try:
        gates = sp.flags.feature_gates()
    except FlagValueError as err:
        yield _invalid(sp, "feature-gates", err)
        return
    if gates.get("RotateKubeletServerCertificate") is False:
        yield Hit(f"{sp.name}: --feature-gates sets RotateKubeletServerCertificate=false",
                  sp.path_of("feature-gates"))


@_cp_rule(CONTROLLER_MANAGER, "bind-address", "1.3.7",
          "Controller manager listens beyond localhost", L,
          "Set --bind-address=127.0.0.1 on kube-controller-manager.", mitre=("T1046",))
def cm_bind_address(sp: StaticPod) -> Iterator[Hit]:
    """The controller manager's health and metrics port needs no exposure beyond the node."""
    yield from _bound_to_localhost(sp, "the secure port listens beyond localhost")


# --------------------------------------------------------------------------- scheduler


@_cp_rule(SCHEDULER, "profiling", "1.4.1", "Scheduler profiling enabled", L,
          "Set --profiling=false on kube-scheduler.")
def scheduler_profiling(sp: StaticPod) -> Iterator[Hit]:
    """/debug/pprof exposes program internals and costly profiles; it is not needed in production.
    With --config the flag is ignored (enableProfiling in the KubeSchedulerConfiguration rules)."""
    if sp.string("config"):
        return
    yield from _must_be_false(sp, "profiling", "/debug/pprof is served")


@_cp_rule(SCHEDULER, "bind-address", "1.4.2", "Scheduler listens beyond localhost", L,
          "Set --bind-address=127.0.0.1 on kube-scheduler.", mitre=("T1046",))
def scheduler_bind_address(sp: StaticPod) -> Iterator[Hit]:
    """The scheduler's health and metrics port needs no exposure beyond the node."""
    yield from _bound_to_localhost(sp, "the secure port listens beyond localhost")


# --------------------------------------------------------------------------- etcd


@_cp_rule(ETCD, "cert-file", "2.1", "etcd serves clients without TLS", H,
          "Set --cert-file and --key-file on etcd and serve clients over https.",
          nsa=(NSA_ETCD,), mitre=("T1557", "T1552"))
def etcd_cert_file(sp: StaticPod) -> Iterator[Hit]:
    """Without a serving certificate etcd's client traffic - every Secret - is plain text."""
    yield from _must_be_set(sp, ("cert-file", "key-file"),
                            "client connections to etcd are not encrypted")


@_cp_rule(ETCD, "client-cert-auth", "2.2", "etcd does not authenticate its clients", H,
          "Set --client-cert-auth=true and --trusted-ca-file on etcd.",
          nsa=(NSA_ETCD,), mitre=("T1552",))
def etcd_client_cert_auth(sp: StaticPod) -> Iterator[Hit]:
    """Without client certificate authentication anyone who reaches etcd's client port reads
    and writes the whole cluster state, bypassing the API server's authorization."""
    yield from _must_be_true(sp, "client-cert-auth", "any client that reaches etcd is trusted")


@_cp_rule(ETCD, "auto-tls", "2.3", "etcd uses self-signed client certificates", M,
          "Remove --auto-tls (or set it to false) and configure --cert-file/--key-file.",
          nsa=(NSA_ETCD,), mitre=("T1557",))
def etcd_auto_tls(sp: StaticPod) -> Iterator[Hit]:
    """Auto TLS generates self-signed certificates that clients cannot verify."""
    yield from _must_not_be_true(sp, "auto-tls", "etcd serves a self-signed certificate")


@_cp_rule(ETCD, "peer-cert-file", "2.4", "etcd peers talk without TLS", M,
          "Set --peer-cert-file and --peer-key-file on every etcd member.",
          nsa=(NSA_ETCD,), mitre=("T1557",))
def etcd_peer_cert_file(sp: StaticPod) -> Iterator[Hit]:
    """Replication traffic between etcd members carries every Secret."""
    yield from _must_be_set(sp, ("peer-cert-file", "peer-key-file"),
                            "peer (replication) connections are not encrypted")


@_cp_rule(ETCD, "peer-client-cert-auth", "2.5", "etcd does not authenticate its peers", M,
          "Set --peer-client-cert-auth=true and --peer-trusted-ca-file on every etcd member.",
          nsa=(NSA_ETCD,), mitre=("T1557",))
def etcd_peer_client_cert_auth(sp: StaticPod) -> Iterator[Hit]:
    """Without peer authentication anything that reaches the peer port can join the cluster
    and receive its data."""
    yield from _must_be_true(sp, "peer-client-cert-auth", "any host that reaches the peer port is trusted")


@_cp_rule(ETCD, "peer-auto-tls", "2.6", "etcd uses self-signed peer certificates", M,
          "Remove --peer-auto-tls (or set it to false) and configure peer certificates.",
          nsa=(NSA_ETCD,), mitre=("T1557",))
def etcd_peer_auto_tls(sp: StaticPod) -> Iterator[Hit]:
    """Self-signed peer certificates cannot be verified by the other members."""
    yield from _must_not_be_true(sp, "peer-auto-tls", "peers use self-signed certificates")


# --------------------------------------------------------------------------- kubelet


@dataclass(slots=True, frozen=True)
class KubeletConfig:
    """A KubeletConfiguration (as a mapping) and where its fields are in the object."""

    config: Mapping[str, Any]
    prefix: tuple[str | int, ...]  # () for a KubeletConfiguration object, ("data", "kubelet") for a ConfigMap
    embedded: bool  # True when the config is a string inside a ConfigMap (paths stop at the key)

    def path(self, *fields: str) -> tuple[str | int, ...]:
        return self.prefix if self.embedded else (*self.prefix, *fields)

    def get(self, *fields: str) -> Any:
        node: Any = self.config
        for f in fields:
            node = node.get(f) if isinstance(node, Mapping) else None
        return node


def kubelet_config(res: Resource) -> KubeletConfig | None:
    """The KubeletConfiguration an object holds: the object itself, or kubeadm's ConfigMap."""
    if res.kind == "KubeletConfiguration" and res.group == "kubelet.config.k8s.io":
        return KubeletConfig(res.obj, (), False)
    if res.kind != "ConfigMap" or res.namespace != "kube-system":
        return None
    if res.name != "kubelet-config" and not res.name.startswith("kubelet-config-1."):
        return None
    data = res.obj.get("data")
    text = data.get("kubelet") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return None
    from kubeward.inventory.yamlio import Document, load_documents

    docs = [d for d in load_documents(text) if isinstance(d, Document)]
    config = docs[0].data if docs else None
    if not isinstance(config, dict) or config.get("kind") != "KubeletConfiguration":
        return None
    return KubeletConfig(config, ("data", "kubelet"), True)


def _kubelet(ctx: Context, res: Resource) -> KubeletConfig | None:
    cache: dict[int, KubeletConfig | None] = ctx.cache.setdefault("controlplane.kubelet", {})
    key = id(res)
    if key not in cache:
        cache[key] = kubelet_config(res)
    return cache[key]


KubeletCheck = Callable[[KubeletConfig], Iterator[Hit]]
_OVERRIDE = " (unless a kubelet command-line flag overrides the config file)"


def _kubelet_rule(slug: str, cis: str, title: str, severity: Severity, remediation: str, *,
                  mitre: tuple[str, ...] = ()) -> Callable[[KubeletCheck], KubeletCheck]:
    def wrap(fn: KubeletCheck) -> KubeletCheck:
        def check(ctx: Context, res: Resource) -> Iterator[Hit]:
            cfg = _kubelet(ctx, res)
            if cfg is not None:
                yield from fn(cfg)

        check.__doc__ = fn.__doc__
        check.__name__ = check.__qualname__ = fn.__name__
        object_rule(
            kinds=("KubeletConfiguration", "ConfigMap"),
            id=f"cis.kubelet.{slug}",
            title=title,
            severity=severity,
            checklist=13,
            remediation=remediation,
            refs=Refs(cis=(cis,), nsa=(NSA_CP,), mitre=mitre),
        )(check)
        return fn

    return wrap


@_kubelet_rule("anonymous-auth", "4.2.1", "Kubelet accepts anonymous requests", H,
               "Set authentication.anonymous.enabled: false in the KubeletConfiguration.",
               mitre=("T1133", "T1609"))
def kubelet_anonymous_auth(cfg: KubeletConfig) -> Iterator[Hit]:
    """An anonymous kubelet API (port 10250) lists pods and, with a permissive authorizer,
    runs commands in any container of the node. The config-file default is false."""
    if cfg.get("authentication", "anonymous", "enabled") is True:
        yield Hit("kubelet: authentication.anonymous.enabled is true: requests without "
                  "credentials reach the kubelet API" + _OVERRIDE,
                  cfg.path("authentication", "anonymous", "enabled"))


@_kubelet_rule("authorization-mode", "4.2.2", "Kubelet authorizes every request", H,
               "Set authorization.mode: Webhook in the KubeletConfiguration.",
               mitre=("T1609",))
def kubelet_authorization_mode(cfg: KubeletConfig) -> Iterator[Hit]:
    """AlwaysAllow lets every caller that reaches the kubelet exec into the node's containers.
    The config-file default is Webhook."""
    if cfg.get("authorization", "mode") == "AlwaysAllow":
        yield Hit("kubelet: authorization.mode is AlwaysAllow: every request to the kubelet API "
                  "is authorized" + _OVERRIDE, cfg.path("authorization", "mode"))


@_kubelet_rule("read-only-port", "4.2.4", "Kubelet read-only port open", M,
               "Set readOnlyPort: 0 (or remove it: the config-file default is 0).",
               mitre=("T1046",))
def kubelet_read_only_port(cfg: KubeletConfig) -> Iterator[Hit]:
    """The read-only port (10255) serves pod specs and metrics with no authentication."""
    port = cfg.get("readOnlyPort")
    if isinstance(port, int) and not isinstance(port, bool) and port != 0:
        yield Hit(f"kubelet: readOnlyPort is {port}: pod specs and metrics are served without "
                  "authentication" + _OVERRIDE, cfg.path("readOnlyPort"))


@_kubelet_rule("protect-kernel-defaults", "4.2.6 (V1.24 benchmark)",
               "Kubelet may override kernel settings", L,
               "Set protectKernelDefaults: true and tune the node's sysctls to what the kubelet "
               "expects.")
def kubelet_protect_kernel_defaults(cfg: KubeletConfig) -> Iterator[Hit]:
    """Without it the kubelet silently changes kernel tunables the node was hardened with (CIS
    Kubernetes V1.24 Benchmark 4.2.6, kube-bench cfg/cis-1.24; the v1.7 and later benchmarks
    dropped the control). Default false."""
    if cfg.get("protectKernelDefaults") is not True:
        yield Hit("kubelet: protectKernelDefaults is not true: the kubelet may override the "
                  "node's kernel settings" + _OVERRIDE, cfg.path("protectKernelDefaults"))


@_kubelet_rule("rotate-certificates", "4.2.10", "Kubelet client certificate rotation disabled", L,
               "Set rotateCertificates: true (or remove rotateCertificates: false).")
def kubelet_rotate_certificates(cfg: KubeletConfig) -> Iterator[Hit]:
    """A kubelet client certificate that is never rotated stays usable for its whole lifetime
    once stolen from the node."""
    if cfg.get("rotateCertificates") is False:
        yield Hit("kubelet: rotateCertificates is false: the client certificate is never "
                  "rotated" + _OVERRIDE, cfg.path("rotateCertificates"))
