"""AdmissionReview `admission.k8s.io/v1` in and out: shape checks and the response body.

Follows k8s.io/api/admission/v1/types.go (AdmissionReview, AdmissionRequest,
AdmissionResponse) and the webhook contract in
https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/:
the response echoes the request `uid`; `patch` is base64 of a JSONPatch with
`patchType: JSONPatch`; `warnings` are shown by kubectl as `Warning:` lines;
`auditAnnotations` keys are recorded as `<webhook name>/<key>` in the audit event.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["BadReview", "parse_review", "review_response"]

API_VERSION = "admission.k8s.io/v1"


class BadReview(Exception):
    """The body is not an AdmissionReview v1 with a request (answered with 400 and this text)."""


def parse_review(body: bytes) -> dict[str, Any]:
    """The `request` of an AdmissionReview body; raises BadReview with a readable reason."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise BadReview(f"the body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise BadReview("the body must be a JSON object (an AdmissionReview)")
    api, kind = data.get("apiVersion"), data.get("kind")
    if kind != "AdmissionReview":
        raise BadReview(f"expected kind AdmissionReview, got {kind!r}")
    if api != API_VERSION:
        raise BadReview(
            f"expected apiVersion {API_VERSION}, got {api!r} "
            "(set admissionReviewVersions: [v1] in the webhook configuration)"
        )
    request = data.get("request")
    if not isinstance(request, dict):
        raise BadReview("AdmissionReview has no request object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise BadReview("AdmissionReview request has no uid")
    return request


def review_response(
    uid: str,
    allowed: bool,
    *,
    message: str | None = None,
    code: int = 403,
    warnings: list[str] | None = None,
    audit: Mapping[str, str] | None = None,
    patch: list[dict[str, Any]] | None = None,
) -> bytes:
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {
            "code": code,
            "reason": "Forbidden" if code == 403 else "InternalError",
            "message": message or "denied by kubeward",
        }
    if warnings:
        response["warnings"] = warnings
    if audit:
        response["auditAnnotations"] = dict(audit)
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(orjson.dumps(patch)).decode()
    return orjson.dumps({"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response})
