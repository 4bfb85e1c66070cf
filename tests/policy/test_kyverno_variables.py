"""`{{ }}` substitution and Kyverno's JMESPath functions.

Cases from the Kyverno documentation, "Variables" (https://kyverno.io/docs/writing-policies/variables/:
typed substitution, escaping, nested variables) and "JMESPath" > "Custom Filters"
(https://kyverno.io/docs/writing-policies/jmespath/), with kyverno pkg/engine/jmespath tests.
"""

from __future__ import annotations

import pytest

from kubeward.policy.kyverno.jmespath_ext import JMESPathError, search
from kubeward.policy.kyverno.variables import Context, VariableError, substitute

CTX = Context(
    {
        "request": {
            "object": {
                "metadata": {"name": "web", "labels": {"app": "shop", "n": "3"}},
                "spec": {"replicas": 2},
            },
            "operation": "CREATE",
        },
        "key": "app",
    }
)


def test_a_whole_string_variable_keeps_its_type():
    assert substitute("{{ request.object.spec.replicas }}", CTX) == 2
    assert substitute("{{ request.object.metadata.labels }}", CTX) == {"app": "shop", "n": "3"}


def test_variables_inside_text_are_spliced_as_text_or_json():
    assert substitute("name-{{ request.object.metadata.name }}", CTX) == "name-web"
    assert substitute("r={{ request.object.spec.replicas }}", CTX) == "r=2"
    assert substitute("l={{ request.object.metadata.labels }}", CTX) == 'l={"app":"shop","n":"3"}'


def test_escaped_variables_are_left_alone():
    # one leading backslash is removed from an escaped variable (RegexEscpVariables)
    escaped = "\\\\{{ request.object.metadata.name }}"
    assert substitute(escaped, CTX) == escaped[1:]
    assert substitute("\\{{ not.a.variable }}", CTX) == "{{ not.a.variable }}"


def test_nested_variables_resolve_inside_out():
    assert substitute("{{ request.object.metadata.labels.{{ key }} }}", CTX) == "shop"


def test_unresolved_variables():
    with pytest.raises(VariableError):
        substitute("{{ request.object.metadata.annotations.x }}", CTX)
    assert substitute("{{ request.object.metadata.annotations.x }}", CTX, lenient=True) == ""
    assert substitute("{{ request.object.metadata.annotations.x || 'none' }}", CTX) == "none"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("to_upper('abc')", "ABC"),
        ("to_lower('ABC')", "abc"),
        ("trim('--a--', '-')", "a"),
        ("trim_prefix('registry/app', 'registry/')", "app"),
        ("split('a,b', ',')", ["a", "b"]),
        ("replace('aaa', 'a', 'b', `2`)", "bba"),
        ("replace_all('aaa', 'a', 'b')", "bbb"),
        ("truncate('abcdef', `3`)", "abc"),
        ("compare('a', 'b')", -1),
        ("equal_fold('Go', 'GO')", True),
        ("regex_match('^nginx', 'nginx:1')", True),
        ("regex_match('^nginx', 'busybox')", False),
        ("regex_replace_all('([a-z]+)-([0-9]+)', 'abc-12', '$2-$1')", "12-abc"),
        ("regex_replace_all_literal('[0-9]', 'a1b2', '$1')", "a$1b$1"),
        ("pattern_match('nginx:*', 'nginx:1')", True),
        ('label_match(`{"app": "shop"}`, `{"app": "shop", "x": "y"}`)', True),
        ('label_match(`{"app": "web"}`, `{"app": "shop"}`)', False),
        ("add(`1`, `2`)", 3),
        ("add('1Gi', '512Mi')", "1536Mi"),
        ("add('1h', '30m')", "1h30m0s"),
        ("subtract('2Gi', '1Gi')", "1Gi"),
        ("multiply('100m', `3`)", "300m"),
        ("divide(`10`, `4`)", 2.5),
        ("divide('1Gi', '512Mi')", 2.0),
        ("modulo(`10`, `3`)", 1),
        ("sum(`[1, 2, 3]`)", 6),
        ("round(`2.567`, `2`)", 2.57),
        ("base64_encode('hi')", "aGk="),
        ("base64_decode('aGk=')", "hi"),
        ("parse_json('{\"a\": [1]}')", {"a": [1]}),
        ("parse_yaml('a: yes')", {"a": True}),
        ("items(`{\"b\": 2, \"a\": 1}`, 'k', 'v')", [{"k": "a", "v": 1}, {"k": "b", "v": 2}]),
        ('object_from_lists(`["a", "b"]`, `[1, 2]`)', {"a": 1, "b": 2}),
        ("lookup(`{\"a\": 1}`, 'a')", 1),
        ("to_boolean('True')", True),
        ("path_canonicalize('/a/../b//c')", "/b/c"),
        ("semver_compare('1.2.3', '>=1.2.0 <2.0.0')", True),
        ("semver_compare('2.1.0', '>=1.2.0 <2.0.0')", False),
    ],
)
def test_kyverno_functions(expr, expected):
    assert search(expr, {}) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "divide(`1`, `0`)",
        "modulo(`1.5`, `1`)",
        "to_boolean('maybe')",
        "to_upper(`1`)",
        "regex_match('(', 'x')",
        "nope(",
    ],
)
def test_function_errors(expr):
    with pytest.raises(JMESPathError):
        search(expr, {})


@pytest.mark.parametrize(
    "expr",
    [
        "round(to_number('1e999'), `2`)",
        "truncate('abc', to_number('1e999'))",
        "multiply('1Gi', to_number('1e999'))",
        "divide('1Gi', to_number('1e999'))",
    ],
)
def test_infinity_is_a_function_error_not_a_crash(expr):
    """Review 2026-11-24: OverflowError escaped (internal error, exit 3)."""
    with pytest.raises(JMESPathError):
        search(expr, {})


def test_parse_yaml_refuses_an_alias_bomb():
    """Review 2026-11-24: parse_yaml of a resource value used yaml.load without the alias
    limit: 1 KiB of aliases took 3.6 GB and 37 s (a DoS through a ConfigMap value)."""
    import time

    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    started = time.monotonic()
    with pytest.raises(JMESPathError, match="alias"):
        search("parse_yaml(text)", {"text": "\n".join(levels)})
    assert time.monotonic() - started < 5
    assert search("parse_yaml(text)", {"text": "a: &x [1]\nb: *x\n"}) == {"a": [1], "b": [1]}


def test_regex_functions_run_in_linear_time_like_go() -> None:
    """Kyverno uses Go's RE2: `(a+)+$` cannot backtrack catastrophically (Python's re took minutes)."""
    from kubeward.policy.kyverno.jmespath_ext import search

    # A backtracking engine would not finish this in a lifetime; RE2 answers at once.
    assert search("regex_match('(a+)+$', @)", "a" * 5000 + "!") is False
    assert search("regex_replace_all('([a-z]+)-([0-9]+)', @, '${2}:$1')", "abc-12") == "12:abc"


def test_regex_syntax_go_rejects_is_a_function_error() -> None:
    import pytest

    from kubeward.policy.kyverno.jmespath_ext import JMESPathError, search

    with pytest.raises(JMESPathError, match="invalid regular expression"):
        search("regex_match('(?<=a)b', @)", "ab")  # lookbehind: not in Go's regexp either
