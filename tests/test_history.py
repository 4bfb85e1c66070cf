"""Run history on SQLite: the store, targets, diffs, and the CLI flow end to end."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kubeward.config import Config
from kubeward.history import (
    SCHEMA_VERSION,
    HistoryError,
    cluster_target,
    default_location,
    diff_findings,
    fingerprint,
    open_store,
    parse_location,
    save_run,
    scan_target,
)
from kubeward.history.store import MIGRATIONS
from kubeward.report.sarif import render_sarif
from kubeward.scan import run_scan
from tests.history.flow import EXAMPLE, HARNESS, copy_example, history_flow, kubeward


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "history.db"


@pytest.fixture(scope="module")
def report():
    return run_scan([str(EXAMPLE)], Config())


# -- locations -----------------------------------------------------------------------------


def test_default_location_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_location() == tmp_path / "data" / "kubeward" / "history.db"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: must be absolute
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_location() == tmp_path / "home" / ".local" / "share" / "kubeward" / "history.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("KUBEWARD_HISTORY", raising=False)
    assert parse_location(None).target == str(default_location())
    assert parse_location("").dialect == "sqlite"


def test_env_var_and_url_forms(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBEWARD_HISTORY", str(tmp_path / "env.db"))
    assert parse_location(None).target == str(tmp_path / "env.db")
    assert parse_location(f"sqlite://{tmp_path}/u.db").target == f"{tmp_path}/u.db"
    assert parse_location("sqlite:rel.db").target == "rel.db"
    pg = parse_location("postgresql://bob:s3cret@db.example:5433/kw?sslmode=require")
    assert pg.dialect == "postgresql"
    assert "s3cret" not in pg.shown and pg.shown.startswith("postgresql://bob:***@db.example:5433")
    assert parse_location("postgres://db/kw").dialect == "postgresql"
    with pytest.raises(HistoryError, match="unsupported store URL"):
        parse_location("mysql://db/kw")
    # `scan --save deploy/ app.yaml` must not turn the inputs into a database
    with pytest.raises(HistoryError, match="looks like a scan input"):
        parse_location(str(tmp_path))
    with pytest.raises(HistoryError, match="looks like a scan input"):
        parse_location("app.yaml")


# -- targets --------------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def test_scan_target_in_a_git_repo_uses_the_remote_without_credentials(tmp_path):
    repo = tmp_path / "repo"
    (repo / "deploy" / "web").mkdir(parents=True)
    (repo / "deploy" / "web" / "a.yaml").write_text("kind: ConfigMap\n")
    _git(repo, "init", "-q")
    _git(repo, "remote", "add", "origin", "https://ci:ghp_token123@github.com/acme/app.git")
    t = scan_target(["deploy/web", "deploy"], cwd=repo)
    assert t.key == "git:https://github.com/acme/app.git#deploy,deploy/web"
    assert t.kind == "repo" and "ghp_token123" not in json.dumps(t.details)
    assert t.details["toplevel"] == repo.resolve().as_posix()
    # the same paths from another directory (or another clone) give the same key
    assert scan_target([str(repo / "deploy"), str(repo / "deploy/web")]).key == t.key
    assert scan_target(["."], cwd=repo).key == "git:https://github.com/acme/app.git#."


def test_scan_target_in_a_git_repo_without_remote_uses_the_toplevel(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "k8s").mkdir()
    assert scan_target(["k8s", "-"], cwd=tmp_path).key == f"git:{tmp_path.resolve().as_posix()}#-,k8s"


def test_scan_target_outside_git_uses_absolute_paths(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.yaml").write_text("")
    key = scan_target(["b", "a.yaml"], cwd=tmp_path).key
    root = tmp_path.resolve().as_posix()
    assert key == f"path:{root}/a.yaml,{root}/b"


def test_cluster_target():
    t = cluster_target("https://10.0.0.1:6443/", "prod")
    assert t.key == "cluster:https://10.0.0.1:6443@prod" and t.kind == "cluster"
    assert cluster_target("https://u:p@k8s.local", None).key == "cluster:https://k8s.local"


# -- the store ------------------------------------------------------------------------------


def test_save_run_stores_the_run_and_its_findings(report, db_path):
    target = scan_target([str(EXAMPLE)])
    saved = save_run(report, str(db_path), target=target)
    assert saved.id == 1 and str(db_path) in saved.describe()
    with open_store(str(db_path)) as db:
        assert db.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
        (run,) = db.runs()
        assert run["target"] == target.key and run["command"] == "scan"
        assert (run["critical"], run["high"], run["medium"], run["low"], run["info"]) == (1, 5, 7, 5, 0)
        rows = db.findings(saved.id)
    assert len(rows) == len(report.findings) == 18
    by_rule = {r["rule"]: r for r in rows}
    env = by_rule["secrets.literal-in-env"]
    assert env["api_version"] == "apps/v1" and env["kind"] == "Deployment"
    assert (env["namespace"], env["name"], env["line"]) == ("shop", "web", 27)
    assert env["file"].endswith("web.yaml") and env["suppressed"] == 0 and env["severity"] == "high"
    # secret values never reach the store (messages are redacted); the file is the owner's
    raw = b"".join(p.read_bytes() for p in db_path.parent.iterdir())
    assert b"hunter2" not in raw and b"AKIAIOSFODNN7EXAMPLE" not in raw
    assert b"<redacted" in raw
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_fingerprints_match_sarif_partial_fingerprints(report):
    sarif = json.loads(render_sarif(report))
    expected = [r["partialFingerprints"]["kubewardFinding/v1"] for r in sarif["runs"][0]["results"]]
    assert [fingerprint(f) for f in report.findings] == expected


def test_suppressed_findings_are_flagged_and_not_counted(tmp_path, db_path):
    app = copy_example(tmp_path)
    cfg = Config(exceptions=[{"rule": "image.latest-tag", "name": "web", "reason": "test"}])
    rep = run_scan([str(app)], cfg)
    saved = save_run(rep, str(db_path), target=scan_target([str(app)]))
    with open_store(str(db_path)) as db:
        run = db.run(saved.id)
        rows = db.findings(saved.id)
    assert run is not None and run["suppressed"] == 1 and run["medium"] == 6
    assert [r["rule"] for r in rows if r["suppressed"]] == ["image.latest-tag"]


def test_a_failed_write_leaves_nothing_behind(db_path):
    with open_store(str(db_path)) as db:
        run = ("t", "paths", "{}", "scan", "2026-01-01T00:00:00.000000Z",
               "2026-01-01T00:00:01.000000Z", "0", "0", 0, 0, 0, 0, 0, 0, 0)
        bad = [(0, "fp", "rule", "high", "v1", "Pod", "ns", "n", "m", "f", 1, 0),
               (0, "fp", "rule", "high", "v1", "Pod", "ns", "n", "m", "f", 1, 0)]  # same seq
        with pytest.raises(HistoryError, match="UNIQUE"):
            db.insert_run(run, bad)
        assert db.runs() == []
        assert db.insert_run(run, bad[:1]) >= 1
        assert len(db.runs()) == 1


def test_migrations_run_once_and_newer_stores_are_refused(db_path):
    open_store(str(db_path)).close()
    open_store(str(db_path)).close()  # idempotent
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT value FROM meta").fetchall() == [(str(SCHEMA_VERSION),)]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match=r"schema version 999.*upgrade kubeward"):
        open_store(str(db_path))


def test_unreadable_store_is_one_clear_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match="not a database"):
        open_store(str(junk))


def test_prune(db_path, report):
    with open_store(str(db_path)) as db:
        for day in ("2025-01-01", "2025-06-01", "2026-06-01"):
            db.insert_run(("t", "paths", "{}", "scan", f"{day}T00:00:00.000000Z",
                           f"{day}T00:00:01.000000Z", "0", "0", 0, 0, 0, 0, 0, 0, 0),
                          [(0, "fp", "r", "low", "v1", "Pod", "", "p", "m", "", 0, 0)])
        assert db.prune("2025-07-01T00:00:00.000000Z", target="other") == 0
        assert db.prune("2025-07-01T00:00:00.000000Z") == 2
        (left,) = db.runs()
        assert left["started_at"].startswith("2026-06-01")
        assert db.execute("SELECT COUNT(*) FROM findings") == [(1,)]


# -- diff -----------------------------------------------------------------------------------


def _row(fp: str, suppressed: int = 0) -> dict[str, object]:
    return {"fingerprint": fp, "suppressed": suppressed, "rule": fp}


def test_diff_matches_multisets_of_fingerprints():
    d = diff_findings([_row("a"), _row("a"), _row("b"), _row("c")],
                      [_row("a"), _row("b"), _row("d"), _row("c", suppressed=1)])
    assert [r["fingerprint"] for r in d.open] == ["a", "b"]
    assert [r["fingerprint"] for r in d.new] == ["d"]
    assert [r["fingerprint"] for r in d.fixed] == ["a"]
    assert [r["fingerprint"] for r in d.suppressed] == ["c"]


# -- the CLI, end to end --------------------------------------------------------------------


def test_history_flow_through_the_cli(tmp_path):
    db = tmp_path / "h.db"
    history_flow(tmp_path, "--save", {"KUBEWARD_HISTORY": str(db)}, ())
    assert db.is_file()


def test_save_url_and_default_location(tmp_path):
    app = copy_example(tmp_path)
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "KUBEWARD_HISTORY": ""}
    done = kubeward("scan", str(app), "--save", env=env, expect=1)
    default = tmp_path / "xdg" / "kubeward" / "history.db"
    assert f"to {default}" in done.stderr and default.is_file()
    other = tmp_path / "other.db"
    kubeward("scan", str(app), f"--save=sqlite://{other}", env=env, expect=1)
    runs = json.loads(kubeward("history", "-o", "json", "--store", str(other), env=env).stdout)
    assert len(runs["runs"]) == 1 and runs["store"] == str(other)
    assert kubeward("history", "-o", "json", env=env).stdout.count('"id"') == 1


def test_cli_usage_errors_exit_2(tmp_path):
    env = {"KUBEWARD_HISTORY": str(tmp_path / "h.db")}
    bad = kubeward("diff", "yesterday", env=env, expect=2)
    assert "expected a run id, latest or latest~N" in bad.stderr
    empty = kubeward("diff", "latest", env=env, expect=2)
    assert "no run latest in" in empty.stderr
    assert kubeward("history", env=env).stderr.startswith("no runs in")
    assert json.loads(kubeward("history", "-o", "json", env=env).stdout)["runs"] == []
    kubeward("history", "--prune-older-than", "soon", env=env, expect=2)
    pruned = kubeward("history", "--prune-older-than", "90d", env=env)
    assert "pruned 0 run(s)" in pruned.stderr
    app = copy_example(tmp_path)
    mistaken = kubeward("scan", "--save", str(app / "web.yaml"), str(app), env=env, expect=2)
    assert "looks like a scan input" in mistaken.stderr
    assert not (app / "web.yaml").read_text().startswith("SQLite")


def test_concurrent_saves_do_not_corrupt_the_store(tmp_path):
    app = copy_example(tmp_path)
    db = tmp_path / "h.db"
    env = {**os.environ, "KUBEWARD_HISTORY": str(db), "NO_COLOR": "1"}
    procs = [subprocess.Popen([sys.executable, str(HARNESS), "scan", "-o", "json", str(app), "--save"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [1, 1, 1, 1], outs
    ids = sorted(int(line.split()[2]) for err in outs for line in err.splitlines()
                 if line.startswith("saved run "))
    assert ids == [1, 2, 3, 4]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT run_id, COUNT(*) FROM findings GROUP BY run_id").fetchall() == [
        (i, 18) for i in ids]
    conn.close()
