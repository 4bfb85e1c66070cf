"""Rendering Helm charts and Kustomize directories with the user's own tools.

kubeward does not re-implement Helm's Go templates or the whole of Kustomize: their
semantics (sprig, lookup, generators, replacements) are large and a re-implementation would
drift. It runs `helm template` or `kubectl kustomize` / `kustomize build` when they are on
PATH, and says clearly how to proceed when they are not. Rendering is bounded in time.

One exception, because it is exact: a kustomization that only lists local resources
(`resources`/`bases`, no transformer, generator or patch) makes kustomize emit those objects
unchanged (api/krusty: with no transformers configured, the resource map is output as
loaded). `plain_resources` recognises that case and returns the files, which kubeward reads
itself: no kubectl start (about 60 ms of CPU each), and findings keep their file and line.

A second, wider exception is exact too: `kubeward.inventory.kustomize.build` renders the
common overlay subset (local resources, name prefix/suffix with name references, labels,
strategic-merge patches) itself and declines (None) anything else, which kubectl then renders;
tests compare it with kubectl on the corpus, on fixtures and on random overlays.
`KUBEWARD_KUSTOMIZE_SUBSET=0` sends every kustomization to kubectl.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RENDER_TIMEOUT", "RenderError", "Rendered", "plain_resources", "render"]

RENDER_TIMEOUT = 120  # seconds


@dataclass(slots=True, frozen=True)
class Rendered:
    text: str
    tool: str  # "helm" or "kustomize"
    base: Path | None  # directory that `# Source:` paths are relative to


@dataclass(slots=True, frozen=True)
class RenderError:
    message: str
    fallback: bool = False  # read the directory's plain YAML files instead


def render(kind: str, directory: Path) -> Rendered | RenderError:
    if kind == "helm":
        return _helm(directory)
    return _kustomize(directory)


def render_charts(charts: list[Path]) -> list[Rendered | RenderError]:
    """Render Helm charts: with `helm` if on PATH, else all in one SDK child process."""
    if not charts:
        return []
    if shutil.which("helm") is not None or importlib.util.find_spec("helm_python") is None:
        return [_helm(c) for c in charts]
    return _helm_sdk_batch(charts)


def _helm(chart: Path) -> Rendered | RenderError:
    helm = shutil.which("helm")
    if helm is None:
        return _helm_sdk(chart)
    cmd = [helm, "template", "kubeward-scan", str(chart)]
    out = _run(cmd, "helm template")
    if isinstance(out, RenderError):
        return out
    # `# Source: <chart name>/templates/x.yaml`: relative to the chart's parent directory.
    return Rendered(out, "helm", chart.resolve().parent)


_REMOTE = re.compile(r"(?:https?://|git@|github\.com/|gitlab\.com/|\?ref=)")


def _helm_sdk(chart: Path) -> Rendered | RenderError:
    """Render with Helm's own Go engine through `helm-python-sdk` (extra `kubeward[helm]`).

    Measured on this project's corpus: the SDK renders charts as `helm template` does (the
    same Go code, linked as a shared library) in about 0.1 s, with no helm binary. It runs
    in a child process (`kubeward.inventory.helmsdk`): the 85 MB library stays out of the
    scanner's memory, a crash in Go code cannot take the scan down, and the time limit holds.
    """
    if importlib.util.find_spec("helm_python") is None:
        return RenderError(
            "Helm chart (Chart.yaml) not rendered: `helm` is not on PATH and the optional "
            "renderer is not installed; install helm or `pip install 'kubeward[helm]'`, or "
            f"scan its output: helm template {chart} | kubeward scan -"
        )
    return _helm_sdk_batch([chart])[0]


def _helm_sdk_batch(charts: list[Path]) -> list[Rendered | RenderError]:
    """One child process renders every chart and answers with one JSON document."""
    cmd = [sys.executable, "-m", "kubeward.inventory.helmsdk", *map(str, charts)]
    out = _run(cmd, "helm render")
    if isinstance(out, RenderError):
        return [out for _ in charts]
    import orjson

    try:
        answers = orjson.loads(out)
    except orjson.JSONDecodeError:
        return [RenderError("helm render: renderer answered garbage") for _ in charts]
    results: list[Rendered | RenderError] = []
    for chart, answer in zip(charts, answers, strict=False):
        if isinstance(answer, dict) and isinstance(answer.get("text"), str):
            results.append(Rendered(answer["text"], "helm", chart.resolve().parent))
        else:
            error = answer.get("error") if isinstance(answer, dict) else None
            results.append(RenderError(f"helm render failed: {error or 'no output'}"))
    results += [RenderError("helm render: no answer") for _ in charts[len(results):]]
    return results


def _kustomize(directory: Path) -> Rendered | RenderError:
    if _has_remote_resources(directory):
        return RenderError(
            "Kustomize directory refers to remote resources; kubeward stays offline, so its "
            "local YAML files are scanned as they are (render it yourself and pipe the output "
            f"to `kubeward scan -` for the full picture: kubectl kustomize {directory})",
            fallback=True,
        )
    problem = _unrenderable(directory)
    if problem is not None:
        return RenderError(f"kustomize would fail: {problem}; scanning its YAML files as they are",
                           fallback=True)
    if os.environ.get("KUBEWARD_KUSTOMIZE_SUBSET", "1").strip().lower() not in ("0", "false", "no", "off"):
        from kubeward.inventory import kustomize as subset

        text = subset.build(directory)
        if text is not None:
            return Rendered(text, "kustomize", None)
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        cmd = [kustomize, "build", str(directory)]
    else:
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            return RenderError(
                "Kustomize directory not rendered: neither `kustomize` nor `kubectl` is on PATH; "
                f"install one, or scan its output: kubectl kustomize {directory} | kubeward scan -"
            )
        cmd = [kubectl, "kustomize", str(directory)]
    from kubeward.inventory import rendercache

    entry = rendercache.key(cmd, directory)
    cached = rendercache.get(entry) if entry else None
    if cached is not None:
        return Rendered(cached, "kustomize", None)
    out = _run(cmd, " ".join(Path(c).name for c in cmd[:2]))
    if isinstance(out, RenderError):
        return RenderError(out.message + "; scanning its YAML files as they are", fallback=True)
    if entry:
        rendercache.put(entry, out)
    return Rendered(out, "kustomize", None)


#: Kustomization fields that list other kustomizations or manifests, local or remote.
_REFERENCE_FIELDS = ("resources", "bases", "components")


def _has_remote_resources(directory: Path, seen: set[Path] | None = None) -> bool:
    """Whether the kustomization, or any local kustomization it includes, lists a remote
    resource, base or component (kustomize would fetch it: kubeward stays offline).

    Only those entries count: a URL in a comment (a licence header) or in a label value
    does not make kustomize fetch anything.
    """
    seen = set() if seen is None else seen
    directory = directory.resolve()
    if directory in seen:
        return False
    seen.add(directory)
    data = _kustomization(directory)
    if data is None:
        return False  # none, or not one kustomize can read: it will say why
    for key in _REFERENCE_FIELDS:
        entries = data.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, str):
                continue
            if _REMOTE.search(entry):
                return True
            local = directory / entry
            if local.is_dir() and _has_remote_resources(local, seen):
                return True
    return False


#: The names kustomize looks for, in its order.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _kustomization(directory: Path) -> dict[str, Any] | None:
    """The directory's kustomization as a mapping, or None (none, unreadable, not a mapping).

    Several checks read it before a render (remote entries, refused files, resources-only,
    the cache key): it is parsed once per file version (path, mtime, size).
    """
    for name in KUSTOMIZATION_FILES:
        path = directory / name
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        return _parse_kustomization(str(path), st.st_mtime_ns, st.st_size)
    return None


@functools.lru_cache(maxsize=256)
def _parse_kustomization(path: str, mtime_ns: int, size: int) -> dict[str, Any] | None:
    from kubeward.inventory.yamlio import Document, load_documents

    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    docs = [d.data for d in load_documents(text) if isinstance(d, Document)]
    return docs[0] if docs and isinstance(docs[0], dict) else None


#: Kustomization fields that change nothing in the output (the rest configure transformers,
#: generators, patches or validators, which only kustomize itself applies).
_INERT_FIELDS = frozenset({"apiVersion", "kind", "metadata", "resources", "bases", "sortOptions"})
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def plain_resources(directory: Path) -> list[Path] | None:
    """The manifest files a resources-only kustomization outputs unchanged, or None.

    None whenever kustomize could do anything but concatenate: a field other than the inert
    ones, a remote or missing entry, a file outside the root (kustomize refuses it), a file
    reached twice (kustomize reports a duplicate id), a nested directory that is not itself
    resources-only, or a kustomization that cannot be read. Then kubectl renders it as before.
    """
    files: list[Path] = []
    if not _collect_plain(directory.resolve(), files, set()):
        return None
    if len(set(files)) != len(files):
        return None
    return files


def _collect_plain(directory: Path, files: list[Path], seen: set[Path]) -> bool:
    if directory in seen:
        return False  # a cycle: kustomize reports it
    seen.add(directory)
    data = _kustomization(directory)
    if data is None or not set(data) <= _INERT_FIELDS:
        return False
    for key in ("resources", "bases"):
        value = data.get(key, [])
        if not isinstance(value, list):
            return False
        for entry in value:
            if not isinstance(entry, str) or _REMOTE.search(entry):
                return False
            target = (directory / entry).resolve()
            if target.is_dir():
                if not _collect_plain(target, files, seen):
                    return False
            elif target.is_file() and target.suffix in _MANIFEST_SUFFIXES and \
                    target.is_relative_to(directory):
                files.append(target)
            else:
                return False
    return True


def _unrenderable(directory: Path) -> str | None:
    """Why kustomize would refuse this directory, found without running it, or None.

    Two cases cost a kubectl start each for nothing: a listed file outside the
    kustomization's root (kustomize's default load restrictor refuses it: "security; file …
    is not in or below …") and a listed local file that does not exist. Directories are
    other kustomizations and may live anywhere.
    """
    data = _kustomization(directory)
    if data is None:
        return None
    root = directory.resolve()
    entries: list[str] = []
    for key in ("resources", "bases", "components", "patchesStrategicMerge", "crds"):
        value = data.get(key)
        entries += [e for e in value if isinstance(e, str)] if isinstance(value, list) else []
    for generator in ("configMapGenerator", "secretGenerator"):
        gens = data.get(generator)
        for gen in gens if isinstance(gens, list) else []:
            if not isinstance(gen, dict):
                continue
            for key in ("files", "envs"):
                value = gen.get(key)
                for item in value if isinstance(value, list) else []:
                    if isinstance(item, str):
                        entries.append(item.partition("=")[2] or item)
            if isinstance(gen.get("env"), str):
                entries.append(gen["env"])
    for entry in entries:
        if _REMOTE.search(entry):
            continue
        target = (root / entry).resolve()
        if target.is_dir():
            continue
        if not target.exists():
            return f"{entry} does not exist"
        if not target.is_relative_to(root):
            return f"{entry} is outside the kustomization's root (kustomize refuses it)"
    return None


#: Go runtime settings for the short-lived renderers: kubeward runs several at once, so each
#: gets one thread, and garbage collection waits for a 512 MiB soft limit (measured: 35% less
#: CPU for `kubectl kustomize` on this project's corpus). A user's own settings win.
_GO_ENV = {"GOMAXPROCS": "1", "GOGC": "off", "GOMEMLIMIT": "512MiB"}


def _run(cmd: list[str], label: str) -> str | RenderError:
    env = {**_GO_ENV, **os.environ}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        return RenderError(f"{label} did not finish within {RENDER_TIMEOUT}s")
    except OSError as err:
        return RenderError(f"{label} could not run: {err}")
    if proc.returncode != 0:
        detail = _first_error_line(proc.stderr) or f"exit code {proc.returncode}"
        return RenderError(f"{label} failed: {detail}")
    return proc.stdout


def _first_error_line(stderr: str) -> str:
    """The useful part of a tool's error output, on one line, without klog prefixes."""
    text = " ".join(stderr.split())
    m = re.search(r'err="?(.*?)"?\s*$', text) or re.search(r"Error: (.*)$", text)
    return (m.group(1) if m else text)[:300]
