"""CEL for kubeward: one engine for ValidatingAdmissionPolicy and `detect` rules.

Backed by `cel-expr-python` (Google's cel-cpp): about 47,000 evaluations/s with dict
conversion, `?.` optional field access through its optional extension, and an error *value*
(not an exception) for a missing field, which is what lets us follow the API server's
semantics (a runtime error is a policy error, not a crash). None of the CEL packages ships the
Kubernetes CEL library, so `kubeward.cel.k8slib` adds the functions policies use.

Nothing is imported at module import time: the C++ extension loads on first `Environment`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class CelError(Exception):
    """A CEL expression failed to compile or to evaluate (message is one line)."""


def _one_line(message: str) -> str:
    text = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    # cel-cpp prefixes status codes; an exception raised by a Python function arrives as
    # OUT_OF_RANGE or UNKNOWN, which is noise for the user.
    for code in ("INVALID_ARGUMENT", "OUT_OF_RANGE", "UNKNOWN"):
        text = text.replace(f"{code}: ", "").replace(f" [{code}]", "")
    return text


@dataclass(frozen=True)
class Program:
    """A compiled expression; `evaluate` maps variable names to plain Python data."""

    expression: str
    _compiled: Any = field(repr=False, compare=False)

    def evaluate(self, data: Mapping[str, Any]) -> Any:
        """Returns the plain Python value; raises CelError for a CEL error value."""
        try:
            value = self._compiled.eval(data=data)
        except Exception as exc:  # the binding raises for unconvertible inputs
            raise CelError(_one_line(str(exc))) from exc
        return _plain(value)

    def evaluate_in(self, activation: Activation) -> Any:
        """Like `evaluate`, over data already converted once (`Environment.activation`)."""
        try:
            value = self._compiled.eval(activation._act)
        except Exception as exc:
            raise CelError(_one_line(str(exc))) from exc
        return _plain(value)

    def return_type(self) -> str:
        """The checked result type, lower case: `bool`, `string`, `dyn`, `list<int>`..."""
        return str(self._compiled.return_type().name()).lower()


def _plain(value: Any) -> Any:
    if value.type().name() == "ERROR":
        try:
            detail = value.value()
        except TypeError:
            # cel-expr-python cannot hand an optional (or other opaque) value to Python
            # and reports it as an ERROR whose value does not convert.
            raise CelError("the expression's result is an optional or opaque value that "
                           "has no plain form (use .orValue(...) or .hasValue())") from None
        raise CelError(_one_line(str(detail)))
    return value.plain_value()


@dataclass(frozen=True)
class Activation:
    """Input data converted to CEL values once, for evaluating several programs over it."""

    _act: Any = field(repr=False)


class Environment:
    """Declared variables (all `dyn`) + standard extensions + the Kubernetes library.

    `functions` adds extra global or member functions: a list of
    (name, overload_id, parameter_types, return_type, is_member, impl) built with
    `kubeward.cel.k8slib` helpers; the Kubernetes library itself is added when `kubernetes`
    is true.
    """

    def __init__(
        self,
        variables: Iterable[str],
        *,
        kubernetes: bool = True,
        functions: Iterable[Any] = (),
    ) -> None:
        from cel_expr_python import cel
        from cel_expr_python.ext import ext_optional, ext_strings

        declared = list(functions)
        if kubernetes:
            from kubeward.cel import k8slib

            declared = k8slib.function_decls() + declared
        self._env = cel.NewEnv(
            variables={name: cel.Type.DYN for name in variables},
            extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()],
            functions=declared,
        )
        self._cache: dict[str, Program] = {}

    def activation(self, data: Mapping[str, Any]) -> Activation:
        """Converts `data` once; evaluate many programs of this environment with it."""
        try:
            return Activation(self._env.Activation(data=data))
        except Exception as exc:
            raise CelError(_one_line(str(exc))) from exc

    def compile(self, expression: str) -> Program:
        """Compiles once per expression text (cached); CelError names the position."""
        cached = self._cache.get(expression)
        if cached is not None:
            return cached
        try:
            compiled = self._env.compile(expression)
        except Exception as exc:
            raise CelError(_one_line(str(exc))) from exc
        program = Program(expression, compiled)
        self._cache[expression] = program
        return program


Impl = Callable[..., Any]

__all__ = ["Activation", "CelError", "Environment", "Impl", "Program"]
