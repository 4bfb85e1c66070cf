"""Session fixture: a real etcd + kube-apiserver on loopback (see docs/testing-cluster.md).

Binaries come from KUBEBUILDER_ASSETS, else from scripts/kube-assets.sh (cached v1.20.2 build;
built on first use, about 7 min). When they cannot be had, cluster tests are skipped with the
reason, except under CI=true, where they fail: a broken build in CI is never silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.kube import AssetsUnavailable, Cluster, find_assets, start_cluster, unavailable


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: needs a real kube-apiserver + etcd on loopback (tests/cluster, session fixture)"
    )


@pytest.fixture(scope="session")
def kube_assets(pytestconfig: pytest.Config) -> Path:
    """The folder with kube-apiserver and etcd (KUBEBUILDER_ASSETS or the cached build)."""
    capman = pytestconfig.pluginmanager.getplugin("capturemanager")
    try:
        if capman is not None:
            # let scripts/kube-assets.sh show its progress: a cold build takes minutes
            with capman.global_and_fixture_disabled():
                return find_assets()
        return find_assets()
    except AssetsUnavailable as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def cluster(kube_assets: Path) -> Iterator[Cluster]:
    """A started control plane shared by the session; stopped by PID at the end (also on failure).

    Use `cluster.kubectl(...)`, `cluster.request(...)`, `cluster.user(name, groups)`,
    `cluster.admin_kubeconfig`, `cluster.audit_log`, `cluster.audit_events()`, `cluster.webhook`.
    """
    try:
        import cryptography  # noqa: F401
    except ImportError:
        unavailable("the Python package `cryptography` (test PKI) is not installed")
    with start_cluster(kube_assets) as started:
        if started.kubectl_path is None:
            unavailable(f"no kubectl in {kube_assets} nor on PATH")
        yield started
