"""A small OCI distribution client: resolve tags, read manifests and blobs, list referrers.

Follows the OCI Distribution Specification v1.1 (github.com/opencontainers/distribution-spec,
spec.md): `GET|HEAD /v2/<name>/manifests/<reference>` with `Docker-Content-Digest`,
`GET /v2/<name>/blobs/<digest>`, `GET /v2/<name>/tags/list`, the referrers API
`GET /v2/<name>/referrers/<digest>` and, where a registry lacks it (Distribution 2.8, the
Debian `docker-registry` the tests run), the referrers tag schema `sha256-<hex>` holding an
image index. Anonymous bearer tokens (`WWW-Authenticate: Bearer realm=…`, the Docker token
protocol) are fetched on a 401, so public images on Docker Hub or GHCR work.

Why a client of our own over httpx (already a dependency through lightkube) rather than
`oras` 0.2.43, the OCI Registry as Storage Python SDK (measured against docker-registry
2.8.2): oras pushes and pulls image manifests, blobs and tags fine, but it validates every
manifest against the image-manifest schema, so it cannot push or read an image index (needed
for the referrers tag schema and multi-platform images); it returns a manifest's JSON
without the digest the registry served, which a verifier must check itself; and it brings a
second HTTP stack (requests). The tests push with oras anyway, so the bytes this client
reads were written by independent code.

Every digest is checked: a manifest or blob whose sha256 differs from the digest asked for
(or announced) is refused. Sizes are capped while reading (manifests 4 MiB, blobs 64 MiB). This module
is the only network use of `kubeward images`, and only with `--verify`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "Manifest",
    "OciError",
    "RegistryClient",
    "descriptor",
    "sha256_digest",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))
MAX_MANIFEST = 4 << 20
MAX_BLOB = 64 << 20
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class OciError(Exception):
    """A registry answer kubeward cannot use; the message is one line for the user."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
    """An OCI content descriptor for `data`."""
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data), **extra}


@dataclass(slots=True, frozen=True)
class Manifest:
    """A manifest as served: its bytes, their digest, its media type, and the parsed JSON."""

    raw: bytes
    digest: str
    media_type: str
    data: Mapping[str, Any]

    @property
    def layers(self) -> list[Mapping[str, Any]]:
        layers = self.data.get("layers")
        return [x for x in layers if isinstance(x, dict)] if isinstance(layers, list) else []

    @property
    def manifests(self) -> list[Mapping[str, Any]]:
        items = self.data.get("manifests")
        return [x for x in items if isinstance(x, dict)] if isinstance(items, list) else []


def _parse_challenge(header: str) -> dict[str, str]:
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "bearer":
        return {}
    return {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', params)}


def _is_loopback(host: str) -> bool:
    """Whether `host` (`name[:port]`, `[v6]:port`) is this machine's loopback."""
    import ipaddress

    name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.rsplit(":", 1)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class RegistryClient:
    """One registry host. `insecure` uses plain HTTP (for loopback test registries only)."""

    def __init__(self, registry: str, *, insecure: bool = False, timeout: float = 20.0,
                 transport: httpx2.BaseTransport | None = None) -> None:
        import httpx2

        host = "registry-1.docker.io" if registry in ("docker.io", "index.docker.io") else registry
        self.registry = registry
        # Plain HTTP only ever to a loopback registry (a local test or mirror): a remote
        # registry is always spoken to over TLS, whatever the flag says.
        self.base = f"{'http' if insecure and _is_loopback(host) else 'https'}://{host}"
        self._client = httpx2.Client(timeout=timeout, follow_redirects=True,
                                     transport=transport)
        self._tokens: dict[str, str] = {}

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------------

    def _request(self, method: str, path: str, repo: str, *, push: bool = False,
                 headers: Mapping[str, str] | None = None, content: bytes | None = None,
                 params: Mapping[str, str] | None = None) -> httpx2.Response:
        import httpx2

        url = path if path.startswith("http") else f"{self.base}{path}"
        hdrs = dict(headers or {})
        token = self._tokens.get(repo)
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        try:
            resp = self._client.request(method, url, headers=hdrs, content=content, params=params)
            if resp.status_code == 401 and not token:
                challenge = _parse_challenge(resp.headers.get("WWW-Authenticate", ""))
                if challenge.get("realm"):
                    self._tokens[repo] = self._token(challenge, repo, push)
                    hdrs["Authorization"] = f"Bearer {self._tokens[repo]}"
                    resp = self._client.request(method, url, headers=hdrs, content=content,
                                                params=params)
        except httpx2.HTTPError as err:
            raise OciError(f"{self.registry}: {type(err).__name__}: {err}") from None
        return resp

    def _token(self, challenge: Mapping[str, str], repo: str, push: bool) -> str:
        """An anonymous token from the registry's token service (Docker token protocol)."""
        import httpx2

        params = {"scope": f"repository:{repo}:{'pull,push' if push else 'pull'}"}
        if challenge.get("service"):
            params["service"] = challenge["service"]
        try:
            resp = self._client.get(challenge["realm"], params=params)
        except httpx2.HTTPError as err:
            raise OciError(f"{self.registry}: token service: {err}") from None
        if resp.status_code != 200:
            raise OciError(f"{self.registry}: token service answered {resp.status_code} "
                           f"for {repo} (private repository? credentials are not supported)",
                           resp.status_code)
        try:
            body = resp.json()
        except ValueError:
            raise OciError(f"{self.registry}: token service sent no JSON") from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise OciError(f"{self.registry}: token service sent no token")
        return token

    def _get_capped(self, path: str, repo: str, cap: int,
                    headers: Mapping[str, str] | None = None) -> tuple[httpx2.Response, bytes]:
        """GET, reading at most `cap` bytes of the body (a registry cannot make us hold more)."""
        import httpx2

        url = f"{self.base}{path}"
        for attempt in range(2):
            hdrs = dict(headers or {})
            token = self._tokens.get(repo)
            if token:
                hdrs["Authorization"] = f"Bearer {token}"
            try:
                with self._client.stream("GET", url, headers=hdrs) as resp:
                    if resp.status_code == 401 and not token and attempt == 0:
                        challenge = _parse_challenge(resp.headers.get("WWW-Authenticate", ""))
                        if challenge.get("realm"):
                            resp.close()
                            self._tokens[repo] = self._token(challenge, repo, False)
                            continue
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > cap:
                            raise OciError(f"{self.registry}{path}: response larger than "
                                           f"{cap} bytes")
                    return resp, bytes(body)
            except httpx2.HTTPError as err:
                raise OciError(f"{self.registry}: {type(err).__name__}: {err}") from None
        raise OciError(f"{self.registry}{path}: not authorized")  # pragma: no cover

    @staticmethod
    def _fail(resp: httpx2.Response, what: str, body: bytes | None = None) -> OciError:
        detail = ""
        try:
            errors = json.loads(body if body is not None else resp.content).get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                detail = f": {errors[0].get('code')} {errors[0].get('message', '')}".rstrip()
        except (ValueError, AttributeError, UnicodeDecodeError):
            pass
        return OciError(f"{what}: HTTP {resp.status_code}{detail}", resp.status_code)

    # -- reading --------------------------------------------------------------------------

    def resolve(self, repo: str, reference: str) -> str:
        """The digest a tag (or digest) points at now (HEAD, then GET when no header)."""
        resp = self._request("HEAD", f"/v2/{repo}/manifests/{reference}", repo,
                             headers={"Accept": ACCEPT})
        digest = resp.headers.get("Docker-Content-Digest", "")
        if resp.status_code == 200 and _DIGEST.match(digest):
            return digest
        # No usable header, or an error (a HEAD answer has no body to say which): GET.
        return self.manifest(repo, reference).digest

    def manifest(self, repo: str, reference: str) -> Manifest:
        """The manifest at a tag or digest; the digest is verified against the bytes."""
        resp, raw = self._get_capped(f"/v2/{repo}/manifests/{reference}", repo, MAX_MANIFEST,
                                     {"Accept": ACCEPT})
        if resp.status_code != 200:
            raise self._fail(resp, f"{self.registry}/{repo}:{reference}", raw)
        digest = sha256_digest(raw)
        if reference.startswith("sha256:") and digest != reference:
            raise OciError(f"{self.registry}/{repo}@{reference}: registry served a manifest "
                           f"whose digest is {digest}")
        announced = resp.headers.get("Docker-Content-Digest")
        if announced and announced.startswith("sha256:") and announced != digest:
            raise OciError(f"{self.registry}/{repo}:{reference}: Docker-Content-Digest "
                           f"{announced} does not match the manifest bytes ({digest})")
        try:
            data = json.loads(raw)
        except ValueError:
            raise OciError(f"{self.registry}/{repo}:{reference}: manifest is not JSON") from None
        if not isinstance(data, dict):
            raise OciError(f"{self.registry}/{repo}:{reference}: manifest is not an object")
        media = data.get("mediaType") or resp.headers.get("Content-Type", "").split(";")[0]
        return Manifest(raw, digest, str(media), data)

    def blob(self, repo: str, digest: str, max_size: int = MAX_BLOB) -> bytes:
        """A blob by digest; refused when larger than `max_size` or its digest differs."""
        if not _DIGEST.match(digest):
            raise OciError(f"{self.registry}/{repo}: unsupported blob digest {digest!r}")
        resp, data = self._get_capped(f"/v2/{repo}/blobs/{digest}", repo, max_size)
        if resp.status_code != 200:
            raise self._fail(resp, f"{self.registry}/{repo}@{digest} (blob)", data)
        if sha256_digest(data) != digest:
            raise OciError(f"{self.registry}/{repo}@{digest}: blob content does not match "
                           "its digest")
        return data

    def tags(self, repo: str) -> list[str]:
        resp = self._request("GET", f"/v2/{repo}/tags/list", repo)
        if resp.status_code == 404:
            return []
        if resp.status_code != 200:
            raise self._fail(resp, f"{self.registry}/{repo} (tags)")
        try:
            tags = json.loads(resp.content).get("tags")
        except (ValueError, AttributeError):
            raise OciError(f"{self.registry}/{repo}: tag list is not a JSON object") from None
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    def exists(self, repo: str, reference: str) -> bool:
        resp = self._request("HEAD", f"/v2/{repo}/manifests/{reference}", repo,
                             headers={"Accept": ACCEPT})
        if resp.status_code == 404:
            return False
        if resp.status_code != 200:
            raise self._fail(resp, f"{self.registry}/{repo}:{reference}")
        return True

    def referrers(self, repo: str, digest: str,
                  artifact_type: str | None = None) -> list[Mapping[str, Any]]:
        """Descriptors of the manifests whose `subject` is `digest` (OCI 1.1 referrers API,
        else the `sha256-<hex>` tag schema)."""
        params = {"artifactType": artifact_type} if artifact_type else None
        resp = self._request("GET", f"/v2/{repo}/referrers/{digest}", repo,
                             headers={"Accept": OCI_INDEX}, params=params)
        items: list[Mapping[str, Any]]
        if resp.status_code == 200 and \
                resp.headers.get("Content-Type", "").startswith(OCI_INDEX):
            try:
                data = json.loads(resp.content)
            except ValueError:
                raise OciError(f"{self.registry}/{repo}@{digest}: referrers index is not "
                               "JSON") from None
            raw = data.get("manifests") if isinstance(data, dict) else None
            items = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        elif resp.status_code in (200, 404, 405, 400):
            tag = digest.replace(":", "-")
            if not self.exists(repo, tag):
                return []
            items = list(self.manifest(repo, tag).manifests)
        else:
            raise self._fail(resp, f"{self.registry}/{repo}@{digest} (referrers)")
        if artifact_type:
            items = [m for m in items if m.get("artifactType") == artifact_type]
        return items

    # -- writing (tests, and `kubeward` never pushes on its own) --------------------------

    def push_blob(self, repo: str, data: bytes) -> str:
        """Monolithic upload: POST an upload session, PUT the bytes with their digest."""
        digest = sha256_digest(data)
        resp = self._request("POST", f"/v2/{repo}/blobs/uploads/", repo, push=True)
        if resp.status_code not in (201, 202):
            raise self._fail(resp, f"{self.registry}/{repo} (start upload)")
        location = resp.headers.get("Location", "")
        if not location:
            raise OciError(f"{self.registry}/{repo}: upload without Location")
        if location.startswith("/"):
            location = f"{self.base}{location}"
        sep = "&" if "?" in location else "?"
        resp = self._request("PUT", f"{location}{sep}digest={digest}", repo, push=True,
                             headers={"Content-Type": "application/octet-stream"}, content=data)
        if resp.status_code != 201:
            raise self._fail(resp, f"{self.registry}/{repo} (upload {digest})")
        return digest

    def push_manifest(self, repo: str, reference: str, manifest: Mapping[str, Any] | bytes,
                      media_type: str | None = None) -> str:
        raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        if media_type is None:
            media_type = str(json.loads(raw).get("mediaType") or OCI_MANIFEST)
        resp = self._request("PUT", f"/v2/{repo}/manifests/{reference}", repo, push=True,
                             headers={"Content-Type": media_type}, content=raw)
        if resp.status_code != 201:
            raise self._fail(resp, f"{self.registry}/{repo}:{reference} (push manifest)")
        return sha256_digest(raw)
