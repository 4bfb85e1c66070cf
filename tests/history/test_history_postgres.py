"""Run history on a real PostgreSQL server: the same flow, store and guarantees as SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kubeward.config import Config
from kubeward.history import SCHEMA_VERSION, HistoryError, open_store, save_run, scan_target
from kubeward.scan import run_scan
from tests.history.flow import EXAMPLE, HARNESS, copy_example, history_flow, kubeward

pytestmark = pytest.mark.postgres

_RUN = ("t", "paths", "{}", "scan", "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:01.000000Z",
        "0", "0", 0, 0, 0, 0, 0, 0, 0)
_FINDING = (0, "fp", "rule", "high", "v1", "Pod", "ns", "n", "100% literal ? mark", "f", 1, 0)


def test_history_flow_through_the_cli(tmp_path, pg_url):
    # HOME and XDG point nowhere useful: everything must go to the server
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "KUBEWARD_HISTORY": ""}
    history_flow(tmp_path, f"--save={pg_url}", env, ("--store", pg_url))
    assert not (tmp_path / "xdg").exists()


def test_env_var_names_the_server(tmp_path, pg_url):
    app = copy_example(tmp_path)
    env = {"KUBEWARD_HISTORY": pg_url}
    done = kubeward("scan", str(app), "--save", env=env, expect=1)
    assert "saved run 1 " in done.stderr and "127.0.0.1" in done.stderr
    assert json.loads(kubeward("history", "-o", "json", env=env).stdout)["runs"][0]["findings"] == 18


def test_store_schema_transactions_and_placeholders(pg_url):
    with open_store(pg_url) as db:
        assert db.schema_version() == SCHEMA_VERSION
        with pytest.raises(HistoryError, match="duplicate key"):
            db.insert_run(_RUN, [_FINDING, _FINDING])  # same (run_id, seq): rolled back whole
        assert db.runs() == []
        run_id = db.insert_run(_RUN, [_FINDING])
        # '%' and '?' inside values survive the paramstyle translation
        assert db.findings(run_id)[0]["message"] == "100% literal ? mark"
        assert db.nth_latest(0, "t")["id"] == run_id and db.nth_latest(1, "t") is None
        assert db.prune("2027-01-01T00:00:00.000000Z") == 1
        assert db.execute("SELECT COUNT(*) FROM findings") == [(0,)]
    open_store(pg_url).close()  # migrations are idempotent


def test_save_run_and_secrets_stay_out(pg_url):
    report = run_scan([str(EXAMPLE)], Config())
    saved = save_run(report, pg_url, target=scan_target([str(EXAMPLE)]))
    with open_store(pg_url) as db:
        rows = db.findings(saved.id)
        dump = json.dumps(db.execute("SELECT * FROM findings")) + json.dumps(db.runs())
    assert len(rows) == 18
    assert "hunter2" not in dump and "AKIAIOSFODNN7EXAMPLE" not in dump


def test_concurrent_saves(tmp_path, pg_url):
    app = copy_example(tmp_path)
    env = {**os.environ, "KUBEWARD_HISTORY": pg_url, "NO_COLOR": "1"}
    procs = [subprocess.Popen([sys.executable, str(HARNESS), "scan", "-o", "json", str(app), "--save"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [1, 1, 1], outs
    with open_store(pg_url) as db:
        assert sorted(r["id"] for r in db.runs()) == [1, 2, 3]
        assert db.execute("SELECT run_id, COUNT(*) FROM findings GROUP BY run_id ORDER BY run_id") == [
            (1, 18), (2, 18), (3, 18)]


def test_unreachable_server_is_one_line(tmp_path, postgres):
    url = f"postgresql://nobody:pw@127.0.0.1:{postgres.port}/no_such_db"
    done = kubeward("history", "--store", url, expect=2)
    assert done.stderr.count("\n") == 1 and "cannot connect" in done.stderr
    assert "pw@" not in done.stderr and ":***@" in done.stderr
