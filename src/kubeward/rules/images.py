"""Image hygiene and registry gates (checklist items 5 and 6)."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.findings import Severity
from kubeward.inventory.resource import Resource
from kubeward.k8s.images import ImageRef, parse_image
from kubeward.k8s.pods import Container, PodTemplate, containers
from kubeward.rules.base import Context, Hit, Refs, pod_rule

NSA_IMAGES = "NSA-CISA: Building secure container images"


def _images(pod: PodTemplate) -> Iterator[tuple[Container, ImageRef]]:
    for c in containers(pod.spec):
        image = c.spec.get("image")
        if isinstance(image, str) and image.strip():
            yield c, parse_image(image)


@pod_rule(
    id="image.latest-tag",
    title="Image uses the :latest tag or no tag",
    severity=Severity.MEDIUM,
    checklist=5,
    remediation="Reference an immutable version: a release tag, better a digest "
    "(image: repo@sha256:…), so what was scanned is what runs.",
    refs=Refs(nsa=(NSA_IMAGES,), mitre=("T1525",)),
)
def latest_tag(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """`latest` (or no tag) moves: each node may pull a different, unscanned image."""
    for c, ref in _images(pod):
        if ref.digest is None and (ref.tag is None or ref.tag == "latest"):
            how = "the :latest tag" if ref.tag else "no tag (defaults to :latest)"
            yield Hit(f'container "{c.name}" image "{ref.raw}" uses {how}',
                      (*pod.spec_path, *c.path, "image"))


@pod_rule(
    id="image.digest-pin",
    title="Image is not pinned by digest",
    severity=Severity.LOW,
    checklist=6,
    remediation="Pin images by digest (repo:tag@sha256:…); signature verification policies "
    "can then rewrite and verify the exact content.",
    refs=Refs(nsa=(NSA_IMAGES,), mitre=("T1525",)),
)
def digest_pin(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """A tag can be re-pushed; only a digest names the exact bytes that were scanned and signed."""
    for c, ref in _images(pod):
        if ref.digest is None and ref.tag not in (None, "latest"):
            yield Hit(f'container "{c.name}" image "{ref.raw}" is not pinned by digest',
                      (*pod.spec_path, *c.path, "image"))


def registry_allowed(ref: ImageRef, allowed: tuple[str, ...]) -> bool:
    """An entry allows a registry (`ghcr.io`) or a prefix of the full name (`ghcr.io/acme/`)."""
    full = ref.name
    for entry in allowed:
        entry = entry.rstrip("/")
        if ref.registry == entry or full == entry or full.startswith(entry + "/"):
            return True
    return False


@pod_rule(
    id="image.allowed-registry",
    title="Image comes from a registry outside the allow-list",
    severity=Severity.HIGH,
    checklist=5,
    remediation="Mirror the image into an allowed registry, or add the registry to "
    "registries.allowed in .kubeward.yaml; enforce the same list at admission.",
    refs=Refs(cis=("5.5.1",), nsa=(NSA_IMAGES,), mitre=("T1525", "T1610")),
)
def allowed_registry(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """Only images from registries you scan and control should run (set registries.allowed)."""
    allowed = ctx.config.allowed_registries
    if not allowed:
        return
    for c, ref in _images(pod):
        if not registry_allowed(ref, allowed):
            yield Hit(
                f'container "{c.name}" image "{ref.raw}" is from {ref.registry}, '
                "which is not in the allowed registries",
                (*pod.spec_path, *c.path, "image"),
            )
