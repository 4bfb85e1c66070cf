"""Reading YAML the way the Kubernetes API server does: fast, exact and refusing bombs.

Why a loader of our own rather than `yaml.safe_load_all`:

* Kubernetes reads manifests with go-yaml v2 (via sigs.k8s.io/yaml), a port of libyaml with
  YAML 1.1 scalar rules: `privileged: yes` is `true`, `defaultMode: 0777` is 511. PyYAML's
  C loader (libyaml) resolves the same way and is about ten times faster than the pure
  Python one; a YAML 1.2 parser would let `privileged: yes` slip past a rule.
* go-yaml also resolves `y`/`n` as booleans and never makes dates: the API server only sees
  strings, so the timestamp resolver is dropped and the `y`/`n` forms are added.
* go-yaml reads a plain `=` as the string "=", where PyYAML raises on its `!!value` tag
  (kube-prometheus' AlertmanagerConfig CRD has `- =` in an enum): we construct it as "=".
* Bombs are refused, not obeyed: files over a size limit are not read, and documents whose
  aliases would expand past a limit are refused (go-yaml v3 refuses "excessive aliasing"
  the same way), as are documents nested deeper than the recursion budget.
* A broken document never stops the rest of its file: on an error, the file is re-read one
  `---` chunk at a time, so every good document still loads, each error with its line.

Every document keeps its first line and its character span, so findings can later be located
on the exact line of a field by composing that one document again (see `locate`), instead of
keeping every node tree in memory.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "Document",
    "KubeLoader",
    "LoadError",
    "item_lines",
    "load_documents",
    "locate",
]

#: Files larger than this are refused (the API server caps a request body at 3 MiB;
#: rendered bundles such as argo-cd's install.yaml reach 2 MiB).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: A document may not expand through aliases to more than this many nodes, nor to more
#: than ALIAS_RATIO times its own node count.
MAX_ALIAS_EXPANSION = 200_000
ALIAS_RATIO = 10
#: Documents nested deeper than this are refused. libyaml's composer recurses in C, once per
#: level, and past about 20,000 levels overflows the C stack: a segfault, not an exception.
#: Real manifests stay under 30 levels; Python's recursion limit stops construction near
#: 1,000 anyway.
MAX_DEPTH = 1000
#: A text whose nesting bound (see `_may_nest_deeply`) stays under this is composed without
#: counting its levels first; far below the depth that overflows the C stack.
_SAFE_DEPTH_BOUND = 5000
_LONG_PREFIX = 500
# A line whose leading spaces and block indicators (`- `, `? `, `: `) run this long; the
# first pattern is the fast one, the second also knows libyaml's rarer line breaks.
_PREFIX_RUN = "[ \t\ufeff\\-?:]{" + str(_LONG_PREFIX) + "}"
_FIRST_LINE = re.compile(_PREFIX_RUN)
_LONG_PREFIX_NL = re.compile("\n" + _PREFIX_RUN)
_LONG_PREFIX_ANY = re.compile("[\n\r\x85\u2028\u2029]" + _PREFIX_RUN)
_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_VALUE_TAG = "tag:yaml.org,2002:value"


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR_NODE = yaml.ScalarNode
_MAPPING_NODE = yaml.MappingNode
_SEQUENCE_NODE = yaml.SequenceNode
_RESOLVE_CACHE_MAX = 50_000


class KubeLoader(yaml.CSafeLoader):
    """libyaml-backed safe loader with the scalar rules of go-yaml v2 (see module docstring).

    libyaml composes nodes in C but calls `resolve` in Python for every scalar; manifests
    repeat the same keys and values endlessly, so plain-scalar tags are memoised.
    """

    _resolved: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is _SCALAR_NODE:
            if implicit[0]:
                tag = self._resolved.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                    if len(self._resolved) < _RESOLVE_CACHE_MAX:
                        self._resolved[value] = tag
                return tag
            return _STR_TAG
        return _MAP_TAG if kind is _MAPPING_NODE else _SEQ_TAG

    def build(self, node: yaml.Node) -> Any:
        """Construct a document without aliases or merge keys, several times faster than
        SafeConstructor's generator machinery; anything unusual raises `_Unusual` and the
        caller falls back to the full constructor."""
        cls = node.__class__
        if cls is _SCALAR_NODE:
            tag = node.tag
            if tag == _STR_TAG:
                return node.value
            if tag == _NULL_TAG:
                return None
            if tag == _BOOL_TAG:
                return node.value.lower() in _TRUE
            if tag == _INT_TAG:
                return self.construct_yaml_int(node)  # type: ignore[arg-type]
            return self.construct_object(node, deep=True)
        if cls is _MAPPING_NODE:
            out = {}
            build = self.build
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    raise _Unusual
                key = build(key_node)
                try:
                    out[key] = build(value_node)
                except TypeError:
                    raise _Unusual from None
            return out
        if cls is _SEQUENCE_NODE:
            build = self.build
            return [build(child) for child in node.value]
        raise _Unusual


class _Unusual(Exception):
    """A document the fast constructor leaves to SafeConstructor (merge keys, odd keys)."""


_TRUE = frozenset({"yes", "true", "on", "y"})


KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}
# go-yaml v2 resolve.go: "y", "Y", "n", "N" are booleans too.
_YN = re.compile(r"^(?:y|Y|n|N)$")
for _first in "yYnN":
    KubeLoader.yaml_implicit_resolvers.setdefault(_first, []).insert(0, (_BOOL_TAG, _YN))


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    value = loader.construct_scalar(node)
    return str(value).lower() in _TRUE


def _construct_value(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


KubeLoader.add_constructor(_BOOL_TAG, _construct_bool)
KubeLoader.add_constructor(_VALUE_TAG, _construct_value)


@dataclass(slots=True)
class Document:
    """One parsed YAML document and where it came from."""

    data: Any
    index: int  # position of the document in its file, from 0
    line: int  # 1-based line of the document's first content
    start: int  # character offset of the document's content in the file text
    end: int


@dataclass(slots=True)
class LoadError:
    """A document or file that could not be read; `line` is 1-based (0 when unknown)."""

    line: int
    message: str


# An anchor (`&name`) and an alias (`*name`) can only follow whitespace, a byte-order mark
# (libyaml skips one at the start of any line) or a flow or block indicator; `&&` in a shell
# script or `a=1&b=2` in a URL do not match, so most files skip the alias-expansion check and
# use the fast constructor.
_ANCHOR = re.compile(r"[\s\ufeff\[{,:\-?]&[^\s\[\]{},&]")
_ALIAS = re.compile(r"[\s\ufeff\[{,:\-?]\*[^\s\[\]{},*]")


def _may_alias(text: str) -> bool:
    if "&" not in text or "*" not in text:
        return False
    padded = text if not text.startswith(("&", "*")) else " " + text
    return _ANCHOR.search(padded) is not None and _ALIAS.search(padded) is not None
_DOC_MARKER = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)


def load_documents(text: str) -> Iterator[Document | LoadError]:
    """Yield every document of a YAML stream, or a `LoadError` for each part that fails."""
    documents: list[Document] = []
    try:
        documents.extend(_load_stream(text, line_offset=0, char_offset=0, first_index=0))
    except (_Refused, yaml.YAMLError, RecursionError, ValueError, TypeError):
        yield from _load_by_chunks(text)
        return
    yield from documents


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _may_nest_deeply(text: str) -> bool:
    """False when `text` certainly nests less than `_SAFE_DEPTH_BOUND` levels (cheap, in C).

    Every flow collection opens with `[` or `{`. A block collection starts either further
    right than its parent or, for a sequence under a mapping key, at the key's column, so a
    chain of them is at most about twice as deep as the longest run of leading spaces and
    `- ` / `? ` / `: ` indicators on one line.
    """
    if len(text) < _SAFE_DEPTH_BOUND:
        return False
    flow = text.count("[") + text.count("{")
    if flow + 2 * _LONG_PREFIX + 4 >= _SAFE_DEPTH_BOUND:
        return True
    if _FIRST_LINE.match(text):
        return True
    odd = any(brk in text for brk in _ODD_BREAKS)
    return (_LONG_PREFIX_ANY if odd else _LONG_PREFIX_NL).search(text) is not None


def _check_depth(text: str, line_offset: int) -> None:
    """Refuse a stream nested deeper than MAX_DEPTH, counting levels on libyaml's events."""
    depth = 0
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, starts):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise _Refused(
                    (mark.line if mark is not None else 0) + 1 + line_offset,
                    f"YAML nested deeper than {MAX_DEPTH} levels: refused",
                )
        elif isinstance(event, ends):
            depth -= 1


def _load_stream(
    text: str, *, line_offset: int, char_offset: int, first_index: int
) -> Iterator[Document]:
    if _may_nest_deeply(text):
        _check_depth(text, line_offset)
    loader = KubeLoader(text)
    may_alias = _may_alias(text)
    try:
        index = first_index
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            mark = node.start_mark
            if may_alias:
                _check_aliases(node, mark.line + 1 + line_offset)
                data = loader.construct_document(node)
            else:
                try:
                    data = loader.build(node)
                except (_Unusual, RecursionError):
                    data = loader.construct_document(node)
            yield Document(
                data=data,
                index=index,
                line=mark.line + 1 + line_offset,
                start=mark.index + char_offset,
                end=node.end_mark.index + char_offset,
            )
            index += 1
    finally:
        loader.dispose()


def _load_by_chunks(text: str) -> Iterator[Document | LoadError]:
    """Slow path for a file with an error: read each `---`-separated chunk on its own."""
    bounds = [m.start() for m in _DOC_MARKER.finditer(text)]
    if not bounds or bounds[0] != 0:
        bounds.insert(0, 0)
    bounds.append(len(text))
    index = 0
    for start, end in itertools.pairwise(bounds):
        chunk = text[start:end]
        line_offset = text.count("\n", 0, start)
        try:
            docs = list(
                _load_stream(chunk, line_offset=line_offset, char_offset=start, first_index=index)
            )
        except _Refused as refused:
            yield LoadError(refused.line, refused.message)
            index += 1
            continue
        except (yaml.YAMLError, RecursionError, ValueError, TypeError) as err:
            yield _error_of(err, line_offset, chunk)
            index += 1
            continue
        yield from docs
        index += len(docs)


def _error_of(err: BaseException, line_offset: int, chunk: str) -> LoadError:
    if isinstance(err, RecursionError):
        return LoadError(line_offset + 1, "YAML nesting too deep: refused")
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = (mark.line + 1 + line_offset) if mark is not None else line_offset + 1
    # libyaml reports an error at the end of the input one line past the last one (its
    # final line break): keep the line inside this document, on its last line.
    last_line = line_offset + chunk.count("\n", 0, len(chunk.rstrip())) + 1
    line = min(line, last_line)
    if isinstance(err, yaml.MarkedYAMLError) and "maximum nesting depth" in str(err.problem):
        # libyaml's own limit (the one bundled with PyYAML 6.0.4 and later), met before ours
        return LoadError(line, "YAML nested too deep (the parser's limit): refused")
    if isinstance(err, yaml.MarkedYAMLError):
        parts = [p for p in (err.context, err.problem) if p]
        message = "YAML error: " + ", ".join(" ".join(str(p).split()) for p in parts)
    else:
        message = "YAML error: " + " ".join(str(err).split())
    if "{{" in chunk or "{%" in chunk:
        message += " (this looks like a template: render it first, e.g. `helm template`)"
    elif "\t" in _nth_line(chunk, line - line_offset):
        message += " (tabs cannot indent YAML)"
    return LoadError(line, message)


def _nth_line(text: str, n: int) -> str:
    """Line `n` (1-based) of `text`, or "" past its end."""
    lines = text.split("\n", n)
    return lines[n - 1] if 0 < n <= len(lines) else ""


def _check_aliases(root: yaml.Node, line: int) -> None:
    """Refuse a document whose aliases expand past the limits (billion laughs)."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    physical = 0

    def size(node: yaml.Node) -> int:
        nonlocal physical
        key = id(node)
        cached = sizes.get(key)
        if cached is not None:
            return cached
        if key in in_progress:
            raise _Refused(line, "YAML alias refers to itself (recursive document): refused")
        physical += 1
        total = 1
        if isinstance(node, yaml.SequenceNode):
            in_progress.add(key)
            for child in node.value:
                total += size(child)
            in_progress.discard(key)
        elif isinstance(node, yaml.MappingNode):
            in_progress.add(key)
            for k, v in node.value:
                total += size(k) + size(v)
            in_progress.discard(key)
        sizes[key] = total
        if total > MAX_ALIAS_EXPANSION:
            raise _Refused(
                line, f"YAML aliases expand past {MAX_ALIAS_EXPANSION} nodes (alias bomb): refused"
            )
        return total

    expanded = size(root)
    if expanded > max(1000, ALIAS_RATIO * physical):
        raise _Refused(
            line,
            f"YAML aliases expand {physical} nodes to {expanded} (alias bomb): refused",
        )


def _compose(text: str, doc: Document) -> tuple[yaml.Node | None, int]:
    return _compose_span(text, doc.start, doc.end)


@functools.lru_cache(maxsize=32)
def _compose_span(text: str, start: int, end: int) -> tuple[yaml.Node | None, int]:
    """Node tree of one document (cached: a document with several findings is composed once)."""
    chunk = text[start:end]
    line_offset = text.count("\n", 0, start)
    col_prefix = text.rfind("\n", 0, start) + 1
    # Keep the document's indentation valid by padding its first line to its column.
    chunk = " " * (start - col_prefix) + chunk
    try:
        return yaml.compose(chunk, Loader=KubeLoader), line_offset
    except (yaml.YAMLError, RecursionError):
        return None, line_offset


def item_lines(text: str, doc: Document, key: str = "items") -> list[int]:
    """1-based lines of every element of the top-level sequence `key` (for `List` kinds)."""
    node, line_offset = _compose(text, doc)
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.SequenceNode):
            return [child.start_mark.line + 1 + line_offset for child in v.value]
    return []


def locate(text: str, doc: Document, path: Sequence[str | int]) -> int | None:
    """1-based line of `path` inside `doc` (the deepest existing prefix), or None.

    Block YAML is walked by indentation (`linefind`, exact or declining); anything else
    composes only this document again (cached per document).
    """
    from kubeward.inventory import linefind

    try:
        found = linefind.locate_line(text, doc.start, doc.end, path, doc.line - 1)
    except linefind.Unsure:
        return _locate_composed(text, doc, path)
    return None if found is None else found + 1


def _locate_composed(text: str, doc: Document, path: Sequence[str | int]) -> int | None:
    node, line_offset = _compose(text, doc)
    if node is None:
        return None
    best: int | None = node.start_mark.line
    for step in path:
        if node is None:
            break
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == step:
                    best = k.start_mark.line
                    child = v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and (
            0 <= step < len(node.value)
        ):
            child = node.value[step]
            best = child.start_mark.line
        if child is None:
            break
        node = child
    return None if best is None else best + 1 + line_offset
