"""Reading OSV advisories (https://ossf.github.io/osv-schema/) from a directory or a zip.

Accepted layouts, all found by walking the source:
- a directory of `<ID>.json` files (one advisory per file, as in the osv.dev exports and
  the GitHub Advisory Database repository), in any sub-directory;
- `all.zip` as published per ecosystem at gs://osv-vulnerabilities/<Ecosystem>/all.zip
  (one `<ID>.json` per member), given directly or found inside the directory;
- a zip of such zips (one level).

A file that is not a JSON object with an `id` becomes one error line naming the file (and
the zip member); the rest of the source is still read.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["OsvError", "RawAdvisory", "iter_advisories", "normalise_name"]

_MAX_MEMBER = 64 * 1024 * 1024  # one advisory file larger than this is not an advisory


class OsvError(Exception):
    """A source that cannot be read at all (missing path, not a zip, not a directory)."""


@dataclass(slots=True, frozen=True)
class RawAdvisory:
    location: str  # file, or zip!member
    data: dict[str, Any] | None
    error: str | None = None


def iter_advisories(source: str | Path) -> Iterator[RawAdvisory]:
    """Every advisory (or the error reading it) in SOURCE, a directory or a zip file."""
    import orjson

    path = Path(source)
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if not file.is_file():
                continue
            if file.suffix == ".zip":
                yield from _zip(file, str(file))
            elif file.suffix == ".json":
                try:
                    raw = file.read_bytes()
                except OSError as err:
                    yield RawAdvisory(str(file), None, f"cannot read: {err.strerror or err}")
                    continue
                yield _decode(orjson, raw, str(file))
        return
    if path.is_file():
        if zipfile.is_zipfile(path):
            yield from _zip(path, str(path))
            return
        if path.suffix == ".json":
            yield _decode(orjson, path.read_bytes(), str(path))
            return
        raise OsvError(f"{source}: not a zip file or a directory of OSV JSON files")
    raise OsvError(f"{source}: no such file or directory")


def _zip(file: Path | IO[bytes], shown: str, depth: int = 0) -> Iterator[RawAdvisory]:
    import orjson

    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as err:
        yield RawAdvisory(shown, None, f"not a readable zip file: {err}")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            where = f"{shown}!{info.filename}"
            if info.file_size > _MAX_MEMBER:
                yield RawAdvisory(where, None, "member too large for an advisory")
                continue
            if info.filename.endswith(".zip") and depth == 0:
                with archive.open(info) as inner:
                    import io

                    yield from _zip(io.BytesIO(inner.read()), where, depth + 1)
            elif info.filename.endswith(".json"):
                try:
                    raw = archive.read(info)
                except (zipfile.BadZipFile, OSError, RuntimeError) as err:
                    yield RawAdvisory(where, None, f"cannot read member: {err}")
                    continue
                yield _decode(orjson, raw, where)


def _decode(orjson: Any, raw: bytes, where: str) -> RawAdvisory:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        return RawAdvisory(where, None, f"not valid JSON: {err}")
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        return RawAdvisory(where, None, "not an OSV advisory (a JSON object with an `id`)")
    if "affected" in data and not isinstance(data["affected"], list):
        return RawAdvisory(where, None, "`affected` is not a list")
    return RawAdvisory(where, data)


_PEP503 = re.compile(r"[-_.]+")


def normalise_name(ecosystem: str, name: str) -> str:
    """The lookup key of a package name in ECOSYSTEM (an OSV base ecosystem name).

    - PyPI: PEP 503 normalisation (`Foo.Bar_baz` -> `foo-bar-baz`), as OSV requires;
    - npm, NuGet, Packagist, Debian, Ubuntu, Alpine: case-insensitive (npm refuses names
      differing only by case; NuGet ids and Composer names are case-insensitive);
    - crates.io: case-insensitive and `-` == `_` (crates.io treats them as one name);
    - Go (module paths), Maven (`groupId:artifactId`) and the rest: exact.
    """
    name = name.strip()
    if ecosystem == "PyPI":
        return _PEP503.sub("-", name).lower()
    if ecosystem in ("npm", "NuGet", "Packagist", "Debian", "Ubuntu", "Alpine", "Wolfi",
                     "Chainguard"):
        return name.lower()
    if ecosystem == "crates.io":
        return name.lower().replace("_", "-")
    return name


_NUMBER = re.compile(r"\d+(?:\.\d+)*")


def normalise_release(ecosystem: str, release: str) -> str:
    """A distribution release as both OSV and SBOM spell it, so they compare equal.

    OSV writes `Debian:11`, `Alpine:v3.18`, `Ubuntu:22.04:LTS` (or `Ubuntu:Pro:18.04:LTS`);
    SBOM tools (syft, trivy) write the purl qualifier `distro=debian-11.7`,
    `alpine-3.18.4`, `ubuntu-22.04`. Debian keeps the major release, Alpine major.minor,
    Ubuntu YY.MM; other ecosystems keep the text (Maven/Packagist repository URLs)."""
    release = release.strip()
    if ecosystem not in ("Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard"):
        return release
    found = _NUMBER.search(release)
    if found is None:
        return release.lower()
    parts = found.group(0).split(".")
    if ecosystem == "Debian":
        return parts[0]
    return ".".join(parts[:2])
