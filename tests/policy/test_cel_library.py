"""The rest of the Kubernetes CEL library: urls, regex, lists, ip, cidr, semver, strings.

Cases ported from kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/cel/library:
urls.go (doc comment examples), regex.go (doc comment), lists.go (doc comment),
ip_test.go (TestIP), cidr_test.go / cidr.go (doc comment), semver.go (doc comment); the
strings and optional cases are the cel-go extensions the API server enables
(ext.Strings, cel.OptionalTypes).
"""

from __future__ import annotations

import pytest

from kubeward.cel import CelError, Environment

ENV = Environment(["object"])


def run(expr: str, obj: object = None) -> object:
    return ENV.compile(expr).evaluate({"object": obj if obj is not None else {}})


CASES = [
    # urls.go
    ("isURL('https://user:pass@example.com:80/path?query=val#fragment')", True),
    ("isURL('/absolute-path')", True),
    ("isURL('https://a:b:c/')", False),
    ("isURL('../relative-path')", False),
    ("url('/path').getScheme()", ""),
    ("url('https://example.com/').getScheme()", "https"),
    ("url('https://example.com:80/').getHost()", "example.com:80"),
    ("url('https://example.com/').getHost()", "example.com"),
    ("url('https://[::1]:80/').getHost()", "[::1]:80"),
    ("url('https://[::1]/').getHost()", "[::1]"),
    ("url('/path').getHost()", ""),
    ("url('https://example.com:80/').getHostname()", "example.com"),
    ("url('https://127.0.0.1:80/').getHostname()", "127.0.0.1"),
    ("url('https://[::1]:80/').getHostname()", "::1"),
    ("url('/path').getHostname()", ""),
    ("url('https://example.com:80/').getPort()", "80"),
    ("url('https://example.com/').getPort()", ""),
    ("url('/path').getPort()", ""),
    ("url('https://example.com/path').getEscapedPath()", "/path"),
    ("url('https://example.com/path with spaces/').getEscapedPath()", "/path%20with%20spaces/"),
    ("url('https://example.com').getEscapedPath()", ""),
    ("url('https://example.com/path?k1=a&k2=b&k2=c').getQuery()",
     {"k1": ["a"], "k2": ["b", "c"]}),
    ("url('https://example.com/path?key with spaces=value with spaces').getQuery()",
     {"key with spaces": ["value with spaces"]}),
    ("url('https://example.com/path?').getQuery()", {}),
    ("url('https://example.com/path').getQuery()", {}),
    # regex.go
    ("'abc 123'.find('[0-9]+')", "123"),
    ("'abc'.find('[0-9]+')", ""),
    ("'123 abc 456'.findAll('[0-9]+')", ["123", "456"]),
    ("'123 abc 456'.findAll('[0-9]+', 1)", ["123"]),
    ("'123 abc 456'.findAll('xyz')", []),
    # lists.go
    ("[1, 2, 3].isSorted()", True),
    ("['a', 'b', 'b', 'c'].isSorted()", True),
    ("[2.0, 1.0].isSorted()", False),
    ("[1].isSorted()", True),
    ("[].isSorted()", True),
    ("[1, 3].sum()", 4),
    ("[1.0, 3.0].sum()", 4.0),
    ("[].sum()", 0),
    ("[1, 3].min()", 1),
    ("[1, 3].max()", 3),
    ("[1].min()", 1),
    # ip_test.go TestIP
    ('isIP("192.168.0.1")', True),
    ('isIP("192.168.0.1.0")', False),
    ('ip.isCanonical("127.0.0.1")', True),
    ('ip("192.168.0.1").family()', 4),
    ('ip("0.0.0.0").isUnspecified()', True),
    ('ip("127.0.0.1").isUnspecified()', False),
    ('ip("127.0.0.1").isLoopback()', True),
    ('ip("1.2.3.4").isLoopback()', False),
    ('ip("224.0.0.1").isLinkLocalMulticast()', True),
    ('ip("224.0.1.1").isLinkLocalMulticast()', False),
    ('ip("169.254.169.254").isLinkLocalUnicast()', True),
    ('ip("192.168.0.1").isLinkLocalUnicast()', False),
    ('ip("192.168.0.1").isGlobalUnicast()', True),
    ('ip("255.255.255.255").isGlobalUnicast()', False),
    ('isIP("2001:db8::68")', True),
    ('isIP("2001:db8:::68")', False),
    ('ip.isCanonical("2001:db8::68")', True),
    ('ip.isCanonical("2001:DB8::68")', False),
    ('ip("2001:db8::68").family()', 6),
    ('ip("::").isUnspecified()', True),
    ('ip("::1").isUnspecified()', False),
    ('ip("::1").isLoopback()', True),
    ('ip("2001:db8::abcd").isLoopback()', False),
    ('ip("ff02::1").isLinkLocalMulticast()', True),
    ('ip("fd00::1").isLinkLocalMulticast()', False),
    ('ip("fe80::1").isLinkLocalUnicast()', True),
    ('ip("fd80::1").isLinkLocalUnicast()', False),
    ('ip("2001:db8::abcd").isGlobalUnicast()', True),
    ('ip("ff00::1").isGlobalUnicast()', False),
    # cidr.go
    ('isCIDR("192.168.0.0/24")', True),
    ('isCIDR("192.168.0.0/33")', False),
    ('isCIDR("192.168.0.0")', False),
    ('cidr("192.168.0.0/24").containsIP(ip("192.168.0.1"))', True),
    ('cidr("192.168.0.0/24").containsIP(ip("192.168.1.1"))', False),
    ('cidr("192.168.0.0/24").containsIP("192.168.0.1")', True),
    ('cidr("192.168.0.0/24").containsIP("::1")', False),
    ('cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/25"))', True),
    ('cidr("192.168.0.0/24").containsCIDR("192.168.0.0/23")', False),
    ('cidr("192.168.0.0/24").containsCIDR("192.168.0.0/24")', True),
    ('cidr("192.168.0.1/24").ip() == ip("192.168.0.1")', True),
    ('cidr("192.168.0.1/24").masked() == cidr("192.168.0.0/24")', True),
    ('cidr("192.168.0.0/24").prefixLength()', 24),
    ('cidr("::1/128").ip().family()', 6),
    # semver.go
    ('isSemver("1.0.0")', True),
    ('isSemver("v1.0")', False),
    ('semver("1.2.3").major()', 1),
    ('semver("1.2.3").minor()', 2),
    ('semver("1.2.3").patch()', 3),
    ('semver("1.0.0").isGreaterThan(semver("0.1.0"))', True),
    ('semver("1.0.0-alpha").isLessThan(semver("1.0.0"))', True),
    ('semver("1.0.0-alpha.1").compareTo(semver("1.0.0-alpha.beta"))', -1),
    ('semver("1.0.0+build.1") == semver("1.0.0+build.1")', True),
    ('semver("1.0.0+a").compareTo(semver("1.0.0+b"))', 0),
    # ext.Strings and optional types, as enabled on the API server
    ("'ABC'.lowerAscii()", "abc"),
    ("'a,b'.split(',')", ["a", "b"]),
    ("'  x '.trim()", "x"),
    ("'abc'.matches('^a')", True),
    ("object.?spec.?replicas.orValue(1)", 1),
]


@pytest.mark.parametrize(("expr", "expected"), CASES)
def test_library_values(expr: str, expected: object) -> None:
    assert run(expr) == expected


ERRORS = [
    ("url('https://a:b:c/')", 'invalid port ":c" after host'),
    ("url('../relative-path')", "invalid URI for request"),
    ("url('http://ex ample.com/')", "invalid character"),
    ("url('/bad%zzescape')", "invalid URL escape"),
    ("[].min()", "min called on empty list"),
    ("[].max()", "max called on empty list"),
    ("'x'.find('[')", "error parsing regexp"),
    ('ip("192.168.0.1.0")',
     'IP Address "192.168.0.1.0" parse error during conversion from string'),
    ('ip.isCanonical("127.0.0.1.0")', 'IP Address "127.0.0.1.0" parse error'),
    ('ip("fe80::1%eth0")', "zone value is not allowed"),
    ('ip("::ffff:1.2.3.4")', "IPv4-mapped IPv6 address"),
    ('cidr("192.168.0.0/33")', "prefix length out of range"),
    ('semver("v1.0")', "Major.Minor.Patch"),
    ('quantity("1").compareTo(semver("1.0.0"))', "no such overload"),
]


@pytest.mark.parametrize(("expr", "pattern"), ERRORS)
def test_library_errors(expr: str, pattern: str) -> None:
    with pytest.raises(CelError, match=pattern):
        run(expr)


def test_ip_does_not_accept_a_cidr_at_compile_time() -> None:
    # ip_test.go: "passing cidr into isIP returns compile error"
    with pytest.raises(CelError, match="no matching overload for 'isIP'"):
        ENV.compile('isIP(cidr("192.168.0.0/24"))')


def test_library_functions_work_on_request_data() -> None:
    pod = {"spec": {"containers": [{"resources": {"limits": {"memory": "2Gi"}}}]}}
    expr = ('object.spec.containers.all(c, quantity(c.resources.limits.memory)'
            '.isLessThan(quantity("4Gi")))')
    assert run(expr, pod) is True
    pod["spec"]["containers"][0]["resources"]["limits"]["memory"] = "5Gi"
    assert run(expr, pod) is False
