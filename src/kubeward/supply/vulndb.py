"""The offline vulnerability database: OSV advisories normalised into one SQLite file.

Location: `--db PATH`, else `$KUBEWARD_VULNDB`, else `~/.cache/kubeward/vulndb.sqlite`.

One row per advisory (`advisory`: id, summary, aliases, severity) and one per affected
package (`affected`: ecosystem base, release, normalised name, the explicit `versions`
list, the non-GIT ranges as OSV JSON, the fixed versions, the package-level severity),
indexed on (ecosystem, name_key) so a lookup costs one B-tree probe per SBOM package.

Import is an upsert keyed by advisory id: importing the same data again gives the same
database (idempotent), a newer copy of an advisory replaces the older one, and an advisory
now marked `withdrawn` is removed. `--replace` empties the database first. The import runs
in one transaction: an interrupted import leaves the previous database untouched.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeward.supply.osv import normalise_name, normalise_release
from kubeward.supply.versions import ecosystem_base

__all__ = ["DbInfo", "ImportStats", "VulnDB", "VulnDbError", "default_path"]

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS advisory (
    id TEXT PRIMARY KEY,
    modified TEXT NOT NULL,
    summary TEXT NOT NULL,
    aliases TEXT NOT NULL,          -- JSON list
    severity INTEGER NOT NULL,      -- VulnSeverity of the advisory as a whole
    score REAL
);
CREATE TABLE IF NOT EXISTS affected (
    advisory TEXT NOT NULL,
    ecosystem TEXT NOT NULL,        -- OSV base ecosystem: Debian, PyPI, ...
    release TEXT NOT NULL,          -- normalised release (Debian:11 -> 11), or ''
    name_key TEXT NOT NULL,         -- normalise_name(ecosystem, name)
    name TEXT NOT NULL,
    versions BLOB NOT NULL,         -- JSON list of affected versions
    ranges BLOB NOT NULL,           -- JSON list of OSV ranges (GIT ranges dropped)
    fixed TEXT NOT NULL,            -- JSON list of fixed versions
    severity INTEGER NOT NULL,
    score REAL
);
CREATE INDEX IF NOT EXISTS affected_pkg ON affected (ecosystem, name_key);
CREATE INDEX IF NOT EXISTS affected_adv ON affected (advisory);
"""


class VulnDbError(Exception):
    """The database is missing, unreadable, or not a kubeward vulnerability database."""


def default_path() -> Path:
    env = os.environ.get("KUBEWARD_VULNDB")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "kubeward" / "vulndb.sqlite"


@dataclass(slots=True)
class ImportStats:
    advisories: int = 0
    affected: int = 0
    withdrawn: int = 0
    skipped: int = 0  # advisories without any package we can match (e.g. GIT-only)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: no advisory could be read from the source: nothing was changed (not even --replace)
    unchanged: bool = False


@dataclass(slots=True)
class DbInfo:
    path: Path
    advisories: int
    imported_at: str | None
    sources: list[str]
    per_ecosystem: dict[str, tuple[int, int]]  # ecosystem -> (advisories, packages)


@dataclass(slots=True, frozen=True)
class AffectedRow:
    advisory: str
    ecosystem: str
    release: str
    name: str
    versions: list[str]
    ranges: list[dict[str, Any]]
    fixed: list[str]
    severity: int
    score: float | None
    summary: str
    aliases: list[str]


class VulnDB:
    """An open database. `VulnDB.open(path)` for reading; `VulnDB.create(path)` to import."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None) -> VulnDB:
        path = path or default_path()
        if not path.is_file():
            raise VulnDbError(
                f"no vulnerability database at {path}: import OSV data first, e.g. "
                "`kubeward db import osv-all.zip` (download from "
                "https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip)")
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as err:
            raise VulnDbError(f"{path}: not a kubeward vulnerability database ({err})") from None
        if version is None or version[0] != SCHEMA_VERSION:
            conn.close()
            raise VulnDbError(f"{path}: database format {version and version[0]!r} is not "
                              f"{SCHEMA_VERSION!r}: import the data again with --replace")
        return cls(conn, path)

    @classmethod
    def create(cls, path: Path | None = None) -> VulnDB:
        """Open PATH for writing, creating it if needed. An existing file that is not a
        kubeward vulnerability database of this format is refused, never written into."""
        path = path or default_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables:
                row = (conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                       if "meta" in tables else None)
                if row is None or row[0] != SCHEMA_VERSION:
                    conn.close()
                    raise VulnDbError(
                        f"{path}: not a kubeward vulnerability database (format {SCHEMA_VERSION}); "
                        "refusing to write into it: remove it or choose another --db")
            conn.executescript(_SCHEMA)
        except (OSError, sqlite3.DatabaseError) as err:
            raise VulnDbError(f"{path}: cannot create the database ({err})") from None
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> VulnDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- import ----------------------------------------------------------------------------

    def import_source(self, source: str | Path, *, replace: bool = False) -> ImportStats:
        """Import every advisory under SOURCE (see `osv.iter_advisories`) in one transaction."""
        import time

        from kubeward.supply.osv import iter_advisories

        started = time.perf_counter()
        stats = ImportStats()
        conn = self.conn
        # synchronous=OFF: an OS crash may lose the import, but the rollback journal (the
        # default mode, kept) means an interrupted kubeward leaves the previous database.
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        try:
            if replace:
                conn.execute("DELETE FROM advisory")
                conn.execute("DELETE FROM affected")
            fresh = conn.execute("SELECT 1 FROM advisory LIMIT 1").fetchone() is None
            if fresh:  # bulk load: build the package index once at the end
                conn.execute("DROP INDEX IF EXISTS affected_pkg")
                conn.execute("DROP INDEX IF EXISTS affected_adv")
            seen: set[str] = set()
            batch: list[dict[str, Any]] = []
            read_any = False
            for raw in iter_advisories(source):
                if raw.data is None:
                    stats.errors.append(f"{raw.location}: {raw.error}")
                    continue
                read_any = True
                batch.append(raw.data)
                if len(batch) >= 2000:
                    self._store(batch, stats, seen, fresh)
                    batch = []
            self._store(batch, stats, seen, fresh)
            if not read_any:
                # an empty or wrong directory, a corrupt zip: keep the database as it was
                # rather than committing an empty import (with --replace: an empty database)
                conn.execute("ROLLBACK")
                stats.unchanged = True
                stats.seconds = time.perf_counter() - started
                return stats
            if fresh:
                conn.execute("CREATE INDEX IF NOT EXISTS affected_pkg ON affected (ecosystem, name_key)")
                conn.execute("CREATE INDEX IF NOT EXISTS affected_adv ON affected (advisory)")
            now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('imported_at', ?)", (now,))
            previous = [] if replace else self._sources()
            import orjson

            sources = [*(s for s in previous if s != str(source)), str(source)]
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('sources', ?)",
                         (orjson.dumps(sources).decode(),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("ANALYZE")
        stats.seconds = time.perf_counter() - started
        return stats

    def _store(self, batch: Sequence[dict[str, Any]], stats: ImportStats, seen: set[str],
               fresh: bool) -> None:
        import orjson

        from kubeward.supply.severity import advisory_severity

        advisories: list[tuple[Any, ...]] = []
        affected: list[tuple[Any, ...]] = []
        drop: list[tuple[str]] = []
        for adv in batch:
            vid: str = adv["id"]
            if not fresh or vid in seen:
                drop.append((vid,))
            seen.add(vid)
            if adv.get("withdrawn"):
                stats.withdrawn += 1
                continue
            level, score = advisory_severity(adv)
            rows = list(_affected_rows(adv, orjson, advisory_severity))
            if not rows:
                stats.skipped += 1
                continue
            aliases = [a for a in _list(adv.get("aliases")) if isinstance(a, str)]
            summary = adv.get("summary") if isinstance(adv.get("summary"), str) else ""
            if not summary and isinstance(adv.get("details"), str):
                summary = adv["details"].strip().split("\n", 1)[0]
            advisories.append((vid, str(adv.get("modified") or ""), str(summary)[:500],
                               orjson.dumps(aliases).decode(), int(level), score))
            affected.extend(rows)
        conn = self.conn
        if drop:
            conn.executemany("DELETE FROM advisory WHERE id=?", drop)
            conn.executemany("DELETE FROM affected WHERE advisory=?", drop)
        conn.executemany("INSERT OR REPLACE INTO advisory VALUES (?,?,?,?,?,?)", advisories)
        conn.executemany("INSERT INTO affected VALUES (?,?,?,?,?,?,?,?,?,?)", affected)
        stats.advisories += len(advisories)
        stats.affected += len(affected)

    # -- reading -----------------------------------------------------------------------------

    def _sources(self) -> list[str]:
        import orjson

        row = self.conn.execute("SELECT value FROM meta WHERE key='sources'").fetchone()
        return list(orjson.loads(row[0])) if row else []

    def summary(self) -> tuple[int, str | None]:
        """(advisories, import date): what a report header needs, without `info`'s scan."""
        (total,) = self.conn.execute("SELECT count(*) FROM advisory").fetchone()
        row = self.conn.execute("SELECT value FROM meta WHERE key='imported_at'").fetchone()
        return int(total), (row[0] if row else None)

    def info(self) -> DbInfo:
        conn = self.conn
        (total,) = conn.execute("SELECT count(*) FROM advisory").fetchone()
        per = {
            eco: (n_adv, n_pkg)
            for eco, n_adv, n_pkg in conn.execute(
                "SELECT ecosystem, count(DISTINCT advisory), count(*) FROM affected "
                "GROUP BY ecosystem ORDER BY ecosystem")
        }
        row = conn.execute("SELECT value FROM meta WHERE key='imported_at'").fetchone()
        return DbInfo(self.path, total, row[0] if row else None, self._sources(), per)

    def lookup(self, keys: Iterable[tuple[str, str]]) -> Iterator[tuple[tuple[str, str], AffectedRow]]:
        """Every affected row for each (ecosystem, name_key) in KEYS (one index probe each)."""
        import orjson

        sql = ("SELECT f.advisory, f.ecosystem, f.release, f.name, f.versions, f.ranges, f.fixed,"
               " f.severity, f.score, a.summary, a.aliases FROM affected f"
               " JOIN advisory a ON a.id = f.advisory WHERE f.ecosystem=? AND f.name_key=?")
        loads = orjson.loads
        for key in keys:
            for row in self.conn.execute(sql, key):
                yield key, AffectedRow(row[0], row[1], row[2], row[3], loads(row[4]),
                                       loads(row[5]), loads(row[6]), row[7], row[8], row[9],
                                       loads(row[10]))


def _list(value: Any) -> list[Any]:
    """VALUE if it is a list, else empty: a string where OSV wants a list is not iterated."""
    return value if isinstance(value, list) else []


def _affected_rows(adv: dict[str, Any], orjson: Any, severity_of: Any) -> Iterator[tuple[Any, ...]]:
    for entry in _list(adv.get("affected")):
        if not isinstance(entry, dict):
            continue
        pkg = entry.get("package")
        if not isinstance(pkg, dict):
            continue
        eco, name = pkg.get("ecosystem"), pkg.get("name")
        if (not isinstance(eco, str) or not isinstance(name, str) or not name) and isinstance(
                pkg.get("purl"), str):
            from kubeward.supply.sbom import package_from_purl

            derived = package_from_purl(pkg["purl"])
            if derived is not None:
                eco, name = derived.ecosystem, derived.name
        if not isinstance(eco, str) or not isinstance(name, str) or not eco or not name:
            continue
        base, release = ecosystem_base(eco)
        versions = [v for v in _list(entry.get("versions")) if isinstance(v, str)]
        ranges = [
            {"type": r.get("type"), "events": r.get("events")}
            for r in _list(entry.get("ranges"))
            if isinstance(r, dict) and r.get("type") in ("SEMVER", "ECOSYSTEM")
            and isinstance(r.get("events"), list)
        ]
        if not versions and not ranges:
            continue
        fixed = [e["fixed"] for r in ranges for e in (r["events"] or ())
                 if isinstance(e, dict) and isinstance(e.get("fixed"), str)]
        level, score = severity_of(adv, entry)
        # Keep the ecosystem as the user wrote it in the ranges (`Debian:11`) for ordering;
        # the base goes into the index.
        yield (adv["id"], base, normalise_release(base, release), normalise_name(base, name),
               name, orjson.dumps(versions), orjson.dumps(ranges), orjson.dumps(fixed).decode(),
               int(level), score)
