"""Secret heuristics: well-known token shapes, secret-sounding names, benign values, redaction."""

from __future__ import annotations

import pytest

from kubeward.secretscan import known_token, looks_like_secret_name, plausible_secret_value, redact


@pytest.mark.parametrize(("value", "label"), [
    ("AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
    ("key: ASIAY34FZKBOKMUTVV7A\n", "AWS access key id"),
    ("ghp_" + "a" * 36, "GitHub token"),
    ("github_pat_" + "A1_" * 21, "GitHub token"),
    ("glpat-" + "x" * 20, "GitLab token"),
    ("xoxb-123456789012-abcdef", "Slack token"),
    ("AIza" + "B" * 35, "Google API key"),
    ("sk_live_" + "4" * 24, "Stripe secret key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...", "private key"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "JSON web token"),
    ("DATABASE_URL=postgres://app:s3cr3t@db:5432/app", "password in URL"),
])
def test_known_tokens(value, label):
    assert known_token(value) == label


@pytest.mark.parametrize("value", [
    "", "nginx:1.27", "https://example.com/path?a=1&b=2", "postgres://db:5432/app",
    "user@example.com", "AKIA-not-a-key", "sk-short", "eyJ-only-one-part",
    "postgres://app:$(DB_PASSWORD)@db/app", "-----BEGIN CERTIFICATE-----",
])
def test_not_tokens(value):
    assert known_token(value) is None


@pytest.mark.parametrize(("name", "expected"), [
    ("DB_PASSWORD", True), ("password", True), ("API_KEY", True), ("client-secret", True),
    ("GITHUB_TOKEN", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("DB_PASSWORD_FILE", False), ("TOKEN_TTL", False), ("SECRET_NAME", False),
    ("LOG_LEVEL", False), ("KEYCLOAK_URL", False), ("TOKENIZER", False),
])
def test_secret_names(name, expected):
    assert looks_like_secret_name(name) is expected


def test_extra_names_from_config():
    assert not looks_like_secret_name("SENTRY_DSN")
    assert looks_like_secret_name("SENTRY_DSN", extra=("dsn",))


@pytest.mark.parametrize(("value", "expected"), [
    ("hunter2-prod", True), ("changeme", True), ("3600", False), ("true", False),
    ("/run/secrets/db", False), ("$(FROM_ENV)", False), ("${VAR}", False), ("abc", False),
    ("<your-password>", False),
])
def test_plausible_values(value, expected):
    assert plausible_secret_value(value) is expected


def test_redact_never_shows_a_character():
    out = redact("hunter2-prod-2026")
    assert "hunter" not in out and "2026" not in out
    assert out == "<redacted, 17 chars>"


@pytest.mark.parametrize(("name", "expected"), [
    ("adminPassword", True), ("apiToken", True), ("clientSecret", True),
    ("tokenTtl", False), ("passwordFile", False),
])
def test_camel_case_names(name, expected):
    assert looks_like_secret_name(name) is expected


def test_long_numbers_and_plain_urls():
    assert plausible_secret_value("83920193")  # a numeric password
    assert not plausible_secret_value("https://kubernetes.default.svc")
    assert plausible_secret_value("https://user:pw@host")  # credentials in a URL: not benign
