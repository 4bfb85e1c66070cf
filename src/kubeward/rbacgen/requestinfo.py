"""Request → RBAC attributes, the way the API server computes them.

A port of `RequestInfoFactory.NewRequestInfo` (k8s.io/apiserver/pkg/endpoints/request/
requestinfo.go): the URL path decides whether a request is a resource request, its API group,
version, namespace, resource, name and subresource; the HTTP method decides the verb, and a
GET/DELETE without a name becomes list/watch/deletecollection. The RBAC authorizer
(plugin/pkg/auth/authorizer/rbac) then matches exactly these attributes.

An audit event carries the request URI and the verb the server authorized, not the HTTP
method: `event_attributes` maps the verb back to its method, runs the factory, and keeps the
audit verb (the server's own answer) whenever the event has one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

API_PREFIXES = frozenset({"api", "apis"})
GROUPLESS_API_PREFIXES = frozenset({"api"})
SPECIAL_VERBS = frozenset({"proxy", "watch"})
SPECIAL_VERBS_NO_SUBRESOURCES = frozenset({"proxy"})
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})

METHOD_VERB = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
COLLECTION_VERBS = frozenset({"create", "list", "watch", "deletecollection"})
VERB_METHOD = {
    "get": "GET",
    "list": "GET",
    "watch": "GET",
    "create": "POST",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}


@dataclass(frozen=True, order=True)
class RequestAttributes:
    """The authorizer attributes of one request (authorizer.AttributesRecord, minus the user)."""

    resource_request: bool
    verb: str
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # the URL path (non-resource requests are authorized on it)

    @property
    def rbac_resource(self) -> str:
        """The resource as RBAC rules spell it: `pods`, `pods/log`."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def describe(self) -> str:
        if not self.resource_request:
            return f"{self.verb} {self.path}"
        group = self.api_group or "core"
        where = f" in namespace {self.namespace}" if self.namespace else " (cluster-wide)"
        name = f" {self.name!r}" if self.name else ""
        return f"{self.verb} {group}/{self.rbac_resource}{name}{where}"


def _split_path(path: str) -> list[str]:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


def _query_bool(values: list[str]) -> bool:
    """runtime.Convert_Slice_string_To_bool: absent is false; "0"/"false"/"no" are false."""
    if not values:
        return False
    first = values[0]
    return not (first == "0" or first.lower() in {"false", "no"})


def _valid_path_segment_name(name: str) -> bool:
    """path.IsValidPathSegmentName."""
    return name not in {".", ".."} and "/" not in name and "%" not in name


def _field_selector_name(selector: str) -> str:
    """fields.Selector.RequiresExactMatch("metadata.name") for a parsed field selector."""
    for term in _split_selector_terms(selector):
        for operator in ("==", "="):
            if operator in term and "!=" not in term:
                field, _, value = term.partition(operator)
                if field.strip() == "metadata.name":
                    return _unescape_selector_value(value.strip())
                break
    return ""


def _split_selector_terms(selector: str) -> list[str]:
    terms: list[str] = []
    current: list[str] = []
    escaped = False
    for char in selector:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term for term in terms if term]


def _unescape_selector_value(value: str) -> str:
    out: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def request_info(method: str, uri: str) -> RequestAttributes:
    """The attributes the API server derives from an HTTP method and request URI."""
    parts_of_url = urlsplit(uri)
    path = unquote(parts_of_url.path) or "/"
    query = parse_qs(parts_of_url.query, keep_blank_values=True)
    non_resource = RequestAttributes(resource_request=False, verb=method.lower(), path=path)

    parts = _split_path(path)
    if len(parts) < 3 or parts[0] not in API_PREFIXES:
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix not in GROUPLESS_API_PREFIXES:
        if len(parts) < 3:
            return non_resource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]

    if parts[0] in SPECIAL_VERBS:
        if len(parts) < 2:  # the server answers "unable to determine kind and namespace"
            return non_resource
        verb, parts = parts[0], parts[1:]
    else:
        verb = METHOD_VERB.get(method.upper(), "")

    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
            parts = parts[2:]

    resource = name = subresource = ""
    if len(parts) >= 3 and verb not in SPECIAL_VERBS_NO_SUBRESOURCES:
        subresource = parts[2]
    if len(parts) >= 2:
        name = parts[1]
    if len(parts) >= 1:
        resource = parts[0]

    if not name and verb == "get":
        verb = "watch" if _query_bool(query.get("watch", [])) else "list"
        selected = _field_selector_name(query.get("fieldSelector", [""])[0])
        if selected and _valid_path_segment_name(selected):
            name = selected
    if not name and verb == "delete":
        verb = "deletecollection"

    return RequestAttributes(
        resource_request=True,
        verb=verb,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
        path=path,
    )


def event_attributes(event: dict[str, Any]) -> RequestAttributes | None:
    """The attributes of the request an audit event records (None when it cannot tell).

    The request URI is parsed as the server parsed it; the audit `verb` (what the server
    authorized) wins over the one re-derived from the method. `objectRef` is only used when the
    event has no request URI: its `name` is filled from the request body for creates, which is
    how audit2rbac came to put resourceNames on create rules (liggitt/audit2rbac#24).
    """
    verb = event.get("verb")
    verb = verb if isinstance(verb, str) else ""
    uri = event.get("requestURI")
    if isinstance(uri, str) and uri:
        method = VERB_METHOD.get(verb) or (verb.upper() if verb else "GET")
        info = request_info(method, uri)
        if not info.resource_request:
            return info if verb or info.verb else None
        if verb and verb != info.verb:
            info = replace(info, verb=verb)
        return info if info.verb and info.resource else None
    ref = event.get("objectRef")
    if isinstance(ref, dict) and verb and isinstance(ref.get("resource"), str):
        return RequestAttributes(
            resource_request=True,
            verb=verb,
            api_group=str(ref.get("apiGroup") or ""),
            api_version=str(ref.get("apiVersion") or ""),
            resource=str(ref["resource"]),
            subresource=str(ref.get("subresource") or ""),
            namespace=str(ref.get("namespace") or ""),
            name="" if verb in COLLECTION_VERBS else str(ref.get("name") or ""),
        )
    return None
