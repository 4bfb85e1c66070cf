"""A content-addressed cache of `kubectl kustomize` output.

Why: a kubectl start costs 60–100 ms of CPU per kustomization, which is most of a scan's
time on a repository with many overlays, and in CI, pre-commit and an editor loop the same
kustomizations are rendered again and again unchanged. The key is a hash of everything the
render can read, so a hit is exactly what kustomize would print:

* the renderer (resolved path, size and mtime of the binary, its argv),
* every file below the kustomization's root (kustomize's load restrictor keeps it there),
* the same for every local directory it lists in `resources`/`bases`/`components`,
  transitively (an overlay's `../base`).

Bounded and careful: closures over 4,000 files or 64 MiB are not cached (hashing them would
cost more than it saves); outputs with a `Secret` are never written to disk (a
secretGenerator's values would otherwise sit in the cache); entries are 0600 in a 0700
directory; the oldest entries beyond 256 are removed. `KUBEWARD_RENDER_CACHE=0` turns it off;
`KUBEWARD_CACHE_DIR` moves it (default `$XDG_CACHE_HOME/kubeward`, else `~/.cache/kubeward`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MAX_FILES = 4000
MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 256
_SECRET = re.compile(r"^kind:\s*[\"']?Secret[\"']?\s*$", re.MULTILINE)


class _TooBig(Exception):
    pass


def cache_dir() -> Path | None:
    """Where entries live, or None when caching is off."""
    if os.environ.get("KUBEWARD_RENDER_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    base = os.environ.get("KUBEWARD_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "kubeward"
    return root / "render"


def key(cmd: Sequence[str], directory: Path) -> str | None:
    """The cache key of rendering `directory` with `cmd`, or None when it is not cacheable
    (or caching is off: then nothing is hashed)."""
    if cache_dir() is None:
        return None
    digest = hashlib.sha256()
    try:
        binary = Path(cmd[0]).resolve()
        st = binary.stat()
        digest.update(f"{binary}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        digest.update("\0".join(cmd[1:-1]).encode() + b"\0")
        budget = [MAX_FILES, MAX_BYTES]
        for root in _closure(directory.resolve()):
            digest.update(f"dir\0{root}\0".encode())
            _hash_tree(root, digest, budget)
    except (OSError, _TooBig, RecursionError):
        return None
    return digest.hexdigest()


def get(entry_key: str) -> str | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        return (folder / f"{entry_key}.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def put(entry_key: str, text: str) -> None:
    """Store a render (atomically; never one with a Secret in it)."""
    folder = cache_dir()
    if folder is None or _SECRET.search(text):
        return
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, folder / f"{entry_key}.yaml")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except OSError:
        pass  # a cache that cannot be written is only a slower scan


def _prune(folder: Path) -> None:
    entries = [p for p in folder.glob("*.yaml") if p.is_file()]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for old in entries[: len(entries) - MAX_ENTRIES]:
        old.unlink(missing_ok=True)


def _closure(directory: Path) -> list[Path]:
    """The kustomization's root and every local directory it reaches, in a stable order.

    Kustomizations below the root (reached by relative paths) are hashed with the root."""
    from kubeward.inventory.render import _REFERENCE_FIELDS, _kustomization

    seen: list[Path] = []
    todo = [directory]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        data = _kustomization(current) or {}
        for field in _REFERENCE_FIELDS:
            value = data.get(field)
            for entry in value if isinstance(value, list) else []:
                if isinstance(entry, str) and (current / entry).is_dir():
                    todo.append((current / entry).resolve())
    return sorted(seen)


def _hash_tree(root: Path, digest: Any, budget: list[int]) -> None:
    # Links are followed (kustomize reads through them); the budget ends any link cycle.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            budget[0] -= 1
            size = path.stat().st_size
            budget[1] -= size
            if budget[0] < 0 or budget[1] < 0:
                raise _TooBig
            digest.update(f"file\0{rel}\0{size}\0".encode())
            digest.update(path.read_bytes())
