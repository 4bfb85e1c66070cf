"""What a run is about: the key its history is kept under (a repo and paths, or a cluster).

Scans inside a git work tree are keyed by the repository (its `origin` remote URL, without
any credentials, else its top-level directory) and the scanned paths relative to the top
level, so two clones of one repo share a history. Other scans are keyed by the resolved
absolute paths; audits by the API server URL and the kubeconfig context.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Target", "cluster_target", "scan_target", "strip_credentials"]


@dataclass(slots=True, frozen=True)
class Target:
    key: str  # what runs are grouped and compared by
    kind: str  # "repo", "paths" or "cluster"
    details: dict[str, Any] = field(default_factory=dict)  # shown, never part of the key


def strip_credentials(url: str) -> str:
    """`https://user:token@host/x` -> `https://host/x`; scp-like `git@host:x` is kept."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return url


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


def scan_target(paths: Sequence[str], cwd: str | Path | None = None) -> Target:
    """The target of `kubeward scan PATHS` (`-` for stdin counts as the current directory)."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    stdin = "-" in paths or not paths
    resolved = sorted({(base / p).resolve() for p in paths if p != "-"})
    probe = resolved[0] if resolved else base.resolve()
    probe = probe if probe.is_dir() else probe.parent
    top_text = _git(probe, "rev-parse", "--show-toplevel") if probe.is_dir() else None
    if top_text is not None:
        top = Path(top_text).resolve()
        try:
            rels = sorted({p.relative_to(top).as_posix() or "." for p in resolved}
                          | ({"-"} if stdin else set()))
        except ValueError:  # paths in several repositories
            rels = []
        if rels:
            remote = _git(top, "config", "--get", "remote.origin.url")
            remote = strip_credentials(remote) if remote else None
            key = f"git:{remote or top.as_posix()}#{','.join(rels)}"
            details: dict[str, Any] = {"toplevel": top.as_posix(), "remote": remote, "paths": rels,
                                       "commit": _git(top, "rev-parse", "HEAD")}
            return Target(key, "repo", details)
    shown = [p.as_posix() for p in resolved] + (["-"] if stdin else [])
    return Target("path:" + ",".join(shown), "paths", {"paths": shown})


def cluster_target(server: str, context: str | None) -> Target:
    """The target of `kubeward audit` (live or from a snapshot of the same cluster)."""
    server = strip_credentials(server.rstrip("/"))
    key = f"cluster:{server}" + (f"@{context}" if context else "")
    return Target(key, "cluster", {"server": server, "context": context})
