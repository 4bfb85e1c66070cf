"""Telling a secret value from configuration, and never showing it.

Two signals, as gitleaks and detect-secrets use: the shape of well-known credentials
(cloud keys, tokens, private keys), and a secret-sounding name (PASSWORD, API_KEY …) holding
a literal that is not obviously configuration (a path, a number, a reference). Values are
only ever shown through `redact`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["known_token", "looks_like_secret_name", "plausible_secret_value", "redact"]

# (label, literal needles, pattern): the regex runs only when a needle is in the text, so
# megabytes of dashboards in ConfigMaps cost a few substring searches, not ten regex scans.
_TOKENS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("private key", ("PRIVATE KEY",),
     re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key id", ("AKIA", "ASIA", "ABIA", "ACCA"),
     re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    ("GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b")),
    ("GitLab token", ("glpat-",), re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    ("Slack token", ("xox",), re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("Google API key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("Stripe secret key", ("_live_",), re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}\b")),
    ("OpenAI-style API key", ("sk-",), re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{32,}\b")),
    ("JSON web token", ("eyJ",),
     re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("password in URL", ("@",), re.compile(r"\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:([^/\s:@$%{]{3,})@")),
)

_NAME = re.compile(
    r"(?:^|[_\-.])(?:PASS(?:WORD|WD)?|PWD|SECRET|TOKEN|API[_\-]?KEY|ACCESS[_\-]?KEY|"
    r"PRIVATE[_\-]?KEY|CLIENT[_\-]?SECRET|CREDENTIALS?|AUTH[_\-]?KEY|SIGNING[_\-]?KEY)"
    r"(?:$|[_\-.])",
    re.IGNORECASE,
)
# Names that talk *about* a secret rather than hold one.
_NOT_A_VALUE = re.compile(
    r"(?:_FILE|_PATH|_DIR|_NAME|_REF|_ENABLED|_ENABLE|_TTL|_TIMEOUT|_LENGTH|_SIZE|_URL|_URI|"
    r"_ENDPOINT|_HEADER|_TYPE|_MODE|_EXPIRY|_EXPIRATION|_DURATION|_AGE|_LIFETIME|_KEY_ID|_ID)$",
    re.IGNORECASE,
)
_BENIGN = re.compile(
    r"^(?:|true|false|yes|no|on|off|none|null|nil|required|optional|disabled|enabled|"
    r"\d{1,5}[smhd]?|[a-z][a-z0-9+.\-]*://[^@\s]*|[$][({].*|/.*|\.{0,2}/.*|<[^>]*>|\*+|x+|"
    r"redacted|changeit-in-secret)$",
    re.IGNORECASE,
)


# Every needle in one alternation: most values (short env values, image names) hold none,
# and one C-level search rejects them instead of about thirty substring tests.
_ANY_NEEDLE = re.compile("|".join(re.escape(n) for _, needles, _ in _TOKENS for n in needles))


def known_token(value: str) -> str | None:
    """The kind of well-known credential found in `value`, or None."""
    if _ANY_NEEDLE.search(value) is None:
        return None
    for label, needles, pattern in _TOKENS:
        if any(n in value for n in needles) and pattern.search(value):
            return label
    return None


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def looks_like_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    if isinstance(extra, tuple):
        return _secret_name(name, extra)
    return _secret_name.__wrapped__(name, extra)


# Names repeat across objects (LOG_LEVEL, DB_PASSWORD ...): the webhook and large scans
# look each one up once.
@functools.lru_cache(maxsize=4096)
def _secret_name(name: str, extra: Iterable[str]) -> bool:
    name = _CAMEL.sub("_", name)  # adminPassword -> admin_Password
    if _NOT_A_VALUE.search(name):
        return False
    if _NAME.search(name):
        return True
    lowered = name.lower()
    return any(fragment.lower() in lowered for fragment in extra)


def plausible_secret_value(value: str) -> bool:
    """A literal that could be a credential: not empty, not a path, number, flag or reference."""
    stripped = value.strip()
    if len(stripped) < 4 or "\n" in stripped:
        return False
    return not _BENIGN.match(stripped)


def redact(value: str) -> str:
    """What may be shown of a secret: its length, never a character of it."""
    return f"<redacted, {len(value)} chars>"
