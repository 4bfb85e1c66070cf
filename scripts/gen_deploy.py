"""Regenerate the deploy/ files that are derived from code (run after changing cluster.KINDS).

deploy/audit-clusterrole.yaml and deploy/cronjob/clusterrole.yaml are
`kubeward.inventory.cluster.audit_cluster_role()`; deploy/cronjob/plain/ is the Kustomize
base rendered by `kubectl kustomize`. tests/test_integrations.py and tests/cluster check them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from kubeward.inventory.cluster import audit_cluster_role

REPO = Path(__file__).resolve().parents[1]


def _rewrite(path: Path, doc: dict[str, object]) -> None:
    """Replace the file's first document, keeping its header comment and later documents."""
    text = path.read_text(encoding="utf-8")
    first, sep, rest = text.partition("\n---\n")
    lines = first.splitlines(keepends=True)
    header = "".join(lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))])
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False) + (sep[1:] + rest if sep else ""),
                    encoding="utf-8")


def main() -> None:
    role = audit_cluster_role()
    _rewrite(REPO / "deploy" / "audit-clusterrole.yaml", role)
    _rewrite(REPO / "deploy" / "cronjob" / "clusterrole.yaml", role)
    plain = REPO / "deploy" / "cronjob" / "plain" / "kubeward-audit.yaml"
    lines = plain.read_text(encoding="utf-8").splitlines(keepends=True)
    header = "".join(lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))])
    rendered = subprocess.run(["kubectl", "kustomize", str(REPO / "deploy" / "cronjob")],
                              check=True, capture_output=True, text=True).stdout
    plain.write_text(header + rendered, encoding="utf-8")


if __name__ == "__main__":
    main()
