"""Runtime detection seeds: Falco rules and a Tetragon TracingPolicy.

Falco: rule syntax of falcosecurity/rules ``rules/falco_rules.yaml`` (``- list`` /
``- macro`` / ``- rule`` items with ``condition``, ``output``, ``priority``, ``tags``;
``required_engine_version``). The two rules follow upstream's
"Redirect STDOUT/STDIN to Network Connection in Container" (``dup`` family returning
fd 0-2 on an ipv4/ipv6 socket: the classic ``bash -i >& /dev/tcp/...`` reverse shell)
and "Read sensitive file untrusted" (``open_read`` of /etc/shadow, sudoers, PAM
configuration). The file is self-contained - its macros and lists carry a ``kubeward_``
prefix so loading it next to the default rules neither overrides nor depends on them.

Tetragon: ``cilium.io/v1alpha1`` TracingPolicy from cilium/tetragon
``examples/quickstart/file_monitoring.yaml``: a kprobe on ``security_file_permission``
(arg 0 the file, arg 1 the MAY_READ=4 / MAY_WRITE=2 mask) filtered in the kernel by
path prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["SENSITIVE_FILES", "falco_rules", "falco_rules_set", "tetragon_policy_set"]

SENSITIVE_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/pam.conf",
                   "/etc/security/pwquality.conf")
_SENSITIVE_DIRS = ("/etc/sudoers.d", "/etc/pam.d", "/root/.ssh")


def falco_rules() -> list[dict[str, Any]]:
    """The rules file (one YAML document: a list of list/macro/rule items)."""
    return [
        {"required_engine_version": "0.26.0"},
        {"macro": "kubeward_container", "condition": "(container.id != host)"},
        {"macro": "kubeward_dup",
         "condition": "(evt.type in (dup, dup2, dup3))"},
        {"macro": "kubeward_open_read",
         "condition": "(evt.type in (open, openat, openat2) and evt.is_open_read = true "
                      "and fd.typechar = 'f' and fd.num >= 0)"},
        {"list": "kubeward_sensitive_file_names", "items": list(SENSITIVE_FILES)},
        {"list": "kubeward_sensitive_dirs", "items": list(_SENSITIVE_DIRS)},
        {"list": "kubeward_trusted_readers",
         "items": ["sshd", "sudo", "su", "login", "passwd", "unix_chkpwd", "systemd",
                   "systemd-logind", "cron", "crond"]},
        {
            "rule": "Kubeward Reverse Shell in Container",
            "desc": "A process in a container redirected its standard input, output or error "
                    "to a network socket (dup onto fd 0-2): the shape of a reverse shell.",
            "condition": "kubeward_dup and kubeward_container and evt.rawres in (0, 1, 2) "
                         "and fd.type in (\"ipv4\", \"ipv6\")",
            "output": "Reverse shell: stdio redirected to network (connection=%fd.name "
                      "process=%proc.name cmdline=%proc.cmdline user=%user.name "
                      "container_id=%container.id image=%container.image.repository "
                      "k8s_ns=%k8s.ns.name k8s_pod=%k8s.pod.name)",
            "priority": "CRITICAL",
            "tags": ["container", "network", "process", "mitre_execution", "T1059"],
        },
        {
            "rule": "Kubeward Sensitive File Read in Container",
            "desc": "A process in a container that is not a login or privilege tool read "
                    "/etc/shadow, sudoers, PAM configuration or root's SSH keys.",
            "condition": "kubeward_open_read and kubeward_container and "
                         "(fd.name in (kubeward_sensitive_file_names) or "
                         "fd.directory in (kubeward_sensitive_dirs)) and "
                         "not proc.name in (kubeward_trusted_readers)",
            "output": "Sensitive file opened for reading (file=%fd.name process=%proc.name "
                      "cmdline=%proc.cmdline user=%user.name container_id=%container.id "
                      "image=%container.image.repository k8s_ns=%k8s.ns.name "
                      "k8s_pod=%k8s.pod.name)",
            "priority": "WARNING",
            "tags": ["container", "filesystem", "mitre_credential_access", "T1555"],
        },
    ]


def falco_rules_set(params: Mapping[str, str], namespace: str) -> list[Any]:
    """``format=rules``: the rules file; ``configmap``: the same text in a ConfigMap
    (key ``kubeward_rules.yaml``) to mount into /etc/falco/rules.d."""
    rules = falco_rules()
    if params["format"] == "rules":
        return [rules]
    text = yaml.safe_dump(rules, sort_keys=False, width=120)
    return [{
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kubeward-falco-rules", "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "kubeward"}},
        "data": {"kubeward_rules.yaml": text},
    }]


def tetragon_policy_set(params: Mapping[str, str], namespace: str) -> list[Any]:
    """Reads of credentials and shell configuration, writes below /etc, binaries and
    logs. ``action=Sigkill`` kills the process in the kernel instead of only reporting."""
    def selector(prefixes: list[str], mask: str) -> dict[str, Any]:
        sel: dict[str, Any] = {"matchArgs": [
            {"index": 0, "operator": "Prefix", "values": prefixes},
            {"index": 1, "operator": "Equal", "values": [mask]},
        ]}
        if params["action"] != "Post":
            sel["matchActions"] = [{"action": params["action"]}]
        return sel

    reads = [*SENSITIVE_FILES, *_SENSITIVE_DIRS]
    writes = ["/etc", "/boot", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/lib",
              "/usr/local/bin", "/usr/local/sbin", "/lib", "/lib64", "/root/.ssh"]
    return [{
        "apiVersion": "cilium.io/v1alpha1",
        "kind": "TracingPolicy",
        "metadata": {"name": "kubeward-sensitive-files",
                     "labels": {"app.kubernetes.io/managed-by": "kubeward"}},
        "spec": {"kprobes": [{
            "call": "security_file_permission",
            "syscall": False,
            "return": True,
            "args": [{"index": 0, "type": "file"}, {"index": 1, "type": "int"}],
            "returnArg": {"index": 0, "type": "int"},
            "selectors": [selector(reads, "4"), selector(writes, "2")],
        }]},
    }]
