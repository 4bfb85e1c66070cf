"""Image signature verification coverage (checklist item 6).

`image.not-verified` fires once per container whose image no image-verification policy of
the input verifies (Kyverno verifyImages, Sigstore policy-controller ClusterImagePolicy,
Connaisseur, Ratify behind Gatekeeper; matching as each tool does, kubeward.supply.policies).

It fires only when the input holds at least one such policy: then an image outside every
policy is a real gap (a new registry, a sidecar, an init container nobody listed). Without
any policy the input is usually an application repo whose admission policies live
elsewhere, and a finding per container would be noise; the checklist posture (item 6)
already says "nothing verifies signatures", and `kubeward images` lists every image with its
verification policy (or none). Severity medium: an unverified image is not exploitable by
itself, but it is the path a tampered or substituted image takes into the cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from kubeward.findings import Severity
from kubeward.k8s.images import parse_image
from kubeward.k8s.pods import containers
from kubeward.rules.base import Context, Hit, Refs, pod_rule

if TYPE_CHECKING:
    from kubeward.inventory.resource import Resource
    from kubeward.k8s.pods import PodTemplate
    from kubeward.supply.policies import VerificationPolicy

NSA_IMAGES = "NSA-CISA: Building secure container images"


def _policies(ctx: Context) -> list[VerificationPolicy]:
    cached = ctx.cache.get("supply.policies")
    if cached is None:
        from kubeward.supply.policies import find_policies

        cached = ctx.cache["supply.policies"] = find_policies(ctx.inventory)
    return cached


@pod_rule(
    id="image.not-verified",
    title="Image is not covered by any image-verification policy",
    severity=Severity.MEDIUM,
    checklist=6,
    remediation="Add the image (or its registry/repository glob) to a signature-verification "
    "policy: a Kyverno verifyImages rule's imageReferences, a Sigstore ClusterImagePolicy "
    "images[].glob, a Connaisseur policy rule or the Ratify constraint's match.",
    refs=Refs(nsa=(NSA_IMAGES,), mitre=("T1525", "T1195.002")),
)
def not_verified(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """Signature verification at admission protects only the images its policies name; an
    image outside every policy runs unverified even though verification is in place."""
    policies = _policies(ctx)
    if not policies:
        return
    from kubeward.supply.policies import coverage_for

    if ctx.inventory.controlled_in_input(res):
        return
    for c in containers(pod.spec):
        raw = c.spec.get("image")
        if not isinstance(raw, str) or not raw.strip():
            continue
        cov = coverage_for(policies, ctx.inventory, parse_image(raw.strip()), res.kind,
                           res.namespace)
        if cov.covered:
            continue
        why = f" ({'; '.join(cov.notes)})" if cov.notes else ""
        n = len(policies)
        yield Hit(f'container "{c.name}" image "{raw.strip()}" is not verified by any of the '
                  f"{n} image-verification polic{'y' if n == 1 else 'ies'} in the input{why}",
                  (*pod.spec_path, *c.path, "image"))
