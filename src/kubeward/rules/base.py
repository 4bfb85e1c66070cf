"""What a rule is: metadata plus one small function, registered by a decorator.

A rule module declares rules with `@pod_rule`, `@object_rule` or `@inventory_rule`; the
decorator records the metadata in the module-level registry and returns the function
unchanged, so the function stays a plain, directly testable function.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from kubeward.findings import Fix, Severity

if TYPE_CHECKING:
    from kubeward.config import Config
    from kubeward.inventory.index import Inventory
    from kubeward.inventory.resource import Resource
    from kubeward.k8s.pods import PodTemplate

__all__ = [
    "REGISTRY",
    "Context",
    "Hit",
    "Refs",
    "Rule",
    "Scope",
    "inventory_rule",
    "object_rule",
    "pod_rule",
]


class Scope(Enum):
    POD = "pod"  # called once per pod or pod template
    OBJECT = "object"  # called once per object of the listed kinds
    INVENTORY = "inventory"  # called once per scan, sees everything
    ENGINE = "engine"  # produced by a shared engine (PSS), not by its own function


@dataclass(slots=True, frozen=True)
class Refs:
    """Framework references: CIS Kubernetes Benchmark, NSA-CISA hardening guide, MITRE ATT&CK."""

    cis: tuple[str, ...] = ()
    nsa: tuple[str, ...] = ()
    mitre: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Hit:
    """A rule's verdict on one object: the message, the field it points at, safe fixes."""

    message: str
    path: tuple[str | int, ...] = ()
    fixes: tuple[Fix, ...] = ()


@dataclass(slots=True)
class Context:
    """What a rule may look at besides its object: the indexed inventory and the config."""

    inventory: Inventory
    config: Config
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    checklist: int  # checklist item 1..13 (see kubeward.checklist)
    description: str  # why it matters
    remediation: str  # how to fix it
    scope: Scope
    kinds: frozenset[str] = frozenset()
    refs: Refs = Refs()
    check: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    fixable: bool = False

    @property
    def help_uri(self) -> str:
        return f"https://kubeward.dev/rules/{self.id}"


REGISTRY: dict[str, Rule] = {}

F = TypeVar("F", bound=Callable[..., Any])

PodCheck = Callable[["Context", "Resource", "PodTemplate"], Iterable[Hit]]
ObjectCheck = Callable[["Context", "Resource"], Iterable[Hit]]
InventoryCheck = Callable[["Context"], Iterator[tuple["Resource | None", Hit]]]


def register(rule: Rule) -> Rule:
    if rule.id in REGISTRY:
        raise RuntimeError(f"duplicate rule id {rule.id}")
    REGISTRY[rule.id] = rule
    return rule


def _decorator(scope: Scope, kinds: Iterable[str] = (), **meta: Any) -> Callable[[F], F]:
    def wrap(fn: F) -> F:
        description = meta.pop("description", None) or _prose(fn.__doc__ or "")
        register(
            Rule(scope=scope, kinds=frozenset(kinds), check=fn, description=description, **meta)
        )
        return fn

    return wrap


def _prose(doc: str) -> str:
    """A docstring as prose: dedented, lines of a paragraph joined, paragraphs kept."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def pod_rule(**meta: Any) -> Callable[[F], F]:
    """Register a rule called as `fn(ctx, resource, pod)` for every pod template."""
    return _decorator(Scope.POD, **meta)


def object_rule(kinds: Iterable[str], **meta: Any) -> Callable[[F], F]:
    """Register a rule called as `fn(ctx, resource)` for every object of `kinds`."""
    return _decorator(Scope.OBJECT, kinds=kinds, **meta)


def inventory_rule(**meta: Any) -> Callable[[F], F]:
    """Register a rule called once as `fn(ctx)`, yielding `(resource, hit)` pairs."""
    return _decorator(Scope.INVENTORY, **meta)
