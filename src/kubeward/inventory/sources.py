"""Input side of the pipeline: paths and stdin in, Resources and one-line input errors out.

This is the only module (with `render`) that does I/O on the input side. It finds files,
renders Helm charts and Kustomize directories, decodes YAML and JSON, expands `List` kinds,
and records for every object the file and line it came from. Bad input never raises: each
problem becomes an `InputError` and the rest of the input is still read.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeward.inventory import render
from kubeward.inventory.resource import Origin, Resource, SourceText
from kubeward.inventory.yamlio import (
    MAX_FILE_BYTES,
    Document,
    LoadError,
    item_lines,
    load_documents,
)

__all__ = ["STDIN", "InputError", "LoadResult", "load_paths", "load_text"]

STDIN = "-"
YAML_SUFFIXES = (".yaml", ".yml", ".json")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv"})
KUSTOMIZATION_FILES = render.KUSTOMIZATION_FILES


@dataclass(slots=True, frozen=True)
class InputError:
    """One input problem, printed as `path:line: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(slots=True)
class LoadResult:
    resources: list[Resource] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)  # degraded but read
    inputs: int = 0  # files (or streams) read
    skipped: int = 0  # documents that are not Kubernetes objects (values files, configs …)


def load_paths(
    paths: Sequence[str],
    *,
    render_charts: bool = True,
    max_bytes: int = MAX_FILE_BYTES,
    stdin_text: str | None = None,
    parallel: bool = True,
) -> LoadResult:
    """Read every path (file, directory, chart, kustomization, or `-` for stdin).

    Helm and Kustomize renders are started first, in threads (they are subprocesses), so
    they run while this process parses the plain files.
    """
    result = LoadResult()
    work: list[tuple[str, Path | str]] = []
    for raw in paths:
        if raw == STDIN:
            work.append(("stdin", raw))
            continue
        path = Path(raw)
        if not path.exists():
            result.errors.append(InputError(raw, 0, "no such file or directory"))
        elif path.is_dir():
            found = list(_walk(path))
            if not found:
                result.errors.append(
                    InputError(raw, 0, "no *.yaml, *.yml or *.json files in this directory"))
            work.extend(found)
        else:
            work.append(("file", path))
    if render_charts:
        work = _expand_plain_kustomizations(work)
    offload = _split_for_workers(work, max_bytes) if parallel else []
    worker = None
    if offload:
        import multiprocessing

        # Fork before any thread exists (the render pool below is started after it).
        worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        offload_paths = [work[i][1] for i in offload]
        worker_result = worker.submit(_parse_files, offload_paths, max_bytes)
    pending: dict[int, Future[render.Rendered | render.RenderError]] = {}
    pool = None
    renders = [i for i, (kind, _) in enumerate(work) if kind in ("helm", "kustomize")]
    if renders and render_charts:
        pool = ThreadPoolExecutor(max_workers=min(4, len(renders)))
        charts = [i for i in renders if work[i][0] == "helm"]
        # All charts in one go: without a helm binary they share one renderer process.
        batch = pool.submit(render.render_charts, [Path(work[i][1]) for i in charts])
        for n, i in enumerate(charts):
            pending[i] = pool.submit(_nth, batch, n)
        for i in renders:
            kind, item = work[i]
            if kind == "kustomize":
                assert isinstance(item, Path)
                pending[i] = pool.submit(render.render, kind, item)
    # One result per work item, merged in input order at the end: the output is the same
    # whichever process parsed a file and whenever a render finished.
    parts = [LoadResult() for _ in work]
    offloaded = set(offload)
    try:
        for i, (kind, item) in enumerate(work):
            if i in offloaded:
                continue
            part = parts[i]
            if kind == "stdin":
                text = stdin_text if stdin_text is not None else _read_stdin(part)
                if text is not None:
                    load_text(text, "<stdin>", part, kind="stdin")
            elif kind == "file":
                assert isinstance(item, Path)
                _load_file(item, part, max_bytes)
            elif not render_charts:
                part.errors.append(
                    InputError(str(item), 0, f"{kind} directory not rendered (--no-render)")
                )
        if worker is not None:
            for i, part in zip(offload, worker_result.result(), strict=True):
                parts[i] = part
        for i, future in pending.items():
            directory = work[i][1]
            assert isinstance(directory, Path)
            _add_rendered(directory, future.result(), parts[i], max_bytes)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if worker is not None:
            worker.shutdown(wait=True, cancel_futures=True)
    for part in parts:
        _merge(result, part)
    return result


def _expand_plain_kustomizations(work: list[tuple[str, Path | str]]) -> list[tuple[str, Path | str]]:
    """Resources-only kustomizations become their files (`render.plain_resources`).

    A file reached from several of them (overlays of one base) is read once: the objects are
    the same, and reading it twice would report every finding twice at the same line.
    """
    out: list[tuple[str, Path | str]] = []
    seen: set[Path] = set()
    for kind, item in work:
        files = render.plain_resources(item) if kind == "kustomize" and isinstance(item, Path) else None
        if files is None or not isinstance(item, Path):
            out.append((kind, item))
            if kind == "file" and isinstance(item, Path):
                seen.add(item.resolve())
            continue
        for path in files:
            if path not in seen:
                seen.add(path)
                out.append(("file", _display(path, item)))
    return out


def _display(path: Path, directory: Path) -> Path:
    """`path` as the user would write it: under the scanned directory when it is below it."""
    try:
        return directory / path.relative_to(directory.resolve())
    except ValueError:
        return path


def _nth(
    batch: Future[list[render.Rendered | render.RenderError]], n: int
) -> render.Rendered | render.RenderError:
    return batch.result()[n]


#: Below this much YAML, a second process costs more than it saves.
PARALLEL_MIN_BYTES = 2 * 1024 * 1024


def _split_for_workers(work: list[tuple[str, Path | str]], max_bytes: int) -> list[int]:
    """About half of the plain files, by size, to parse in a second process (2x on 2 cores):
    their indices in `work`.

    Returns [] when there is one core or too little input to be worth a process.
    """
    if (os.cpu_count() or 1) < 2:
        return []
    sized: list[tuple[int, int]] = []
    for i, (kind, item) in enumerate(work):
        if kind == "file" and isinstance(item, Path):
            try:
                sized.append((item.stat().st_size, i))
            except OSError:
                continue
    total = sum(size for size, _ in sized if size <= max_bytes)
    if total < PARALLEL_MIN_BYTES:
        return []
    mine = theirs = 0
    offload: list[int] = []
    for size, i in sorted(sized, key=lambda x: -x[0]):
        if size > max_bytes:
            continue
        if theirs <= mine:
            offload.append(i)
            theirs += size
        else:
            mine += size
    return offload


def _parse_files(paths: list[Path | str], max_bytes: int) -> list[LoadResult]:
    """Worker process: parse files, one result each; texts are dropped (the parent re-reads
    them on demand)."""
    results = []
    for path in paths:
        result = LoadResult()
        _load_file(Path(path), result, max_bytes)
        for res in result.resources:
            res.origin.source.text = None
        results.append(result)
    return results


def _merge(into: LoadResult, other: LoadResult) -> None:
    into.resources.extend(other.resources)
    into.errors.extend(other.errors)
    into.warnings.extend(other.warnings)
    into.inputs += other.inputs
    into.skipped += other.skipped


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """Files to read and directories to render, in a stable (sorted) order.

    A Helm chart (Chart.yaml) or a Kustomize directory is rendered as a whole and its files
    are not read one by one: its templates are not Kubernetes YAML until rendered.
    """
    kind = _render_kind(root)
    if kind:
        yield kind, root
        return
    yield from _walk_plain(root)


def _walk_plain(root: Path) -> Iterator[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        keep: list[str] = []
        for d in dirnames:
            sub = Path(dirpath, d)
            sub_kind = _render_kind(sub)
            if sub_kind:
                yield sub_kind, sub
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.endswith(YAML_SUFFIXES) and name not in KUSTOMIZATION_FILES:
                yield "file", Path(dirpath, name)


def _render_kind(directory: Path) -> str | None:
    if (directory / "Chart.yaml").is_file():
        return "helm"
    if any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
        return "kustomize"
    return None


def _read_stdin(result: LoadResult) -> str | None:
    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        result.errors.append(InputError("<stdin>", 0, f"input over {MAX_FILE_BYTES} bytes: refused"))
        return None
    return _decode(data, "<stdin>", result)


def _load_file(path: Path, result: LoadResult, max_bytes: int) -> None:
    shown = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            result.errors.append(
                InputError(shown, 0, f"file is {size} bytes, over the {max_bytes}-byte limit: refused")
            )
            return
        # Read at most one byte past the limit: a device or FIFO reports size 0 (/dev/zero
        # would otherwise be read until memory runs out).
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            result.errors.append(
                InputError(shown, 0, f"input over the {max_bytes}-byte limit: refused"))
            return
    except OSError as err:
        result.errors.append(InputError(shown, 0, f"cannot read: {err.strerror or err}"))
        return
    text = _decode(data, shown, result)
    if text is not None:
        load_text(text, shown, result, json=path.suffix == ".json")


def _decode(data: bytes, shown: str, result: LoadResult) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        result.errors.append(InputError(shown, line, "not UTF-8 text: skipped"))
        return None


def _add_rendered(
    directory: Path, rendered: render.Rendered | render.RenderError, result: LoadResult,
    max_bytes: int,
) -> None:
    if isinstance(rendered, render.Rendered):
        load_text(rendered.text, str(directory), result, rendered=rendered)
        return
    if not rendered.fallback:
        result.errors.append(InputError(str(directory), 0, rendered.message))
    else:
        result.warnings.append(InputError(str(directory), 0, rendered.message))
        # A Kustomize directory that cannot be rendered (remote base, missing file) is still
        # mostly plain manifests: read them, so its workloads are not silently skipped.
        for kind, item in _walk_plain(directory):
            if kind == "file":
                _load_file(item, result, max_bytes)


_SOURCE_COMMENT = re.compile(r"^# Source: (\S.*?)\s*$", re.MULTILINE)


def load_text(
    text: str,
    shown: str,
    result: LoadResult,
    *,
    json: bool = False,
    rendered: render.Rendered | None = None,
    kind: str = "file",
) -> None:
    """Decode one YAML or JSON text into Resources (appended to `result`)."""
    result.inputs += 1
    source = SourceText(shown, text, rendered.tool if rendered else kind)
    stripped = text.lstrip()
    if json or (stripped[:1] in ("{", "[") and _is_json(stripped)):
        docs: Iterable[Document | LoadError] = _load_json(text)
    else:
        docs = load_documents(text)
    sources = _helm_sources(text) if "# Source: " in text else None
    for doc in docs:
        if isinstance(doc, LoadError):
            result.errors.append(InputError(shown, doc.line, doc.message))
            continue
        template = None
        if sources is not None:
            template = _template_for(sources, doc.start, rendered)
        _add_objects(doc, source, template, result)


def _is_json(stripped: str) -> bool:
    import orjson

    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return False
    return True


def _load_json(text: str) -> Iterator[Document | LoadError]:
    import orjson

    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        yield LoadError(err.lineno, f"JSON error: {err.msg}")
        return
    yield Document(data=data, index=0, line=1, start=0, end=len(text))


def _helm_sources(text: str) -> tuple[list[int], list[str]]:
    matches = list(_SOURCE_COMMENT.finditer(text))
    return [m.start() for m in matches], [m.group(1) for m in matches]


def _template_for(
    sources: tuple[list[int], list[str]], offset: int, rendered: render.Rendered | None
) -> str | None:
    starts, names = sources
    i = bisect.bisect_right(starts, offset) - 1
    if i < 0:
        return None
    name = names[i]
    if rendered is not None and rendered.base is not None:
        return _shown_path(rendered.base / name)
    return name


def _on_disk_template(template: str, source: SourceText) -> str | None:
    """For committed `helm template` output: the template file itself, when the chart sits
    beside the output (relative to the working directory or to any folder above the
    rendered file), so findings can point at the file to edit."""
    if source.kind != "file" or os.path.isabs(template):
        return None
    here = Path(source.path).resolve().parent
    for base in (Path.cwd(), here, *here.parents):
        candidate = base / template
        if candidate.is_file():
            return _shown_path(candidate)
    return None


def _shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _add_objects(doc: Document, source: SourceText, template: str | None, out: LoadResult) -> None:
    data = doc.data
    if not isinstance(data, dict):
        if data is not None:
            out.skipped += 1
        return
    kind = data.get("kind")
    if not isinstance(kind, str) or not isinstance(data.get("apiVersion"), str):
        out.skipped += 1
        return
    if kind == "AdmissionReview":
        _add_review_object(data, doc, source, template, out)
        return
    items = data.get("items")
    if kind.endswith("List") and isinstance(items, list):
        item_kind = kind[: -len("List")] if kind != "List" else None
        lines = item_lines(source.text, doc) if source.text is not None else []
        for i, item in enumerate(items):
            line = lines[i] if i < len(lines) else doc.line
            if not isinstance(item, dict):
                out.errors.append(InputError(source.path, line, f"{kind} item {i} is not an object"))
                continue
            if item_kind and "kind" not in item:
                item = {"apiVersion": data["apiVersion"], "kind": item_kind, **item}
            if not isinstance(item.get("kind"), str):
                out.skipped += 1
                continue
            out.resources.append(Resource(item, Origin(source, doc, line, ("items", i), template)))
        return
    on_disk = template if source.kind == "helm" else None
    if template is not None and on_disk is None:
        on_disk = _on_disk_template(template, source)
    if template is not None and on_disk is not None:
        # The chart's template is on disk: point at it, at the line of its `kind:`; lines
        # inside rendered text mean nothing in the template.
        line = _kind_line(on_disk, kind)
        origin = Origin(source, None, line, (), on_disk, template_file=True)
        out.resources.append(Resource(data, origin))
        return
    out.resources.append(Resource(data, Origin(source, doc, doc.line, (), template)))


def _add_review_object(
    review: dict[str, Any], doc: Document, source: SourceText, template: str | None, out: LoadResult
) -> None:
    """The object under review in an AdmissionReview (what the webhook will evaluate)."""
    request = review.get("request")
    obj = request.get("object") if isinstance(request, dict) else None
    if not isinstance(obj, dict):
        out.skipped += 1
        return
    if "kind" not in obj and isinstance(request, dict) and isinstance(request.get("kind"), dict):
        gvk = request["kind"]
        group, version = gvk.get("group") or "", gvk.get("version") or "v1"
        obj = {"apiVersion": f"{group}/{version}" if group else version,
               "kind": gvk.get("kind", ""), **obj}
    if isinstance(request, dict) and "namespace" in request and isinstance(obj.get("metadata"), dict):
        obj["metadata"].setdefault("namespace", request["namespace"])
    out.resources.append(Resource(obj, Origin(source, doc, doc.line, ("request", "object"), template)))


@functools.lru_cache(maxsize=256)
def _template_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _kind_line(template: str, kind: str) -> int:
    match = re.search(rf"^kind:\s*{re.escape(kind)}\s*$", _template_text(template), re.MULTILINE)
    return _template_text(template).count("\n", 0, match.start()) + 1 if match else 1


def resources_of(objects: Iterable[dict[str, Any]], shown: str, kind: str) -> list[Resource]:
    """Wrap already-decoded objects (a cluster list, a snapshot, an AdmissionReview)."""
    source = SourceText(shown, None, kind)
    return [Resource(obj, Origin(source, None, 0)) for obj in objects if isinstance(obj, dict)]
