"""`.kubeward.yaml`: allow-lists, severities, disabled rules, exceptions, PSS target.

Found by walking up from the first scanned path (like .gitignore or ruff's config), so a
repository carries its own policy; `--config` names one explicitly. A bad config is an input
error (exit 2) with the file and line, never a traceback.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeward.findings import Severity

__all__ = ["CONFIG_NAMES", "Config", "ConfigError", "find_config", "load_config"]

CONFIG_NAMES = (".kubeward.yaml", ".kubeward.yml")


class ConfigError(Exception):
    """A configuration problem, already phrased for the user (`path:line: message`)."""


@dataclass(slots=True)
class Config:
    path: str | None = None
    allowed_registries: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()  # rule id globs
    enabled_only: tuple[str, ...] = ()  # when set, only these rule id globs run
    severity: dict[str, Severity] = field(default_factory=dict)  # rule id glob -> severity
    pss_level: str = "restricted"
    pss_version: str = "latest"
    fail_on: Severity | None = None
    exceptions: list[Mapping[str, Any]] = field(default_factory=list)
    strict: tuple[str, ...] = ()  # rule id globs whose findings cannot be excepted
    secret_names: tuple[str, ...] = ()  # extra env/key name fragments that hold secrets

    def rule_enabled(self, rule_id: str) -> bool:
        if self.enabled_only and not _matches(rule_id, self.enabled_only):
            return False
        return not _matches(rule_id, self.disabled)

    def severity_of(self, rule_id: str, default: Severity) -> Severity:
        for pattern, sev in self.severity.items():
            if fnmatch.fnmatchcase(rule_id, pattern):
                return sev
        return default

    def is_strict(self, rule_id: str) -> bool:
        return _matches(rule_id, self.strict)


def _matches(rule_id: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(rule_id, p) for p in patterns)


def find_config(start: str | None) -> Path | None:
    """The nearest `.kubeward.yaml` at or above `start` (a file or directory), or None."""
    here = Path(start or ".").resolve()
    if not here.is_dir():
        here = here.parent
    for directory in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    from kubeward.inventory.yamlio import LoadError, load_documents

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config: {err}") from None
    docs = list(load_documents(text))
    for doc in docs:
        if isinstance(doc, LoadError):
            raise ConfigError(f"{path}:{doc.line}: {doc.message}")
    data = docs[0].data if docs else None  # type: ignore[union-attr]
    if data is None:
        return Config(path=str(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: config must be a mapping")
    return _parse(data, str(path))


_KNOWN = {
    "registries", "rules", "pss", "fail-on", "exceptions", "strict", "secrets",
}


def _parse(data: Mapping[str, Any], where: str) -> Config:
    unknown = sorted(set(map(str, data)) - _KNOWN)
    if unknown:
        raise ConfigError(f"{where}: unknown config keys: {', '.join(unknown)}")
    cfg = Config(path=where)
    registries = _mapping(data.get("registries"), where, "registries")
    cfg.allowed_registries = _strings(registries.get("allowed"), where, "registries.allowed")
    rules = _mapping(data.get("rules"), where, "rules")
    cfg.disabled = _strings(rules.get("disable"), where, "rules.disable")
    cfg.enabled_only = _strings(rules.get("only"), where, "rules.only")
    for rule_id, sev in _mapping(rules.get("severity"), where, "rules.severity").items():
        try:
            cfg.severity[str(rule_id)] = Severity.parse(str(sev))
        except ValueError as err:
            raise ConfigError(f"{where}: rules.severity.{rule_id}: {err}") from None
    pss_cfg = _mapping(data.get("pss"), where, "pss")
    cfg.pss_level = str(pss_cfg.get("level", cfg.pss_level)).lower()
    cfg.pss_version = str(pss_cfg.get("version", cfg.pss_version))
    from kubeward import pss

    try:
        pss.parse_level(cfg.pss_level)
        pss.parse_version(cfg.pss_version)
    except ValueError as err:
        raise ConfigError(f"{where}: pss: {err}") from None
    if data.get("fail-on") is not None:
        try:
            cfg.fail_on = Severity.parse(str(data["fail-on"]))
        except ValueError as err:
            raise ConfigError(f"{where}: fail-on: {err}") from None
    exceptions = data.get("exceptions") or []
    if not isinstance(exceptions, list) or not all(isinstance(e, dict) for e in exceptions):
        raise ConfigError(f"{where}: exceptions must be a list of mappings")
    cfg.exceptions = exceptions
    cfg.strict = _strings(data.get("strict"), where, "strict")
    secrets = _mapping(data.get("secrets"), where, "secrets")
    cfg.secret_names = _strings(secrets.get("names"), where, "secrets.names")
    return cfg


def _mapping(
    value: object, where: str, key: str, error: type[Exception] = ConfigError
) -> Mapping[str, Any]:
    """`value` as a mapping (None: empty); `error` names the config file kind that asks."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise error(f"{where}: {key} must be a mapping")
    return value


def _strings(
    value: object, where: str, key: str, error: type[Exception] = ConfigError
) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple (None: empty)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error(f"{where}: {key} must be a list of strings")
    return tuple(value)
