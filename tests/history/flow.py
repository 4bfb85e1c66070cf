"""The end-to-end history flow shared by the SQLite and PostgreSQL tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO

HARNESS = Path(__file__).with_name("harness.py")
EXAMPLE = REPO / "examples" / "insecure"
ADDED_SECRET = "AKIAI44QH8DHBEXAMPLE"


def kubeward(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             expect: int | tuple[int, ...] = 0) -> subprocess.CompletedProcess[str]:
    """Run the CLI (see harness.py); fail with its output when the exit code is unexpected."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    done = subprocess.run([sys.executable, str(HARNESS), *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or REPO, timeout=120)
    codes = (expect,) if isinstance(expect, int) else expect
    assert done.returncode in codes, (
        f"kubeward {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def copy_example(tmp: Path) -> Path:
    app = tmp / "app"
    shutil.copytree(EXAMPLE, app)
    return app


def fix_one_add_one(app: Path) -> None:
    """Remove the hostPort (fixes pss.baseline.host-ports), add an AWS key to the ConfigMap
    (a new secrets.literal-in-configmap), and move every line: documents re-ordered, a
    comment block on top. Fingerprints must see exactly one fixed and one new finding."""
    web = app / "web.yaml"
    text = web.read_text()
    assert "hostPort: 80" in text
    text = "\n".join(line for line in text.splitlines() if "hostPort: 80" not in line) + "\n"
    text = text.replace("  aws_key: AKIAIOSFODNN7EXAMPLE\n",
                        f"  aws_key: AKIAIOSFODNN7EXAMPLE\n  backup_key: {ADDED_SECRET}\n")
    docs = text.split("\n---\n")
    assert len(docs) == 3
    web.write_text("# moved\n# every\n# line\n" + "\n---\n".join(reversed(docs)))


def history_flow(tmp: Path, save: str, store_env: dict[str, str], store_args: tuple[str, ...]) -> None:
    """scan --save, change, scan --save, then history and diff through the CLI.

    `save` is the --save argument form (`--save` or `--save=URL`); `store_env` / `store_args`
    point history and diff at the same store."""
    app = copy_example(tmp)
    first = kubeward("scan", str(app), save, env=store_env, expect=1)
    assert "saved run " in first.stderr, first.stderr
    fix_one_add_one(app)
    second = kubeward("scan", str(app), save, env=store_env, expect=1)
    assert "saved run " in second.stderr, second.stderr

    runs = json.loads(kubeward("history", "-o", "json", *store_args, env=store_env).stdout)["runs"]
    assert len(runs) == 2
    b, a = runs  # newest first
    assert a["target"] == b["target"] == f"path:{app.resolve().as_posix()}"
    assert a["command"] == "scan" and a["targetKind"] == "paths"
    assert a["findings"] == 18 and b["findings"] == 18
    assert a["bySeverity"] == {"critical": 1, "high": 5, "medium": 7, "low": 5, "info": 0}
    assert b["bySeverity"]["high"] == 6 and b["bySeverity"]["medium"] == 6
    assert a["catalogVersion"] and a["kubewardVersion"]
    assert a["startedAt"] <= a["finishedAt"] <= b["startedAt"]

    def check(doc: dict[str, Any]) -> None:
        assert doc["summary"] == {"new": 1, "fixed": 1, "open": 17, "suppressed": 0}
        (new,) = doc["new"]
        assert new["rule"] == "secrets.literal-in-configmap"
        assert "backup_key" in new["message"] and ADDED_SECRET not in json.dumps(doc)
        assert new["resource"] == {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop",
                                   "name": "web-config"}
        assert new["location"]["file"].endswith("web.yaml") and new["location"]["line"] > 3
        (fixed,) = doc["fixed"]
        assert fixed["rule"] == "pss.baseline.host-ports"
        assert doc["from"]["id"] == a["id"] and doc["to"]["id"] == b["id"]

    ids = (str(a["id"]), str(b["id"]))
    check(json.loads(kubeward("diff", *ids, "-o", "json", *store_args, env=store_env).stdout))
    # RUN_B defaults to the latest run of RUN_A's target; latest~N counts back from it
    check(json.loads(kubeward("diff", ids[0], "-o", "json", *store_args, env=store_env).stdout))
    check(json.loads(kubeward("diff", "latest~1", "latest", "-o", "json", *store_args,
                              env=store_env).stdout))

    table = kubeward("diff", *ids, *store_args, env=store_env).stdout
    assert "1 new, 1 fixed, 17 still open" in table
    assert "NEW (1)" in table and "FIXED (1)" in table and "STILL OPEN (17)" in table

    kubeward("diff", *ids, "--fail-on-new", *store_args, env=store_env, expect=1)
    kubeward("diff", ids[1], ids[1], "--fail-on-new", *store_args, env=store_env, expect=0)
    missing = kubeward("diff", "999999", *store_args, env=store_env, expect=2)
    assert missing.stderr.count("\n") == 1 and "no run 999999" in missing.stderr, missing.stderr
    listing = kubeward("history", *store_args, env=store_env).stdout
    assert listing.splitlines()[0].split()[:2] == ["ID", "STARTED"]
    assert len(listing.splitlines()) == 3
