"""Shared test helpers: where the shared corpora live, and a scan-a-string helper."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPORA = SHARED / "corpora"


def corpus(name: str) -> Path:
    path = CORPORA / name
    if not path.is_dir():
        pytest.skip(f"shared corpus {name} not present at {path}")
    return path


def pytest_configure(config: pytest.Config) -> None:
    """Tests never read or fill the user's render cache: one throw-away cache per session
    (set in the environment, so CLI subprocesses inherit it)."""
    import os
    import tempfile

    if "KUBEWARD_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="kubeward-test-cache-")
        os.environ["KUBEWARD_CACHE_DIR"] = folder
        config._kubeward_cache_dir = folder  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    folder = getattr(config, "_kubeward_cache_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
