"""Condition operators of deny / preconditions.

Examples from the Kyverno documentation, "Preconditions" and "Deny rules" > "Operators"
(https://kyverno.io/docs/writing-policies/preconditions/#operators) and kyverno
pkg/engine/variables/evaluate_test.go; every operator has a must-hold and a must-not case.
"""

from __future__ import annotations

import pytest

from kubeward.policy.kyverno.conditions import ConditionError, evaluate_operator


@pytest.mark.parametrize(
    ("op", "key", "value", "expected"),
    [
        ("Equals", "nginx:1.2", "nginx:*", True),  # the value may hold wildcards
        ("Equals", "busybox", "nginx:*", False),
        ("Equals", "1Gi", "1024Mi", True),  # quantities
        ("Equals", "1h", "60m", True),  # durations
        ("Equals", 5, "5", True),  # an int key parses a string value
        ("Equals", "5", 5, False),  # a string key needs a string value
        ("Equals", True, True, True),
        ("Equals", True, "true", False),
        ("Equals", {"a": 1}, {"a": 1}, True),
        ("Equals", ["a"], ["b"], False),
        ("NotEquals", "CREATE", "DELETE", True),
        ("NotEquals", "CREATE", "CREATE", False),
        ("AnyIn", ["a", "b"], ["b", "c"], True),
        ("AnyIn", ["a"], ["b", "c"], False),
        ("AnyIn", "kube-*", ["kube-system"], True),  # wildcards both ways
        ("AnyIn", 8080, "8000-9000", True),  # a range string (pattern engine)  # ranges
        ("AnyIn", 80, "8000-9000", False),
        ("AnyIn", 8080, ["8000-9000"], False),  # in a list it is just a string
        ("AllIn", [8080, 8443], "8000-9000", True),
        ("AnyNotIn", [80, 8080], "8000-9000", True),
        ("AllNotIn", [80, 443], "8000-9000", True),
        ("AnyIn", "a", 5, False),  # other value types make the condition false
        ("AnyNotIn", "a", {"a": 1}, False),
        ("AllIn", ["a", "b"], ["a", "b", "c"], True),
        ("AllIn", ["a", "d"], ["a", "b", "c"], False),
        ("AnyNotIn", ["a", "d"], ["a", "b"], True),
        ("AnyNotIn", ["a"], ["a", "b"], False),
        ("AllNotIn", ["x", "y"], ["a", "b"], True),
        ("AllNotIn", ["x", "a"], ["a", "b"], False),
        ("In", "a", ["a", "b"], True),  # deprecated
        ("In", "z", ["a", "b"], False),
        ("In", "a", '["a","b"]', True),  # a JSON array in a string
        ("NotIn", "z", ["a", "b"], True),
        ("NotIn", "a", ["a", "b"], False),
        ("GreaterThan", 3, 2, True),
        ("GreaterThan", 2, 3, False),
        ("GreaterThan", "2Gi", "1Gi", True),
        ("GreaterThanOrEquals", "1.2.3", "1.2.3", True),  # semantic versions
        ("LessThan", "1.2.3", "1.10.0", True),
        ("LessThan", "500m", "1", True),  # quantities: 0.5 < 1
        ("LessThan", "500m", 1, False),  # "500m" parses as a duration first: 500 minutes vs 1 second
        ("LessThanOrEquals", 2, 1, False),
        ("DurationGreaterThan", "2h", "30m", True),
        ("DurationGreaterThan", "10m", "30m", False),
        ("DurationLessThanOrEquals", "30s", 30, True),  # a number is seconds
        ("DurationLessThan", "1h", "1m", False),
    ],
)
def test_operators(op, key, value, expected):
    assert evaluate_operator(op, key, value) is expected


def test_operator_names_are_case_insensitive():
    assert evaluate_operator("anyin", "a", ["a"]) is True


def test_unknown_operator_is_an_error():
    with pytest.raises(ConditionError):
        evaluate_operator("Matches", "a", "a")


@pytest.mark.parametrize("op", ["GreaterThan", "LessThanOrEquals", "Equals", "AnyIn", "GreaterThanOrEquals"])
@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_compare_false_not_crash(op, bad):
    """Review 2026-11-24: `key: .inf` raised OverflowError in Fraction() (exit 3)."""
    for key, value in ((bad, 1), (1, bad), (bad, "1Gi"), ("5", bad)):
        assert evaluate_operator(op, key, value) in (True, False)
