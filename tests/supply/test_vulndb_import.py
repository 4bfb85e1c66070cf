"""`VulnDB.import_source`: directory and zip layouts, idempotent upserts, withdrawn and
unmatchable advisories, broken files, severities and name normalisation."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from kubeward.supply.osv import OsvError, normalise_name, normalise_release
from kubeward.supply.severity import VulnSeverity, advisory_severity
from kubeward.supply.vulndb import VulnDB, VulnDbError, default_path

OSV = Path(__file__).resolve().parents[1] / "fixtures" / "supply" / "osv"
ALL = sorted(OSV.rglob("*.json"))


def dump(db: VulnDB) -> list[tuple]:
    conn = db.conn
    return (sorted(conn.execute("SELECT * FROM advisory").fetchall())
            + sorted(conn.execute("SELECT * FROM affected").fetchall()))


def test_directory_import_counts(tmp_path):
    with VulnDB.create(tmp_path / "db.sqlite") as db:
        stats = db.import_source(OSV)
        info = db.info()
    assert stats.errors == []
    assert stats.withdrawn == 1  # GHSA-j8r2-6x86-q33q (requests)
    assert stats.skipped == 1  # OSV-2020-111: GIT ranges only
    assert stats.advisories == len(ALL) - 2
    assert info.advisories == len(ALL) - 2
    assert info.per_ecosystem["PyPI"] == (5, 5)
    assert info.per_ecosystem["Debian"] == (3, 4)  # DSA-5103-1 covers Debian 10 and 11
    assert "OSS-Fuzz" not in info.per_ecosystem
    assert info.imported_at is not None
    assert info.sources == [str(OSV)]


def test_reimport_is_idempotent_and_zip_equals_directory(tmp_path):
    with VulnDB.create(tmp_path / "a.sqlite") as db:
        db.import_source(OSV)
        first = dump(db)
        db.import_source(OSV)
        assert dump(db) == first
    # osv.dev layout: one all.zip per ecosystem, here all inside one zip of zips
    outer = tmp_path / "osv.zip"
    with zipfile.ZipFile(outer, "w") as out:
        for eco in sorted(p for p in OSV.iterdir() if p.is_dir()):
            inner = tmp_path / f"{eco.name}.zip"
            with zipfile.ZipFile(inner, "w") as z:
                for f in sorted(eco.glob("*.json")):
                    z.write(f, f.name)
            out.write(inner, f"{eco.name}/all.zip")
    with VulnDB.create(tmp_path / "b.sqlite") as db:
        stats = db.import_source(outer)
        assert stats.errors == []
        assert dump(db) == first


def test_newer_copy_replaces_and_withdrawal_removes(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(OSV, src)
    path = tmp_path / "db.sqlite"
    with VulnDB.create(path) as db:
        db.import_source(src)
    adv = src / "npm" / "GHSA-r9p9-mrjm-926w.json"
    doc = json.loads(adv.read_text())
    doc["affected"][0]["ranges"][0]["events"][1]["fixed"] = "6.5.5"
    doc["modified"] = "2025-01-01T00:00:00Z"
    adv.write_text(json.dumps(doc))
    gone = src / "PyPI" / "GHSA-g3rq-g295-4j3m.json"
    doc2 = json.loads(gone.read_text())
    doc2["withdrawn"] = "2025-01-01T00:00:00Z"
    gone.write_text(json.dumps(doc2))
    with VulnDB.create(path) as db:
        db.import_source(src)
        rows = db.conn.execute("SELECT fixed FROM affected WHERE advisory='GHSA-r9p9-mrjm-926w'").fetchall()
        assert rows == [('["6.5.5"]',)]  # replaced, not duplicated
        assert db.conn.execute(
            "SELECT count(*) FROM affected WHERE advisory='GHSA-g3rq-g295-4j3m'").fetchone() == (0,)
        assert db.conn.execute(
            "SELECT count(*) FROM advisory WHERE id='GHSA-g3rq-g295-4j3m'").fetchone() == (0,)


def test_replace_empties_first(tmp_path):
    path = tmp_path / "db.sqlite"
    with VulnDB.create(path) as db:
        db.import_source(OSV)
        db.import_source(OSV / "Go", replace=True)
        info = db.info()
    assert set(info.per_ecosystem) == {"Go"}
    assert info.sources == [str(OSV / "Go")]


def test_broken_files_are_reported_and_the_rest_imported(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(OSV / "npm", src)
    (src / "broken.json").write_text('{"id": "GHSA-x", "affected": [')
    (src / "list.json").write_text("[1, 2]")
    (src / "noid.json").write_text('{"summary": "no id"}')
    with VulnDB.create(tmp_path / "db.sqlite") as db:
        stats = db.import_source(src)
    assert stats.advisories == 4
    assert len(stats.errors) == 3
    assert any(e.startswith(f"{src / 'broken.json'}: not valid JSON") for e in stats.errors)
    assert all("\n" not in e for e in stats.errors)


def test_unreadable_sources(tmp_path):
    with VulnDB.create(tmp_path / "db.sqlite") as db:
        with pytest.raises(OsvError, match="no such file"):
            db.import_source(tmp_path / "missing")
        text = tmp_path / "x.txt"
        text.write_text("hello")
        with pytest.raises(OsvError, match="not a zip file"):
            db.import_source(text)


def test_open_missing_or_foreign_database(tmp_path):
    with pytest.raises(VulnDbError, match="kubeward db import"):
        VulnDB.open(tmp_path / "none.sqlite")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(VulnDbError, match="not a kubeward vulnerability database"):
        VulnDB.open(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(VulnDbError):
        VulnDB.open(junk)


def test_default_path_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBEWARD_VULNDB", str(tmp_path / "x.sqlite"))
    assert default_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("KUBEWARD_VULNDB")
    assert default_path().parts[-3:] == (".cache", "kubeward", "vulndb.sqlite")


def test_names_and_releases_are_normalised():
    assert normalise_name("PyPI", "Foo.Bar__baz") == "foo-bar-baz"
    assert normalise_name("npm", "JSONStream") == "jsonstream"
    assert normalise_name("crates.io", "Serde_JSON") == "serde-json"
    assert normalise_name("Go", "github.com/BurntSushi/toml") == "github.com/BurntSushi/toml"
    assert normalise_name("Maven", "org.Example:Thing") == "org.Example:Thing"
    assert normalise_release("Debian", "11.7") == "11"
    assert normalise_release("Alpine", "v3.18") == normalise_release("Alpine", "3.18.4") == "3.18"
    assert normalise_release("Ubuntu", "22.04:LTS") == normalise_release("Ubuntu", "22.04") == "22.04"


@pytest.mark.parametrize(("advisory", "level", "score"), [
    ({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]},
     VulnSeverity.CRITICAL, 10.0),
    ({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:N/A:N"}]},
     VulnSeverity.MEDIUM, 4.9),
    ({"severity": [{"type": "CVSS_V4",
                    "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
                   {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:N/A:N"}]},
     VulnSeverity.CRITICAL, 9.3),  # v4 preferred over v3
    ({"severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:C/I:C/A:C"}]},
     VulnSeverity.HIGH, 10.0),  # v2 has no CRITICAL
    ({"database_specific": {"severity": "MODERATE"}}, VulnSeverity.MEDIUM, None),  # GHSA label
    ({"severity": [{"type": "CVSS_V3", "score": "garbage"}],
      "database_specific": {"severity": "LOW"}}, VulnSeverity.LOW, None),
    ({"severity": [{"type": "Ubuntu", "score": "high"}]}, VulnSeverity.HIGH, None),
    ({}, VulnSeverity.UNKNOWN, None),
])
def test_severity(advisory, level, score):
    assert advisory_severity(advisory) == (level, score)


def test_package_level_severity_wins():
    adv = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]}
    entry = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:N/A:N"}]}
    assert advisory_severity(adv, entry) == (VulnSeverity.MEDIUM, 4.9)


def test_import_refuses_to_write_into_a_foreign_database(tmp_path):
    other = tmp_path / "app.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(VulnDbError, match="refusing to write into it"):
        VulnDB.create(other)
    conn = sqlite3.connect(other)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["users"]


def test_odd_advisory_shapes_never_raise(tmp_path):
    """Untrusted data: wrong types anywhere are skipped, never a crash."""
    src = tmp_path / "src"
    src.mkdir()
    odd = [
        {"id": "A-1", "aliases": "CVE-1", "summary": 3, "affected": [
            {"package": {"ecosystem": "PyPI", "name": "x"}, "versions": "1.0",
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": 0}, {"fixed": None}, "x"]}]}]},
        {"id": "A-2", "affected": [{"package": {"ecosystem": 5, "name": ["x"]}, "versions": ["1"]}]},
        {"id": "A-3", "affected": [{"package": {"purl": "pkg:npm/left-pad"}, "versions": ["1.0.0"]}]},
        {"id": "A-4", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:Q"}, {"type": "CVSS_V4"}],
         "database_specific": {"severity": "catastrophic"},
         "affected": [{"package": {"ecosystem": "npm", "name": "y"}, "ranges": "nope",
                       "versions": ["1.0.0"]}]},
        {"id": "A-5", "affected": ["not an object", {"package": "npm/z"}]},
    ]
    for doc in odd:
        (src / f"{doc['id']}.json").write_text(json.dumps(doc))
    with VulnDB.create(tmp_path / "db.sqlite") as db:
        stats = db.import_source(src)
        assert stats.errors == []
        rows = dict(db.conn.execute("SELECT advisory, name FROM affected").fetchall())
    # A-1 has an event list with nothing usable but a valid package: stored, matches nothing
    assert rows == {"A-1": "x", "A-3": "left-pad", "A-4": "y"}


def test_severity_entry_with_unhashable_type_is_ignored(tmp_path):
    """Review 2026-11-24: `"type": []` raised TypeError and aborted the whole import."""
    assert advisory_severity({"severity": [{"type": [], "score": "CVSS:3.1/AV:N"}]}) == (
        VulnSeverity.UNKNOWN, None)
    src = tmp_path / "src"
    src.mkdir()
    (src / "A-1.json").write_text(json.dumps({
        "id": "A-1", "severity": [{"type": ["CVSS_V3"], "score": "x"}],
        "affected": [{"package": {"ecosystem": "npm", "name": "y"}, "versions": ["1.0.0"]}]}))
    shutil.copy(ALL[0], src / ALL[0].name)
    with VulnDB.create(tmp_path / "db.sqlite") as db:
        stats = db.import_source(src)
    assert stats.errors == []
    assert stats.advisories == 2
