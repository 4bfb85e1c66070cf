"""Command-line flags of a container, parsed the way the component itself parses them.

Kubernetes components (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet)
parse their command line with github.com/spf13/pflag behind cobra; etcd uses Go's standard
library `flag` package. Both are ported here closely enough to read a static pod manifest
exactly as the binary will:

pflag (`FlagSet.parseArgs`, `parseLongArg`; interspersed arguments allowed):
  * `--name=value` and `--name value`; a boolean flag (NoOptDefVal "true") never takes the
    next token: `--profiling false` is `--profiling=true` plus a stray argument `false`;
  * a non-flag token is a positional argument and parsing continues; `--` ends the flags;
  * Kubernetes components install `cliflag.WordSepNormalizeFunc`, so `--anonymous_auth`
    is `--anonymous-auth`;
  * scalar flags: the last occurrence wins; string-slice flags (`--enable-admission-plugins`,
    `--authorization-mode`, ...) split each value as one CSV record and append across
    occurrences (`stringSliceValue.Set`); map flags (`--feature-gates=A=true,B=false`) merge
    across occurrences (component-base `MapStringBool.Set`).

Go `flag` (etcd): `-name` and `--name` are the same; parsing stops at the first non-flag
token (everything after it is positional, which etcd rejects at start-up).

Values are converted like Go does: booleans with `strconv.ParseBool`, integers with
`strconv.ParseInt(s, 0, bits)` (so `0x1e`, `0o36` and the octal `036` all mean 30).

Only the flags' *types* are not knowable from the command line. `BOOL_FLAGS` lists the
boolean flags of each component (the ones whose bare form must not consume the next token);
for a flag outside those tables, a following token that itself starts with `-` is taken to
be the next flag rather than its value (a string flag would swallow it; a boolean would not).
"""

from __future__ import annotations

import csv
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BOOL_FLAGS",
    "GOFLAG",
    "PFLAG",
    "Argv",
    "Flag",
    "FlagValueError",
    "Flags",
    "container_argv",
    "parse_flags",
    "parse_go_bool",
    "parse_go_int",
]

PFLAG = "pflag"
GOFLAG = "goflag"

_COMMON_BOOLS = frozenset({
    # klog / component-base logging and the version/help flags every component has
    "logtostderr", "alsologtostderr", "add-dir-header", "one-output", "skip-headers",
    "skip-log-headers", "help", "version",
})

#: Boolean flags per component (component-base names, after `_` -> `-` normalisation).
BOOL_FLAGS: dict[str, frozenset[str]] = {
    "kube-apiserver": _COMMON_BOOLS | {
        "allow-privileged", "anonymous-auth", "enable-bootstrap-token-auth",
        "enable-aggregator-routing", "enable-garbage-collector", "enable-logs-handler",
        "enable-priority-and-fairness", "profiling", "contention-profiling",
        "service-account-lookup", "service-account-extend-token-expiration",
        "audit-log-compress", "audit-log-batch-throttle-enable", "audit-log-truncate-enabled",
        "audit-webhook-batch-throttle-enable", "audit-webhook-truncate-enabled",
        "watch-cache", "permit-port-sharing", "permit-address-sharing",
        "aggregator-reject-forwarding-redirect", "kubelet-https", "enable-swagger-ui",
        "storage-initialization-timeout-enabled", "disable-http2-serving",
        "enable-content-negotiation", "strict-transport-security-directives-enabled",
    },
    "kube-controller-manager": _COMMON_BOOLS | {
        "profiling", "contention-profiling", "use-service-account-credentials", "leader-elect",
        "allocate-node-cidrs", "configure-cloud-routes", "enable-dynamic-provisioning",
        "enable-garbage-collector", "enable-hostpath-provisioner", "enable-taint-manager",
        "disable-attach-detach-reconcile-sync", "permit-port-sharing", "permit-address-sharing",
        "authentication-skip-lookup", "authentication-tolerate-lookup-failure",
        "enable-leader-migration",
    },
    "kube-scheduler": _COMMON_BOOLS | {
        "profiling", "contention-profiling", "leader-elect", "permit-port-sharing",
        "permit-address-sharing", "authentication-skip-lookup",
        "authentication-tolerate-lookup-failure", "use-legacy-policy-config",
    },
    "kubelet": _COMMON_BOOLS | {
        "anonymous-auth", "authentication-token-webhook", "rotate-certificates",
        "rotate-server-certificates", "protect-kernel-defaults", "make-iptables-util-chains",
        "fail-swap-on", "enable-server", "enable-debugging-handlers", "read-only-port-enabled",
        "serialize-image-pulls", "cgroups-per-qos", "register-node", "exit-on-lock-contention",
        "enable-controller-attach-detach", "keep-terminated-pod-volumes", "localstorage-capacity-isolation",
    },
    "etcd": frozenset({
        "client-cert-auth", "auto-tls", "peer-client-cert-auth", "peer-auto-tls", "enable-pprof",
        "strict-reconfig-check", "force-new-cluster", "enable-v2", "enable-grpc-gateway",
        "experimental-initial-corrupt-check", "experimental-enable-distributed-tracing",
        "experimental-enable-lease-checkpoint", "experimental-enable-lease-checkpoint-persist",
        "experimental-memory-mlock", "experimental-txn-mode-write-with-shared-buffer",
        "experimental-stop-grpc-service-on-defrag", "experimental-compact-hash-check-enabled",
        "experimental-peer-skip-client-san-verification", "peer-skip-client-san-verification",
        "socket-reuse-port", "socket-reuse-address", "discovery-insecure-transport",
        "discovery-insecure-skip-tls-verify", "unsafe-no-fsync", "pre-vote",
        "initial-corrupt-check", "debug", "version", "help",
    }),
}


class FlagValueError(ValueError):
    """A flag value the component would reject at start-up (e.g. `--profiling=maybe`)."""


@dataclass(slots=True, frozen=True)
class Flag:
    """One occurrence of a flag on the command line."""

    name: str  # normalised, without leading dashes
    value: str  # as given; "true" for a bare boolean flag
    token: int  # index in the parsed token list of the token that names the flag
    explicit: bool = True  # False for a bare boolean flag (`--profiling`)


@dataclass(slots=True)
class Flags:
    """The flags of one command line, in order, with the positional arguments and errors."""

    occurrences: list[Flag] = field(default_factory=list)
    positional: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.occurrences)

    def get(self, name: str) -> Flag | None:
        """The occurrence that takes effect for a scalar flag: the last one."""
        for f in reversed(self.occurrences):
            if f.name == name:
                return f
        return None

    def value(self, name: str) -> str | None:
        flag = self.get(name)
        return flag.value if flag is not None else None

    def values(self, name: str) -> list[str]:
        """A string-slice flag: every occurrence split as CSV, appended in order."""
        out: list[str] = []
        for f in self.occurrences:
            if f.name == name:
                out.extend(split_csv(f.value))
        return out

    def boolean(self, name: str) -> bool | None:
        """A boolean flag's effective value, None when unset; FlagValueError if invalid."""
        value = self.value(name)
        return None if value is None else parse_go_bool(value)

    def integer(self, name: str, bits: int = 64) -> int | None:
        """An integer flag's effective value, None when unset; FlagValueError if invalid."""
        value = self.value(name)
        return None if value is None else parse_go_int(value, bits)

    def mapping(self, name: str) -> dict[str, str]:
        """A map flag (`k=v,k2=v2`), merged across occurrences; keys and values trimmed."""
        out: dict[str, str] = {}
        for f in self.occurrences:
            if f.name != name:
                continue
            for pair in f.value.split(","):
                key, sep, val = pair.partition("=")
                if not sep:
                    raise FlagValueError(f"--{name}: malformed pair {pair!r}, expect key=value")
                out[key.strip()] = val.strip()
        return out

    def feature_gates(self, name: str = "feature-gates") -> dict[str, bool]:
        """`--feature-gates` as component-base's MapStringBool reads it."""
        return {k: parse_go_bool(v) for k, v in self.mapping(name).items()}


def split_csv(value: str) -> list[str]:
    """pflag's readAsCSV: "" is no element, otherwise one CSV record (quotes allowed)."""
    if value == "":
        return []
    try:
        rows = list(csv.reader([value], strict=True))
    except csv.Error as err:
        raise FlagValueError(f"invalid list value {value!r}: {err}") from None
    return rows[0] if rows else []


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_go_bool(text: str) -> bool:
    """strconv.ParseBool."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FlagValueError(f"invalid boolean {text!r}")


_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def parse_go_int(text: str, bits: int = 64) -> int:
    """strconv.ParseInt(text, 0, bits): sign, 0b/0o/0x prefixes, leading-0 octal, `_`."""
    s = text
    negative = False
    if s[:1] in ("+", "-"):
        negative, s = s[0] == "-", s[1:]
    base, digits, prefixed = 10, s, False
    if len(s) >= 2 and s[0] == "0":
        marker = s[1].lower()
        if marker in "box":
            base, digits, prefixed = {"b": 2, "o": 8, "x": 16}[marker], s[2:], True
        else:
            base, digits, prefixed = 8, s[1:], True
    if "_" in digits and not _underscore_ok(digits, prefixed):
        raise FlagValueError(f"invalid integer {text!r}")
    plain = digits.replace("_", "")
    if not plain or any(ch not in _DIGITS[base] for ch in plain):
        raise FlagValueError(f"invalid integer {text!r}")
    value = int(plain, base) * (-1 if negative else 1)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise FlagValueError(f"integer {text!r} out of range for {bits} bits")
    return value


def _underscore_ok(digits: str, prefixed: bool) -> bool:
    """Go's underscoreOK: `_` only between digits, or right after a base prefix."""
    previous = "prefix" if prefixed else "start"
    for ch in digits:
        if ch == "_":
            if previous not in ("digit", "prefix"):
                return False
            previous = "_"
        else:
            previous = "digit"
    return previous != "_"


def _normalise(name: str, style: str) -> str:
    return name.replace("_", "-") if style == PFLAG else name


def parse_flags(
    tokens: Sequence[str], *, bool_flags: Iterable[str] = (), style: str = PFLAG
) -> Flags:
    """Parse the arguments after the program name (Go's `os.Args[1:]`).

    `style` is PFLAG (Kubernetes components) or GOFLAG (etcd); `bool_flags` are the
    component's boolean flag names (see BOOL_FLAGS).
    """
    bools = frozenset(bool_flags)
    out = Flags()
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        index = i
        i += 1
        if len(tok) < 2 or tok[0] != "-":
            out.positional.append(tok)
            if style == GOFLAG:  # the standard library stops at the first non-flag argument
                out.positional.extend(tokens[i:])
                if tok:
                    out.errors.append(f"flag parsing stops at argument {tok!r}")
                break
            continue
        if tok == "--":
            out.positional.extend(tokens[i:])
            break
        if style == PFLAG and tok[1] != "-":
            # shorthand (`-v=2`, `-v2`, `-v 2`): recorded under the one-letter name
            name, rest = tok[1], tok[2:]
            value = rest[1:] if rest.startswith("=") else rest
            if not rest and name not in bools and i < n and not tokens[i].startswith("-"):
                value = tokens[i]
                i += 1
            out.occurrences.append(Flag(name, value or "true", index, bool(value)))
            continue
        body = tok[2:] if tok.startswith("--") else tok[1:]
        if not body or body[0] in "-=":
            out.errors.append(f"bad flag syntax: {tok}")
            if style == GOFLAG:
                break
            continue
        name, sep, value = body.partition("=")
        name = _normalise(name, style)
        if sep:
            out.occurrences.append(Flag(name, value, index, True))
        elif name in bools:
            out.occurrences.append(Flag(name, "true", index, False))
        elif i < n and not (tokens[i].startswith("-") and len(tokens[i]) > 1):
            out.occurrences.append(Flag(name, tokens[i], index, True))
            i += 1
        elif i < n:
            # unknown type and the next token looks like a flag: assume a boolean
            out.occurrences.append(Flag(name, "true", index, False))
        else:
            out.errors.append(f"flag needs an argument: {tok}")
            out.occurrences.append(Flag(name, "", index, False))
    return out


@dataclass(slots=True, frozen=True)
class Argv:
    """A container's command line: `command` + `args`, each token with its field path."""

    tokens: tuple[str, ...]
    paths: tuple[tuple[str | int, ...], ...]  # ("command", i) / ("args", i), container-relative
    has_command: bool

    def find_program(self, names: Iterable[str]) -> int | None:
        """Index of the first token that runs one of `names` (by basename), or None.

        `hyperkube <component>` counts as the component itself.
        """
        wanted = set(names)
        for i, tok in enumerate(self.tokens):
            base = tok.rsplit("/", 1)[-1]
            if base in wanted:
                return i
            if base == "hyperkube" and i + 1 < len(self.tokens):
                sub = self.tokens[i + 1]
                if sub in wanted or f"kube-{sub}" in wanted:
                    return i + 1
        return None


_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})


def container_argv(container: Mapping[str, Any]) -> Argv:
    """The argv the kubelet starts (`command` then `args`; string items only).

    A shell wrapper (`sh -c "exec kube-apiserver --x=y"`) is split with POSIX shell rules so
    its flags are seen too; those tokens all point at the script's item.
    """
    tokens: list[str] = []
    paths: list[tuple[str | int, ...]] = []
    command = container.get("command")
    has_command = isinstance(command, list) and bool(command)
    for fld in ("command", "args"):
        items = container.get(fld)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, str):
                continue
            if _is_shell_script(tokens):
                try:
                    parts = shlex.split(item)
                except ValueError:
                    parts = [item]
                tokens.extend(parts)
                paths.extend([(fld, i)] * len(parts))
                continue
            tokens.append(item)
            paths.append((fld, i))
    return Argv(tuple(tokens), tuple(paths), has_command)


def _is_shell_script(previous: Sequence[str]) -> bool:
    return (
        len(previous) >= 2
        and previous[-1] == "-c"
        and previous[0].rsplit("/", 1)[-1] in _SHELLS
    )
