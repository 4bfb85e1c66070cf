"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The text goes to a temporary file in the same directory (same filesystem, so the rename
is atomic), is flushed and fsync'ed, gets the mode of the file it replaces (or the
requested one), and replaces it with :func:`os.replace`. On any failure the temporary
file is removed and the original is untouched. The directory is fsync'ed afterwards so
the rename itself survives a crash (POSIX; skipped where directories cannot be opened).
A symbolic link is followed: the file it points to is replaced, the link stays. A target
that exists but is no regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written in place:
replacing a device node with a file would break the machine, not protect the data.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | Path, text: str, *, mode: int | None = None) -> None:
    """Replace PATH with TEXT (UTF-8). MODE: permission bits for the result; default the
    existing file's, or 0644 for a new file (never widened by the umask-free temp file)."""
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))  # write the file, keep the link
    if target.exists() and not target.is_file():
        with target.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        return
    if mode is None:
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".kubeward-tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dfd)
    finally:
        os.close(dfd)
