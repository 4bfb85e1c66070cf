"""The severity of an OSV advisory: from its CVSS vectors, else the database's own label.

Order of preference (the first that yields a level wins):
1. `affected[].severity` of the matched package (OSV: package-level severities replace the
   top-level one), else the top-level `severity` list;
2. within a list, CVSS_V4, then CVSS_V3, then CVSS_V2 vectors; the base score is computed by
   the `cvss` library (Red Hat Product Security, implements the FIRST specifications
   https://www.first.org/cvss/v4.0/specification-document and …/v3.1/specification-document)
   and rated with the specification's qualitative scale (0.1–3.9 LOW, 4.0–6.9 MEDIUM,
   7.0–8.9 HIGH, 9.0–10.0 CRITICAL; v2 has no CRITICAL: NVD's 0–3.9/4–6.9/7–10);
   an `Ubuntu` severity entry carries the label itself;
3. `database_specific.severity` (GitHub Advisory Database: LOW / MODERATE / HIGH / CRITICAL;
   MODERATE is MEDIUM);
4. otherwise UNKNOWN.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = ["VulnSeverity", "advisory_severity", "rate"]


class VulnSeverity(IntEnum):
    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> VulnSeverity:
        word = text.strip().upper()
        word = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH", "NEGLIGIBLE": "LOW"}.get(word, word)
        try:
            return cls[word]
        except KeyError:
            names = ", ".join(s.name for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


def rate(score: float, *, v2: bool = False) -> VulnSeverity:
    """The CVSS qualitative rating of a base score (score 0.0, "None", rates LOW)."""
    if score >= 9.0 and not v2:
        return VulnSeverity.CRITICAL
    if score >= 7.0:
        return VulnSeverity.HIGH
    if score >= 4.0:
        return VulnSeverity.MEDIUM
    return VulnSeverity.LOW


_PREFERENCE = ("CVSS_V4", "CVSS_V3", "CVSS_V2", "Ubuntu")


def _from_list(entries: Any) -> tuple[VulnSeverity, float | None] | None:
    if not isinstance(entries, list):
        return None
    by_type = {e.get("type"): e.get("score") for e in entries
               if isinstance(e, dict) and isinstance(e.get("type"), str) and isinstance(e.get("score"), str)}
    for kind in _PREFERENCE:
        text = by_type.get(kind)
        if text is None:
            continue
        if kind == "Ubuntu":
            try:
                return VulnSeverity.parse(text), None
            except ValueError:
                continue
        score = cvss_score(kind, text)
        if score is not None:
            return rate(score, v2=kind == "CVSS_V2"), score
    return None


def cvss_score(kind: str, vector: str) -> float | None:
    """Base score of a CVSS vector, or None when the vector is malformed."""
    from cvss import CVSS2, CVSS3, CVSS4  # type: ignore[import-untyped]  # lazy: 15 ms
    from cvss.exceptions import CVSSError  # type: ignore[import-untyped]


    cls = {"CVSS_V4": CVSS4, "CVSS_V3": CVSS3, "CVSS_V2": CVSS2}[kind]
    try:
        return float(cls(vector.strip()).base_score)
    except CVSSError:
        return None
    except Exception:  # noqa: BLE001 - advisory data is untrusted; the library may raise anything
        return None


def advisory_severity(advisory: dict[str, Any],
                      affected: dict[str, Any] | None = None) -> tuple[VulnSeverity, float | None]:
    """(level, CVSS base score or None) of ADVISORY as it applies to one AFFECTED entry."""
    for source in ((affected or {}).get("severity"), advisory.get("severity")):
        found = _from_list(source)
        if found is not None:
            return found
    for specific in ((affected or {}).get("database_specific"), advisory.get("database_specific"),
                     (affected or {}).get("ecosystem_specific")):
        if isinstance(specific, dict) and isinstance(specific.get("severity"), str):
            try:
                return VulnSeverity.parse(specific["severity"]), None
            except ValueError:
                continue
    return VulnSeverity.UNKNOWN, None
