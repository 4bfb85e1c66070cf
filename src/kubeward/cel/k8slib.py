"""The Kubernetes CEL library (k8s.io/apiserver/pkg/cel/library) for cel-expr-python.

Written here because no CEL package ships it. Functions are added as they are needed by
policies; each follows the upstream library's documented semantics.
"""

from __future__ import annotations

from typing import Any


def function_decls() -> list[Any]:
    """The FunctionDecls registered in every kubeward CEL environment."""
    return []
