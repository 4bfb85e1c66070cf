"""Sets of (protocol, port range): what a direction of a connection allows.

NetworkPolicyPort (networking.k8s.io/v1 API reference,
https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/):
  * `protocol` is TCP, UDP or SCTP and defaults to TCP;
  * `port` is a number or a named port (resolved against the destination pod's
    containers' `ports[].name`, with the same protocol); absent means every port;
  * `endPort` (numeric `port` only) makes the range port..endPort inclusive
    (https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-a-range-of-ports).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["ALL_PORTS", "NO_PORTS", "PROTOCOLS", "PortSet", "parse_port"]

PROTOCOLS = ("TCP", "UDP", "SCTP")
MAX_PORT = 65535


class PortSet:
    """An immutable set of ports per protocol, as sorted disjoint inclusive ranges."""

    __slots__ = ("_ranges",)

    def __init__(self, ranges: Mapping[str, Iterable[tuple[int, int]]] | None = None) -> None:
        norm: dict[str, tuple[tuple[int, int], ...]] = {}
        for proto, spans in (ranges or {}).items():
            merged: list[tuple[int, int]] = []
            for lo, hi in sorted((max(1, a), min(MAX_PORT, b)) for a, b in spans):
                if lo > hi:
                    continue
                if merged and lo <= merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
                else:
                    merged.append((lo, hi))
            if merged:
                norm[proto] = tuple(merged)
        self._ranges = norm

    @property
    def ranges(self) -> Mapping[str, tuple[tuple[int, int], ...]]:
        return self._ranges

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self._ranges == other._ranges

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._ranges.items())))

    def contains(self, port: int, protocol: str) -> bool:
        return any(lo <= port <= hi for lo, hi in self._ranges.get(protocol, ()))

    def union(self, other: PortSet) -> PortSet:
        out: dict[str, list[tuple[int, int]]] = {}
        for src in (self._ranges, other._ranges):
            for proto, spans in src.items():
                out.setdefault(proto, []).extend(spans)
        return PortSet(out)

    def intersection(self, other: PortSet) -> PortSet:
        out: dict[str, list[tuple[int, int]]] = {}
        for proto, spans in self._ranges.items():
            for a_lo, a_hi in spans:
                for b_lo, b_hi in other._ranges.get(proto, ()):
                    lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
                    if lo <= hi:
                        out.setdefault(proto, []).append((lo, hi))
        return PortSet(out)

    def difference(self, other: PortSet) -> PortSet:
        """The ports of this set that are not in `other` (Cilium deny rules)."""
        if not other:
            return self
        out: dict[str, list[tuple[int, int]]] = {}
        for proto, spans in self._ranges.items():
            cuts = other._ranges.get(proto, ())
            for lo, hi in spans:
                start = lo
                for c_lo, c_hi in cuts:
                    if c_hi < start or c_lo > hi:
                        continue
                    if c_lo > start:
                        out.setdefault(proto, []).append((start, c_lo - 1))
                    start = max(start, c_hi + 1)
                    if start > hi:
                        break
                if start <= hi:
                    out.setdefault(proto, []).append((start, hi))
        return PortSet(out)

    @property
    def is_all(self) -> bool:
        return all(self._ranges.get(p) == ((1, MAX_PORT),) for p in PROTOCOLS)

    def __str__(self) -> str:
        if self.is_all:
            return "all ports"
        if not self:
            return "nothing"
        parts = []
        for proto in PROTOCOLS:
            for lo, hi in self._ranges.get(proto, ()):
                if (lo, hi) == (1, MAX_PORT):
                    parts.append(f"all/{proto}")
                else:
                    parts.append(f"{lo}/{proto}" if lo == hi else f"{lo}-{hi}/{proto}")
        return ",".join(parts)

    def __repr__(self) -> str:
        return f"PortSet({self})"


ALL_PORTS = PortSet({p: [(1, MAX_PORT)] for p in PROTOCOLS})
NO_PORTS = PortSet()


def parse_port(text: str) -> tuple[int, str]:
    """`443`, `53/UDP`, `8080/tcp` -> (port, PROTOCOL); ValueError when malformed."""
    num, _, proto = text.partition("/")
    protocol = (proto or "TCP").upper()
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {proto!r} (TCP, UDP or SCTP)")
    if not num.isdigit() or not 1 <= int(num) <= MAX_PORT:
        raise ValueError(f"port must be a number from 1 to {MAX_PORT}, got {num!r}")
    return int(num), protocol
