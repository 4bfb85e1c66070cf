"""Container image references, split the way the container runtime resolves them.

Follows github.com/distribution/reference (normalize.go, ParseNormalizedNamed): the first
path component is a registry only if it contains "." or ":" or is "localhost"; otherwise
the image is on docker.io, and a single-component name lives under `library/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["ImageRef", "parse_image"]

DEFAULT_REGISTRY = "docker.io"


@dataclass(slots=True, frozen=True)
class ImageRef:
    raw: str
    registry: str
    repository: str  # without registry, e.g. "library/nginx"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """Fully qualified name without tag or digest, e.g. `docker.io/library/nginx`."""
        return f"{self.registry}/{self.repository}"

    @property
    def pinned(self) -> bool:
        return self.digest is not None


@lru_cache(maxsize=4096)
def parse_image(raw: str) -> ImageRef:
    """Parse an image string; never raises (odd strings yield a best-effort reference)."""
    rest = raw.strip()
    digest = None
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        digest = digest or None
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :] or None
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = DEFAULT_REGISTRY, rest
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    return ImageRef(raw, registry, repository, tag, digest)
