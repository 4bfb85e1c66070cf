"""The Kubernetes CEL `quantity` library against upstream's own test table.

Cases ported from kubernetes/kubernetes
staging/src/k8s.io/apiserver/pkg/cel/library/quantity_test.go (TestQuantity) and the
examples in quantity.go's doc comment; parsing edge cases from
k8s.io/apimachinery/pkg/api/resource/quantity.go (ParseQuantity).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from kubeward.cel import CelError, Environment
from kubeward.cel.k8slib import parse_quantity

ENV = Environment(["object"])


def run(expr: str) -> object:
    return ENV.compile(expr).evaluate({"object": {}})


# (expression, expected value) - quantity_test.go TestQuantity
VALUE_CASES = [
    ('isQuantity("20")', True),
    ('isQuantity("20M")', True),
    ('isQuantity("20Mi")', True),
    ('isQuantity("20Mo")', False),
    ('isQuantity("10Mm")', False),
    ('quantity("200M") == quantity("200M")', True),
    ('quantity("200M") == quantity("0.2G") && quantity("0.2G") == quantity("200M")', True),
    ('quantity("2M") == quantity("0.002G") && quantity("2000k") == quantity("2M") '
     '&& quantity("0.002G") == quantity("2000k")', True),
    ('quantity("200M") == quantity("0.3G")', False),
    ('quantity("50M").isLessThan(quantity("50Mi"))', True),
    ('quantity("50M").isLessThan(quantity("100M"))', True),
    ('quantity("100M").isLessThan(quantity("50M"))', False),
    ('quantity("50Mi").isGreaterThan(quantity("50M"))', True),
    ('quantity("150Mi").isGreaterThan(quantity("100Mi"))', True),
    ('quantity("50M").isGreaterThan(quantity("100M"))', False),
    ('quantity("200M").compareTo(quantity("0.2G"))', 0),
    ('quantity("50M").compareTo(quantity("50Mi"))', -1),
    ('quantity("50Mi").compareTo(quantity("50M"))', 1),
    ('quantity("50k").add(quantity("20")) == quantity("50.02k")', True),
    ('quantity("50k").add(20).isLessThan(quantity("50020"))', False),
    ('quantity("50k").sub(quantity("20")) == quantity("49.98k")', True),
    ('quantity("50k").sub(20) == quantity("49980")', True),
    ('quantity("50k").mul(2) == quantity("100000")', True),
    ('quantity("10k").div(2) == quantity("5000")', True),
    ('quantity("10000").divInt(3) == quantity("3333")', True),
    ('quantity("50k").add(20).sub(quantity("100k")).asInteger()', -49980),
    ('quantity("50k").add(20).sub(quantity("100k")).sub(-50000).asInteger()', 20),
    ('quantity("50k").asInteger()', 50000),
    ('quantity("9999999999999999999999999999999999999G").isInteger()', False),
    ('quantity("50").isInteger()', True),
    ('quantity("50.703k").asApproximateFloat()', 50703.0),
    # quantity.go doc comment examples
    ('quantity("50000000G").isInteger()', True),
    ('quantity("50k").sub(20000).asApproximateFloat() == 30000.0', True),
    ('quantity("50k").add(20).sub(quantity("100k")).sub(-50000) == quantity("20")', True),
    ('quantity("-1").sign()', -1),
    ('sign(quantity("0"))', 0),
    ('quantity("1Gi").sign()', 1),
]


@pytest.mark.parametrize(("expr", "expected"), VALUE_CASES)
def test_quantity_values(expr: str, expected: object) -> None:
    assert run(expr) == expected


def test_div_default_rounding_keeps_four_decimals() -> None:
    # quantity_test.go divide_float_result: 3333.3333 within 0.0001
    assert abs(run('quantity("10000").div(3).asApproximateFloat()') - 3333.3333) < 0.0001


# (expression, error pattern) - quantity_test.go runtime errors
ERROR_CASES = [
    ('quantity("10Mo")', "quantities must match the regular expression"),
    ('quantity("10Mm")', "unable to parse quantity's suffix"),
    ('quantity("9999999999999999999999999999999999999G").asInteger()',
     "cannot convert value to integer"),
    ('quantity("200K")', "unable to parse quantity's suffix"),  # doc comment: error
    ('quantity("Three")', "quantities must match"),
    ('quantity("1,3G")', "quantities must match"),
    ('quantity("1").div(0)', "division by zero"),
]


@pytest.mark.parametrize(("expr", "pattern"), ERROR_CASES)
def test_quantity_errors(expr: str, pattern: str) -> None:
    with pytest.raises(CelError, match=pattern):
        run(expr)


def test_is_quantity_rejects_non_string_at_compile_time() -> None:
    # quantity_test.go isQuantity_noOverload
    with pytest.raises(CelError, match="no matching overload for 'isQuantity'"):
        ENV.compile("isQuantity([1, 2, 3])")


@pytest.mark.parametrize(("text", "amount"), [
    ("1Gi", Fraction(2**30)),
    ("500m", Fraction(1, 2)),
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("1E", Fraction(10**18)),  # exa, not an exponent
    ("-1.5k", Fraction(-1500)),
    ("+.5", Fraction(1, 2)),
    ("0", Fraction(0)),
    ("00.100", Fraction(1, 10)),
    ("1.", Fraction(1)),
    ("0.1n", Fraction(1, 10**9)),  # rounded up to the smallest representable value
    ("-0.1n", Fraction(-1, 10**9)),
    ("1.0000000001", Fraction(1000000001, 10**9)),
    ("12e-3", Fraction(12, 1000)),
])
def test_parse_quantity_matches_apimachinery(text: str, amount: Fraction) -> None:
    assert parse_quantity(text)[0] == amount


def test_binary_si_is_capped_at_max_int64() -> None:
    # ParseQuantity: "format == BinarySI && amount > maxAllowed -> maxAllowed"
    assert parse_quantity("100000000000Ei")[0] == 2**63 - 1
