"""The OCI client's defences and the token protocol, with a scripted registry.

Mocked, and only here: a token service (Docker Hub's and GHCR's cannot be reached offline)
and a registry that lies about content (a real Distribution registry never serves bytes
that do not match their digest). Everything else is tested against the real registry.
"""

from __future__ import annotations

import hashlib
import json

import httpx2
import pytest

from kubeward.supply.oci import MAX_MANIFEST, OciError, RegistryClient

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {}, "layers": []}).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


def _client(handler) -> RegistryClient:
    return RegistryClient("registry.test", transport=httpx2.MockTransport(handler))


def test_anonymous_bearer_token_flow():
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.method} {request.url.path} {request.headers.get('authorization')}")
        if request.url.host == "auth.test":
            assert request.url.params["scope"] == "repository:acme/app:pull"
            assert request.url.params["service"] == "registry.test"
            return httpx2.Response(200, json={"token": "T0K"})
        if request.headers.get("authorization") != "Bearer T0K":
            return httpx2.Response(401, headers={"WWW-Authenticate":
                                                 'Bearer realm="https://auth.test/token",'
                                                 'service="registry.test"'})
        return httpx2.Response(200, content=MANIFEST, headers={
            "Docker-Content-Digest": DIGEST,
            "Content-Type": "application/vnd.oci.image.manifest.v1+json"})

    with _client(handler) as client:
        assert client.resolve("acme/app", "v1") == DIGEST
        assert client.manifest("acme/app", "v1").digest == DIGEST
    assert seen[0].endswith(" None") and seen[1].startswith("GET /token")
    assert seen[-1].endswith("Bearer T0K")


def test_token_service_refusal_is_one_line():
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "auth.test":
            return httpx2.Response(403)
        return httpx2.Response(401, headers={"WWW-Authenticate":
                                             'Bearer realm="https://auth.test/token"'})

    with _client(handler) as client, pytest.raises(OciError, match="token service answered 403"):
        client.manifest("acme/private", "v1")


def test_manifest_not_matching_the_requested_digest_is_refused():
    other = "sha256:" + "0" * 64

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=MANIFEST)

    with _client(handler) as client, pytest.raises(OciError, match="whose digest is"):
        client.manifest("acme/app", other)


def test_announced_digest_must_match_the_bytes():
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=MANIFEST,
                               headers={"Docker-Content-Digest": "sha256:" + "1" * 64})

    with _client(handler) as client, pytest.raises(OciError, match="does not match"):
        client.manifest("acme/app", "v1")


def test_blob_content_must_match_its_digest():
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"not what was asked for")

    with _client(handler) as client, pytest.raises(OciError, match="does not match its digest"):
        client.blob("acme/app", DIGEST)


def test_oversized_answers_are_cut_off():
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"x" * (MAX_MANIFEST + 10))

    with _client(handler) as client, pytest.raises(OciError, match="larger than"):
        client.manifest("acme/app", "v1")
    with _client(handler) as client, pytest.raises(OciError, match="larger than 100 bytes"):
        client.blob("acme/app", DIGEST, max_size=100)


def test_docker_hub_host_and_bad_digest():
    client = RegistryClient("docker.io")
    assert client.base == "https://registry-1.docker.io"
    with pytest.raises(OciError, match="unsupported blob digest"):
        client.blob("library/nginx", "md5:abc")
    client.close()


def test_registry_insecure_means_plain_http_to_loopback_only():
    """`--registry-insecure` is for local test registries: a remote one is always TLS."""
    from kubeward.supply.oci import RegistryClient

    assert RegistryClient("127.0.0.1:5000", insecure=True).base == "http://127.0.0.1:5000"
    assert RegistryClient("[::1]:5000", insecure=True).base == "http://[::1]:5000"
    assert RegistryClient("localhost:5000", insecure=True).base == "http://localhost:5000"
    assert RegistryClient("ghcr.io", insecure=True).base == "https://ghcr.io"
    assert RegistryClient("10.1.2.3:5000", insecure=True).base == "https://10.1.2.3:5000"
    assert RegistryClient("127.0.0.1:5000").base == "https://127.0.0.1:5000"
