"""The Kubernetes CEL library (k8s.io/apiserver/pkg/cel/library) for cel-expr-python.

Written here because no CEL package ships it. Each function follows the upstream file named
in its section: quantity.go (k8s.io/apimachinery resource.Quantity), urls.go (Go net/url),
regex.go, lists.go, ip.go, cidr.go (Go net/netip), semver.go / semverlib.go.

Opaque values. Upstream `Quantity`, `URL`, `IP`, `CIDR` and `Semver` are opaque CEL types.
cel-expr-python cannot carry a Python object through an expression: a function declared with
`cel.Type.AbstractType` compiles but fails at evaluation with "Unimplemented type: 13"
(measured with cel-expr-python 0.x). So each value is a one-entry map with a reserved key,
`{"@kubernetes.Quantity": "<exact rational>"}`, declared as `map(string, dyn)`; the key holds
a canonical form, so `==` between two values means what upstream's `Equal` means (two
quantities are equal when their amounts are: `quantity("1") == quantity("1000m")`).
Member functions take `map(string, dyn)` receivers and dispatch on the key, because member
names are shared (quantity and semver both have `compareTo`). Consequences, documented in
docs/vap.md: such a value is a map to `type()`; `string(ip)` / `string(cidr)` and the list
`indexOf` / `lastIndexOf` are not available, since `string` is built in and the strings
extension owns `indexOf` / `lastIndexOf`, and cel-expr-python refuses to add overloads to
a function declared elsewhere ("function declared multiple times").

An exception raised by an implementation becomes a CEL error value (the expression fails,
which the caller turns into a policy error), as `types.NewErr` does upstream.

Memory: cel-expr-python 0.1.3 leaks one reference to every Python object it passes to or
receives from a Python function (measured with tracemalloc: about 50 bytes per string
argument, about 230 bytes per map argument or result). Expressions that call none of
these functions leak nothing. The constructors (`quantity`, `url`, `ip`, `cidr`, `semver`)
are cached so that their results are shared objects; the arguments still leak. For a
long-running process this is about 1 KB per evaluation of a policy that compares two
quantities (bench/results/vap.md).
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import lru_cache
from typing import Any
from urllib.parse import quote

__all__ = [
    "CIDR_KEY", "IP_KEY", "QUANTITY_KEY", "SEMVER_KEY", "URL_KEY", "authz_decls",
    "function_decls",
    "parse_quantity",
]

QUANTITY_KEY = "@kubernetes.Quantity"
URL_KEY = "@kubernetes.URL"
IP_KEY = "@net.IP"
CIDR_KEY = "@net.CIDR"
SEMVER_KEY = "@kubernetes.Semver"


class LibError(ValueError):
    """An evaluation error of a library function (becomes a CEL error value)."""


# --- quantity.go: resource.Quantity ---------------------------------------------------

_NANO = Fraction(1, 10**9)
_MAX_INT64 = 2**63 - 1
_DEC_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
               "E": 18}
_BIN_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_MAX_EXPONENT = 10_000  # kubeward's guard against 10**(2**31); upstream has no bound


def _split_quantity(text: str) -> tuple[bool, str, str, str]:
    """resource.parseQuantityString: (positive, numerator, denominator, suffix)."""
    positive, pos, end = True, 0, len(text)
    if text[:1] == "-":
        positive, pos = False, 1
    elif text[:1] == "+":
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos].isdigit() and text[pos].isascii():
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    if pos < end:
        raise LibError("quantities must match the regular expression "
                       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    return positive, num, denom, text[suffix_start:]


@lru_cache(maxsize=4096)
def parse_quantity(text: str) -> tuple[Fraction, str]:
    """resource.ParseQuantity: the exact amount (after upstream's rounding up to 1n and
    its BinarySI cap) and the format (DecimalSI, BinarySI, DecimalExponent)."""
    if not text:
        raise LibError("quantities must match the regular expression "
                       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    if text == "0":
        return Fraction(0), "DecimalSI"
    positive, num, denom, suffix = _split_quantity(text)
    if suffix in _DEC_SUFFIX:
        base, exponent, fmt = 10, _DEC_SUFFIX[suffix], "DecimalSI"
    elif suffix in _BIN_SUFFIX:
        base, exponent, fmt = 2, _BIN_SUFFIX[suffix], "BinarySI"
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?\d+", suffix[1:]):
        base, exponent, fmt = 10, int(suffix[1:]), "DecimalExponent"
        if abs(exponent) > _MAX_EXPONENT:
            raise LibError(f"quantity exponent {exponent} is out of range")
    else:
        raise LibError("unable to parse quantity's suffix")
    amount = Fraction(int(num + denom), 10 ** len(denom)) * Fraction(base) ** exponent
    if amount.denominator != 1 and (amount / _NANO).denominator != 1:
        # Rounded up (away from zero) to the nearest nano, as inf.RoundUp in ParseQuantity.
        units = -(-amount.numerator * 10**9 // amount.denominator)
        amount = Fraction(units, 10**9)
    if fmt == "BinarySI" and amount > _MAX_INT64:
        amount = Fraction(_MAX_INT64)
    if fmt == "BinarySI" and 0 < amount < 1:
        fmt = "DecimalSI"
    return (amount if positive else -amount), fmt


def _q(amount: Fraction) -> dict[str, Any]:
    return {QUANTITY_KEY: f"{amount.numerator}/{amount.denominator}"}


def _amount(value: Mapping[str, Any]) -> Fraction:
    raw = value.get(QUANTITY_KEY)
    if not isinstance(raw, str):
        raise LibError("no such overload: expected a quantity")
    return Fraction(raw)


@lru_cache(maxsize=4096)
def _quantity(text: str) -> dict[str, Any]:
    # Cached: the same dict is returned for the same text (never mutated), which also
    # keeps cel-expr-python's reference leak on returned values from growing (see
    # the module doc).
    return _q(parse_quantity(text)[0])


def _is_quantity(text: str) -> bool:
    try:
        parse_quantity(text)
    except LibError:
        return False
    return True


def _as_integer(q: Mapping[str, Any]) -> int:
    amount = _amount(q)
    if amount.denominator != 1 or not -(2**63) <= amount <= _MAX_INT64:
        raise LibError("cannot convert value to integer")
    return int(amount)


def _is_integer(q: Mapping[str, Any]) -> bool:
    amount = _amount(q)
    return amount.denominator == 1 and -(2**63) <= amount <= _MAX_INT64


def _as_float(q: Mapping[str, Any]) -> float:
    amount = _amount(q)
    try:
        return float(amount)
    except OverflowError:
        return float("inf") if amount > 0 else float("-inf")


def _sign(q: Mapping[str, Any]) -> int:
    amount = _amount(q)
    return (amount > 0) - (amount < 0)


def _div_round(q: Mapping[str, Any], n: int, places: int = 4) -> dict[str, Any]:
    """Quantity.QuoRound(n, places): the quotient rounded half up at `places` decimals."""
    if n == 0:
        raise LibError("division by zero error")
    if not 0 <= places <= 10:
        raise LibError(f"the valid range for roundVal is 0 to 10 but {places} was passed")
    exact = _amount(q) / n
    scale = 10**places
    scaled = abs(exact) * scale
    rounded = Fraction(int(scaled + Fraction(1, 2)), scale)
    return _q(rounded if exact >= 0 else -rounded)


def _div_int(q: Mapping[str, Any], n: int) -> dict[str, Any]:
    """Quantity.QuoIntegerDivision: the quotient truncated to an integer."""
    if n == 0:
        raise LibError("division by zero error")
    exact = _amount(q) / n
    return _q(Fraction(int(exact)))


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


# --- semver.go / semverlib.go (blang/semver strict parsing) ----------------------------

_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?")


@lru_cache(maxsize=1024)
def _semver(text: str) -> dict[str, Any]:
    if not _SEMVER.fullmatch(text):
        raise LibError(f"No Major.Minor.Patch elements found in {_goq(text)}"
                       if text.count(".") < 2 else f"invalid semver {_goq(text)}")
    return {SEMVER_KEY: text}


def _is_semver(text: str) -> bool:
    return _SEMVER.fullmatch(text) is not None


def _semver_parts(v: Mapping[str, Any]) -> tuple[int, int, int, list[str]]:
    m = _SEMVER.fullmatch(str(v.get(SEMVER_KEY, "")))
    if m is None:
        raise LibError("no such overload: expected a semver")
    pre = m.group(4).split(".") if m.group(4) else []
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), pre


def _semver_cmp(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    """semver precedence (build metadata ignored, a pre-release sorts before its release)."""
    *av, apre = _semver_parts(a)
    *bv, bpre = _semver_parts(b)
    if av != bv:
        return _cmp(av, bv)
    if not apre or not bpre:
        return _cmp(not apre, not bpre)
    for x, y in zip(apre, bpre, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return _cmp(int(x), int(y))
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1
        return _cmp(x, y)
    return _cmp(len(apre), len(bpre))


# --- shared comparison members (quantity + semver) -------------------------------------

def _compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    if QUANTITY_KEY in a and QUANTITY_KEY in b:
        return _cmp(_amount(a), _amount(b))
    if SEMVER_KEY in a and SEMVER_KEY in b:
        return _semver_cmp(a, b)
    raise LibError("no such overload: compareTo needs two quantities or two semvers")


def _add(a: Mapping[str, Any], b: Any) -> dict[str, Any]:
    return _q(_amount(a) + (b if isinstance(b, int) else _amount(b)))


def _sub(a: Mapping[str, Any], b: Any) -> dict[str, Any]:
    return _q(_amount(a) - (b if isinstance(b, int) else _amount(b)))


# --- urls.go: Go net/url ParseRequestURI + Parse ----------------------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_HOST_OK = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:\[\]%<>\"]*")
_PATH_OK = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/\[\]]|%[0-9A-Fa-f]{2})*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _goq(text: str) -> str:
    """Go's %q for the common case (double quotes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_url(text: str) -> dict[str, str]:
    """url.ParseRequestURI's checks, then url.Parse's components."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise LibError("URL parse error during conversion from string: parse "
                       f"{_goq(text)}: net/url: invalid control character in URL")
    rest = text
    scheme = ""
    m = _SCHEME.match(rest)
    if m and rest[m.end():m.end() + 1] == ":":
        scheme, rest = m.group(0), rest[m.end() + 1:]
    elif rest.startswith(":"):
        raise LibError(f"URL parse error during conversion from string: parse {_goq(text)}: "
                       "missing protocol scheme")
    # ParseRequestURI: no fragment split; an absolute URI or an absolute path.
    request_rest = rest.split("?", 1)[0]
    if not request_rest.startswith("/"):
        raise LibError(f"URL parse error during conversion from string: parse {_goq(text)}: "
                       "invalid URI for request")
    rest, _, _fragment = rest.partition("#")
    rest, has_query, query = rest.partition("?")
    host = ""
    if scheme and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        path = slash + path
        _userinfo, at, hostport = authority.rpartition("@")
        host = hostport if at else authority
        _check_host(text, host)
    else:
        path = rest
    if _BAD_ESCAPE.search(path) or _BAD_ESCAPE.search(host):
        bad = _BAD_ESCAPE.search(path) or _BAD_ESCAPE.search(host)
        assert bad is not None
        raise LibError(f"URL parse error during conversion from string: parse {_goq(text)}: "
                       f"invalid URL escape {(path + host)[bad.start():bad.start() + 3]!r}")
    return {URL_KEY: text, "scheme": scheme, "host": host, "path": path,
            "query": query if has_query else ""}


def _check_host(text: str, host: str) -> None:
    if host.startswith("["):
        close = host.find("]")
        if close < 0:
            raise LibError(f"URL parse error during conversion from string: parse {_goq(text)}: "
                           "missing ']' in host")
        port = host[close + 1:]
    else:
        colon = host.rfind(":")
        port = host[colon:] if colon >= 0 else ""
    if port and not ((port.startswith(":") and port[1:].isdigit()) or port == ":"):
        raise LibError(f"URL parse error during conversion from string: parse {_goq(text)}: "
                       f"invalid port {_goq(port)} after host")
    if not _HOST_OK.fullmatch(host):
        bad = next(c for c in host if not _HOST_OK.fullmatch(c))
        raise LibError(f"URL parse error during conversion from string: parse {_goq(text)}: "
                       f"invalid character {_goq(bad)} in host name")


@lru_cache(maxsize=1024)
def _url(text: str) -> dict[str, Any]:
    return _parse_url(text)


def _is_url(text: str) -> bool:
    try:
        _parse_url(text)
    except LibError:
        return False
    return True


def _url_part(u: Mapping[str, Any], key: str) -> str:
    if URL_KEY not in u:
        raise LibError("no such overload: expected a URL")
    return str(u.get(key, ""))


def _hostname(u: Mapping[str, Any]) -> str:
    """url.URL.Hostname: the host without port, IPv6 brackets removed."""
    host = _url_part(u, "host")
    if host.startswith("["):
        return host[1:host.find("]")]
    return host.rpartition(":")[0] if ":" in host else host


def _port(u: Mapping[str, Any]) -> str:
    """url.URL.Port: digits after the last colon (outside IPv6 brackets), else ""."""
    host = _url_part(u, "host")
    tail = host[host.find("]") + 1:] if host.startswith("[") else host
    if ":" not in tail:
        return ""
    port = tail.rpartition(":")[2]
    return port if port.isdigit() else ""


def _unescape(text: str, plus: bool) -> str | None:
    """url.QueryUnescape (None for an invalid escape)."""
    if _BAD_ESCAPE.search(text):
        return None
    from urllib.parse import unquote

    if plus:
        text = text.replace("+", " ")
    return unquote(text, errors="surrogateescape")


def _escaped_path(u: Mapping[str, Any]) -> str:
    """url.URL.EscapedPath: the path as written when it is a valid encoding, else escaped."""
    path = _url_part(u, "path")
    if _PATH_OK.fullmatch(path):
        return path
    raw = _unescape(path, plus=False)
    return quote(raw if raw is not None else path, safe="/$&+,:;=@-_.~")


def _query(u: Mapping[str, Any]) -> dict[str, list[str]]:
    """url.URL.Query: pairs split on `&` (a pair with `;` or a bad escape is dropped)."""
    out: dict[str, list[str]] = {}
    for pair in _url_part(u, "query").split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        k, v = _unescape(key, plus=True), _unescape(value, plus=True)
        if k is None or v is None:
            continue
        out.setdefault(k, []).append(v)
    return out


# --- regex.go --------------------------------------------------------------------------

@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise LibError(f"error parsing regexp: {exc}") from None


def _find(text: str, pattern: str) -> str:
    m = _regex(pattern).search(text)
    return m.group(0) if m else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    out = [m.group(0) for m in _regex(pattern).finditer(text)]
    return out if limit < 0 else out[:limit]


# --- lists.go --------------------------------------------------------------------------

def _is_sorted(items: list[Any]) -> bool:
    try:
        return all(not (a > b) for a, b in itertools.pairwise(items))
    except TypeError:
        raise LibError("no such overload: isSorted needs comparable elements") from None


def _sum(items: list[Any]) -> Any:
    if items and all(isinstance(i, datetime.timedelta) for i in items):
        return sum(items, datetime.timedelta(0))
    if not all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items):
        raise LibError("no such overload: sum needs numbers or durations")
    return sum(items)


def _extreme(name: str, pick: Callable[..., Any]) -> Callable[[list[Any]], Any]:
    def impl(items: list[Any]) -> Any:
        if not items:
            raise LibError(f"{name} called on empty list")
        try:
            return pick(items)
        except TypeError:
            raise LibError(f"no such overload: {name} needs comparable elements") from None
    return impl


# --- ip.go / cidr.go: Go net/netip --------------------------------------------------------

Addr = ipaddress.IPv4Address | ipaddress.IPv6Address
Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_addr(text: str) -> Addr:
    """netip.ParseAddr plus ip.go's refusals (zones, IPv4-mapped IPv6)."""
    if "%" in text:
        raise LibError(f"IP Address {_goq(text)} with zone value is not allowed")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise LibError(f"IP Address {_goq(text)} parse error during conversion from string: "
                       f"ParseAddr({_goq(text)}): unable to parse IP") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        raise LibError(f"IPv4-mapped IPv6 address {_goq(text)} is not allowed")
    return addr


@lru_cache(maxsize=1024)
def _ip(text: str) -> dict[str, Any]:
    return {IP_KEY: str(_parse_addr(text))}


def _is_ip(text: str) -> bool:
    try:
        _parse_addr(text)
    except LibError:
        return False
    return True


def _ip_is_canonical(text: str) -> bool:
    return str(_parse_addr(text)) == text


def _addr(v: Mapping[str, Any]) -> Addr:
    if IP_KEY not in v:
        raise LibError("no such overload: expected an IP")
    return ipaddress.ip_address(v[IP_KEY])


def _global_unicast(a: Addr) -> bool:
    """netip.Addr.IsGlobalUnicast (private ranges count, unlike Python's is_global)."""
    if isinstance(a, ipaddress.IPv4Address) and int(a) == 0xFFFFFFFF:
        return False
    return not (a.is_unspecified or a.is_loopback or a.is_multicast or a.is_link_local)


def _link_local_multicast(a: Addr) -> bool:
    if isinstance(a, ipaddress.IPv4Address):
        return a in ipaddress.ip_network("224.0.0.0/24")
    return a.is_multicast and (a.packed[1] & 0x0F) == 0x02


def _parse_prefix(text: str) -> tuple[Addr, int]:
    """netip.ParsePrefix: an address (kept unmasked) and a prefix length."""
    addr_text, slash, bits_text = text.partition("/")
    if not slash or not bits_text.isdigit() or (len(bits_text) > 1 and bits_text[0] == "0"):
        raise LibError(f"network address parse error during conversion from string: "
                       f"netip.ParsePrefix({_goq(text)}): bad bits")
    addr = _parse_addr(addr_text)
    bits = int(bits_text)
    if bits > addr.max_prefixlen:
        raise LibError(f"network address parse error during conversion from string: "
                       f"netip.ParsePrefix({_goq(text)}): prefix length out of range")
    return addr, bits


@lru_cache(maxsize=1024)
def _cidr(text: str) -> dict[str, Any]:
    addr, bits = _parse_prefix(text)
    return {CIDR_KEY: f"{addr}/{bits}"}


def _is_cidr(text: str) -> bool:
    try:
        _parse_prefix(text)
    except LibError:
        return False
    return True


def _prefix(v: Mapping[str, Any]) -> tuple[Addr, int]:
    if CIDR_KEY not in v:
        raise LibError("no such overload: expected a CIDR")
    return _parse_prefix(str(v[CIDR_KEY]))


def _network(v: Mapping[str, Any]) -> Net:
    addr, bits = _prefix(v)
    return ipaddress.ip_network(f"{addr}/{bits}", strict=False)


def _contains_ip(c: Mapping[str, Any], other: Any) -> bool:
    addr = _parse_addr(other) if isinstance(other, str) else _addr(other)
    net = _network(c)
    return addr.version == net.version and addr in net


def _contains_cidr(c: Mapping[str, Any], other: Any) -> bool:
    o_addr, o_bits = _parse_prefix(other) if isinstance(other, str) else _prefix(other)
    net = _network(c)
    if o_addr.version != net.version:
        return False
    return o_bits >= net.prefixlen and o_addr in net


def _cidr_masked(c: Mapping[str, Any]) -> dict[str, Any]:
    return {CIDR_KEY: str(_network(c))}


# --- ip / member dispatch on the reserved key --------------------------------------------

def _ip_member(v: Mapping[str, Any]) -> dict[str, Any]:
    """<CIDR>.ip(): the prefix's address as written (not masked)."""
    return {IP_KEY: str(_prefix(v)[0])}


def _family(v: Mapping[str, Any]) -> int:
    return _addr(v).version


_IP_TESTS: dict[str, Callable[[Addr], bool]] = {
    "isUnspecified": lambda a: a.is_unspecified,
    "isLoopback": lambda a: a.is_loopback,
    "isLinkLocalMulticast": _link_local_multicast,
    "isLinkLocalUnicast": lambda a: a.is_link_local and not a.is_multicast,
    "isGlobalUnicast": _global_unicast,
}


# authz.go: declared so that policies using `authorizer` compile; offline there is no
# authorizer, so evaluation never reaches these (the caller reports the expression as an
# error before evaluating it) and each raises if it is reached anyway.
_AUTHZ_MEMBERS = {
    "group": 1, "resource": 1, "subresource": 1, "namespace": 1, "name": 1, "path": 1,
    "check": 1, "serviceAccount": 2, "fieldSelector": 1, "labelSelector": 1,
}
_AUTHZ_BOOL = ("allowed", "errored")
_AUTHZ_STRING = ("reason", "error")


def _no_authorizer(*_args: Any) -> Any:
    raise LibError("authorizer is not available offline")


def authz_decls() -> list[Any]:
    """The authorizer library (authz.go) for type checking only (all arguments `dyn`)."""
    from cel_expr_python import cel

    t = cel.Type
    decls = [cel.FunctionDecl(name, [cel.Overload(f"kubeward_authz_{name}", t.DYN,
                                                  [t.DYN] * (1 + n), True, _no_authorizer)])
             for name, n in _AUTHZ_MEMBERS.items()]
    decls += [cel.FunctionDecl(name, [cel.Overload(f"kubeward_authz_{name}", t.BOOL, [t.DYN],
                                                   True, _no_authorizer)])
              for name in _AUTHZ_BOOL]
    decls += [cel.FunctionDecl(name, [cel.Overload(f"kubeward_authz_{name}", t.STRING,
                                                   [t.DYN], True, _no_authorizer)])
              for name in _AUTHZ_STRING]
    return decls


def function_decls() -> list[Any]:
    """The FunctionDecls registered in every kubeward CEL environment."""
    from cel_expr_python import cel

    t = cel.Type
    obj = t.Map(t.STRING, t.DYN)  # the opaque-value representation (see module doc)
    s, b, i, d, dyn = t.STRING, t.BOOL, t.INT, t.DOUBLE, t.DYN
    lst = t.List(dyn)

    def fn(name: str, *overloads: tuple[str, Any, list[Any], bool, Callable[..., Any]]) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(oid, ret, params, member, impl)
                                       for oid, ret, params, member, impl in overloads])

    decls = [
        # quantity.go
        fn("quantity", ("string_to_quantity", obj, [s], False, _quantity)),
        fn("isQuantity", ("is_quantity_string", b, [s], False, _is_quantity)),
        fn("sign", ("quantity_sign", i, [obj], False, _sign),
           ("quantity_sign_member", i, [obj], True, _sign)),
        fn("isGreaterThan", ("obj_is_greater_than", b, [obj, obj], True,
                             lambda x, y: _compare(x, y) == 1)),
        fn("isLessThan", ("obj_is_less_than", b, [obj, obj], True,
                          lambda x, y: _compare(x, y) == -1)),
        fn("compareTo", ("obj_compare_to", i, [obj, obj], True, _compare)),
        fn("asApproximateFloat", ("quantity_get_float", d, [obj], True, _as_float)),
        fn("asInteger", ("quantity_get_int", i, [obj], True, _as_integer)),
        fn("isInteger", ("quantity_is_integer", b, [obj], True, _is_integer)),
        fn("add", ("quantity_add", obj, [obj, obj], True, _add),
           ("quantity_add_int", obj, [obj, i], True, _add)),
        fn("sub", ("quantity_sub", obj, [obj, obj], True, _sub),
           ("quantity_sub_int", obj, [obj, i], True, _sub)),
        fn("mul", ("quantity_multiply_int", obj, [obj, i], True,
                   lambda q, n: _q(_amount(q) * n))),
        fn("div", ("quantity_divide_int_default_rounding", obj, [obj, i], True, _div_round),
           ("quantity_divide_int_round", obj, [obj, i, i], True, _div_round)),
        fn("divInt", ("quantity_divide_int", obj, [obj, i], True, _div_int)),
        # urls.go
        fn("url", ("string_to_url", obj, [s], False, _url)),
        fn("isURL", ("is_url_string", b, [s], False, _is_url)),
        fn("getScheme", ("url_get_scheme", s, [obj], True, lambda u: _url_part(u, "scheme"))),
        fn("getHost", ("url_get_host", s, [obj], True, lambda u: _url_part(u, "host"))),
        fn("getHostname", ("url_get_hostname", s, [obj], True, _hostname)),
        fn("getPort", ("url_get_port", s, [obj], True, _port)),
        fn("getEscapedPath", ("url_get_escaped_path", s, [obj], True, _escaped_path)),
        fn("getQuery", ("url_get_query", t.Map(s, t.List(s)), [obj], True, _query)),
        # regex.go
        fn("find", ("string_find_string", s, [s, s], True, _find)),
        fn("findAll", ("string_find_all_string", t.List(s), [s, s], True, _find_all),
           ("string_find_all_string_int", t.List(s), [s, s, i], True, _find_all)),
        # lists.go (indexOf / lastIndexOf: see the module doc)
        fn("isSorted", ("list_is_sorted", b, [lst], True, _is_sorted)),
        fn("sum", ("list_sum", dyn, [lst], True, _sum)),
        fn("min", ("list_min", dyn, [lst], True, _extreme("min", min))),
        fn("max", ("list_max", dyn, [lst], True, _extreme("max", max))),
        # ip.go / cidr.go
        fn("ip", ("string_to_ip", obj, [s], False, _ip),
           ("cidr_ip", obj, [obj], True, _ip_member)),
        fn("isIP", ("is_ip", b, [s], False, _is_ip)),
        fn("ip.isCanonical", ("ip_is_canonical", b, [s], False, _ip_is_canonical)),
        fn("family", ("ip_family", i, [obj], True, _family)),
        *(fn(name, (f"ip_{name}", b, [obj], True,
                    lambda v, test=test: test(_addr(v)))) for name, test in _IP_TESTS.items()),
        fn("cidr", ("string_to_cidr", obj, [s], False, _cidr)),
        fn("isCIDR", ("is_cidr", b, [s], False, _is_cidr)),
        fn("containsIP", ("cidr_contains_ip_string", b, [obj, s], True, _contains_ip),
           ("cidr_contains_ip_ip", b, [obj, obj], True, _contains_ip)),
        fn("containsCIDR", ("cidr_contains_cidr_string", b, [obj, s], True, _contains_cidr),
           ("cidr_contains_cidr", b, [obj, obj], True, _contains_cidr)),
        fn("masked", ("cidr_masked", obj, [obj], True, _cidr_masked)),
        fn("prefixLength", ("cidr_prefix_length", i, [obj], True, lambda c: _prefix(c)[1])),
        # semver.go
        fn("semver", ("string_to_semver", obj, [s], False, _semver)),
        fn("isSemver", ("is_semver", b, [s], False, _is_semver)),
        fn("major", ("semver_major", i, [obj], True, lambda v: _semver_parts(v)[0])),
        fn("minor", ("semver_minor", i, [obj], True, lambda v: _semver_parts(v)[1])),
        fn("patch", ("semver_patch", i, [obj], True, lambda v: _semver_parts(v)[2])),
    ]
    return decls
