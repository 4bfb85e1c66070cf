"""Apply hardening edits to YAML text, keeping comments, key order and formatting.

How a file is edited:

1. The text is split into documents at ``---`` / ``...`` lines (column 0); the pieces
   concatenate back to the exact original, so a document without edits stays
   byte-identical.
2. Each document is read twice: with kubeward's loader (YAML 1.1 as the API server reads
   it - what :mod:`kubeward.fix.hardening` plans on) and with ruamel.yaml's round-trip
   loader (comments, quotes, flow style and key order kept), which receives the edits.
3. Only a document with edits is dumped again, with the indentation detected in it
   (mapping indent, sequence indent and dash offset), no line re-wrapping and quotes
   preserved. Comments that ruamel attaches to the last key of a mapping but that sit on
   the following lines (a comment heading the next section) are moved after the inserted
   keys, so they keep heading what they headed.
4. The result is read back with kubeward's loader and must equal the original plus the
   edits, else the file is refused (:class:`FixError`) - a fix never breaks a manifest.

Helm templates are refused (they are not YAML until rendered).
"""

from __future__ import annotations

import copy
import io
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from kubeward.fix.hardening import (
    Edit,
    WorkloadPlan,
    apply_edits,
    plan_document,
    remaining_violations,
)

__all__ = ["FileFix", "FixError", "fix_text", "is_template", "merge_layout", "split_documents"]

_START = re.compile(r"^---(?:[ \t].*)?$")
_END = re.compile(r"^\.\.\.(?:[ \t].*)?$")
_NULL_VALUE = re.compile(r":[ \t]+(?:null|Null|NULL|~)$")  # ruamel writes `key:` for these
_COMMENT = re.compile(r"(?:^|\s)#.*$")
_TRAILING_BLANK = re.compile(r"(?:\r?\n[ \t]*)*\Z")
_LEADING_BLANK = re.compile(r"(?:[ \t]*\r?\n)*")
_PLAIN_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$")
_TEMPLATE = re.compile(r"\{\{-?\s*(?:\.|\$|include\b|template\b|if\b|range\b|with\b|end\b|"
                       r"toYaml\b|tpl\b|define\b|else\b|/\*)")


class FixError(Exception):
    """A file that cannot be fixed safely (one line; the file is skipped)."""


@dataclass(slots=True)
class FileFix:
    original: str
    fixed: str
    plans: list[WorkloadPlan] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed != self.original


def is_template(text: str) -> bool:
    """Helm/Go template actions (``{{ .Values.x }}``, ``{{- include ...}}``)."""
    return bool(_TEMPLATE.search(text))


def split_documents(text: str) -> list[str]:
    """Document chunks whose concatenation is TEXT: a ``---`` line starts a chunk, a
    ``...`` line ends one."""
    chunks: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if _START.match(bare):
            if current:
                chunks.append("".join(current))
            current = [line]
        elif _END.match(bare):
            current.append(line)
            chunks.append("".join(current))
            current = []
        else:
            current.append(line)
    if current or not chunks:
        chunks.append("".join(current))
    return chunks


def _indent_style(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel's ``indent()`` wants them, from the first
    nested mapping and the first block sequence under a key."""
    mapping: int | None = None
    offset: int | None = None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for prev, line in itertools.pairwise(lines):
        if not prev.rstrip().endswith(":"):
            continue
        key = prev.lstrip()
        pcol = len(prev) - len(key)
        if key.startswith("- "):
            pcol += len(key) - len(key[1:].lstrip())
        col = len(line) - len(line.lstrip())
        if line.lstrip().startswith("- "):
            if offset is None and col >= pcol:
                offset = col - pcol
        elif mapping is None and col > pcol:
            mapping = col - pcol
        if mapping is not None and offset is not None:
            break
    mapping = mapping or 2
    offset = offset if offset is not None else 0
    return mapping, offset + 2, offset


def _rt_yaml(indent: tuple[int, int, int]) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yaml


def _convert(value: Any) -> Any:
    """Plain data -> ruamel block-style containers."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _convert(v)
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_convert(v) for v in value)
        return seq
    return value


# --- trailing comments -----------------------------------------------------------------------

def _split_comment(value: str) -> tuple[str, str]:
    """(same-line part, following lines) of a comment token's text."""
    head, nl, rest = value.partition("\n")
    return head + nl, rest


def _pop_following(node: Any) -> str:
    """Detach the comment lines that follow NODE's last scalar (never its same-line
    comment): the scalar's following lines, then the end comments of every collection
    that closes there, innermost first - the order they have in the text."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    parts: list[str] = []
    if isinstance(node, CommentedMap | CommentedSeq) and node:
        last_key: Any = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
        value = node[last_key]
        if isinstance(value, CommentedMap | CommentedSeq) and value:
            parts.append(_pop_following(value))
        else:
            slot = node.ca.items.get(last_key)
            where = 2 if isinstance(node, CommentedMap) else 0
            if slot and len(slot) > where and slot[where] is not None:
                head, rest = _split_comment(slot[where].value)
                if rest:
                    slot[where].value = head
                    parts.append(rest)
    end = getattr(node.ca, "end", None) if isinstance(node, CommentedMap | CommentedSeq) else None
    if end:
        parts.extend(" " * tok.column + tok.value for tok in end)
        node.ca.end = []
    return "".join(parts)


def _push_following(node: Any, text: str) -> None:
    """Attach comment lines after NODE's last scalar."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    if isinstance(node, CommentedMap) and node:
        key = list(node.keys())[-1]
        value = node[key]
        if isinstance(value, CommentedMap | CommentedSeq) and value:
            _push_following(value, text)
            return
        slot = node.ca.items.setdefault(key, [None, None, None, None])
        if slot[2] is not None:
            slot[2].value = slot[2].value.rstrip("\n") + "\n" + text
        else:
            slot[2] = CommentToken("\n" + text, CommentMark(0), None)
    elif isinstance(node, CommentedSeq) and node:
        idx = len(node) - 1
        value = node[idx]
        if isinstance(value, CommentedMap | CommentedSeq) and value:
            _push_following(value, text)
            return
        slot = node.ca.items.setdefault(idx, [None, None])
        if slot[0] is not None:
            slot[0].value = slot[0].value.rstrip("\n") + "\n" + text
        else:
            slot[0] = CommentToken("\n" + text, CommentMark(0), None)


def _apply_rt(root: Any, edits: list[Edit]) -> None:
    """apply_edits on the round-trip tree, keeping the following-line comments of a
    mapping after the keys appended to it."""
    from ruamel.yaml.comments import CommentedMap

    for edit in edits:
        # the mapping that receives a new key: the deepest existing one on the path
        node = root
        for key in edit.path:
            child = node[key] if isinstance(key, int) else node.get(key)
            if not isinstance(child, dict | list):
                break
            node = child
        moved = _pop_following(node) if isinstance(node, CommentedMap) else ""
        apply_edits(root, [edit], new_map=CommentedMap, convert=_convert)
        if moved:
            _push_following(node, moved)


# --- documents ---------------------------------------------------------------------------------

def _load_plain(chunk: str, line_offset: int) -> Any:
    from kubeward.inventory.yamlio import LoadError, load_documents

    docs = []
    for item in load_documents(chunk):
        if isinstance(item, LoadError):
            line = f"line {item.line + line_offset}: " if item.line else ""
            raise FixError(f"{line}{item.message}")
        docs.append(item.data)
    docs = [d for d in docs if d is not None]
    if len(docs) > 1:
        raise FixError(f"line {line_offset + 1}: several documents where one was expected")
    return docs[0] if docs else None


def _fix_chunk(chunk: str, line_offset: int) -> tuple[str, list[WorkloadPlan]]:
    plain = _load_plain(chunk, line_offset)
    plans = plan_document(plain)
    edits = [e for p in plans for e in p.edits]
    if not edits:
        _add_remaining(plans, plain)
        return chunk, plans
    header, body = "", chunk
    first, nl, rest = chunk.partition("\n")
    if _PLAIN_SEPARATOR.match(first.rstrip("\r")):
        header, body = first + nl, rest
    elif _START.match(first.rstrip("\r")):
        raise FixError(f"line {line_offset + 1}: content on the document separator line")
    footer = ""
    lines = body.splitlines(keepends=True)
    while lines and not lines[-1].strip():
        footer = lines.pop() + footer
    if lines and _END.match(lines[-1].rstrip("\r\n")):
        footer = lines.pop() + footer  # the document end marker stays as written
        body = "".join(lines)
    else:
        footer = ""
    # blank (or whitespace-only) lines around the content stay out of ruamel and are
    # restored verbatim, so they cannot end up between an old key and an appended one
    end = _TRAILING_BLANK.search(body)
    stripped = body[:end.start()] if end else body
    trailing = (body[end.start():] if end else "") + footer
    begin = _LEADING_BLANK.match(stripped)
    leading = begin.group(0) if begin else ""
    stripped = stripped[len(leading):]
    yaml = _rt_yaml(_indent_style(body))
    try:
        tree = yaml.load(stripped + "\n")
    except Exception as err:  # noqa: BLE001 - ruamel raises several unrelated error types
        raise FixError(f"line {line_offset + 1}: {str(err).splitlines()[0]}") from None
    _apply_rt(tree, edits)
    out = io.StringIO()
    yaml.dump(tree, out)
    dumped = out.getvalue().rstrip("\r\n")
    expected = copy.deepcopy(plain)
    apply_edits(expected, edits)
    crlf = "\r\n" in body
    for candidate in (merge_layout(stripped.replace("\r\n", "\n"), dumped), dumped):
        text = candidate.replace("\n", "\r\n") if crlf else candidate
        fixed = header + leading + text + (trailing or "\n")
        try:
            ok = _load_plain(fixed, line_offset) == expected
        except FixError:
            ok = False
        if ok:
            _add_remaining(plans, expected)
            return fixed, plans
    raise FixError(f"line {line_offset + 1}: the edited document would not read back "
                   "as intended; left unchanged")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _key_col(line: str) -> int:
    """Column of the first key or scalar of a line (after any "- " indicators)."""
    col = _indent(line)
    rest = line[col:]
    while rest.startswith("- ") or rest == "-":
        step = len(rest) - len(rest[1:].lstrip(" "))
        col += step
        rest = rest[step:]
    return col


_STRUCTURE = re.compile(r"""^\s*(?:-(?:\s|$)|(?:-\s+)*(?:[\w./-]+|"[^"]*"|'[^']*')\s*:(?:\s|$))""")


def _same_key(a: str, b: str) -> bool:
    """Two lines for the same key (``drop: [X]`` and ``drop: [X, ALL]``)."""
    ka, kb = a.strip().partition(":"), b.strip().partition(":")
    return bool(ka[1] and kb[1] and ka[0] == kb[0])


def _same_flow(old: list[str], new: list[str]) -> bool:
    """The same text up to whitespace, comments, trailing commas and escaped line breaks
    (a multi-line flow collection or quoted scalar that ruamel wrote on one line)."""
    def norm(lines: list[str]) -> str:
        parts = []
        for ln in lines:
            ln = _COMMENT.sub("", ln).rstrip()
            parts.append("".join(ln.removesuffix("\\").split()))
        return "".join(parts).replace(",]", "]").replace(",}", "}")

    return bool(old) and norm(old) == norm(new)


def _match_keys(lines: list[str]) -> list[tuple[int, str]]:
    """(nesting level, stripped text) per line: the same key at another depth (a pod's
    and a container's securityContext) must not be taken for each other, whatever
    indentation style either side uses. A list item ("- ") opens a level below the key
    that holds it whether its dash is indented or not."""
    stack: list[int] = []
    out: list[tuple[int, str]] = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#") or not _STRUCTURE.match(line):
            out.append((-1, text))
            continue
        col = _indent(line)
        item = text.startswith("-")
        while stack and (stack[-1] > col if item else stack[-1] >= col):
            stack.pop()
        out.append((len(stack), _NULL_VALUE.sub(":", text)))
        if item:
            stack.append(col)  # the item itself, then the key inside it
            stack.append(_key_col(line))
        else:
            stack.append(col)
    return out


def merge_layout(original: str, dumped: str) -> str:
    """ORIGINAL's lines wherever ruamel's DUMPED output has the same content (so the
    document keeps its own indentation, spacing and sequence style even when it mixes
    styles ruamel cannot reproduce), DUMPED's lines for what was inserted or changed,
    re-indented relative to the nearest preceding unchanged line of the same or an
    outer level."""
    import difflib

    old = original.split("\n")
    new = dumped.split("\n")
    matcher = difflib.SequenceMatcher(None, _match_keys(old), _match_keys(new), autojunk=False)
    out: list[str] = []
    placed: dict[int, str] = {}  # dumped index -> the line written for it

    def anchored(j: int) -> str:
        line = new[j]
        if not line.strip():
            return ""
        want = _indent(line)
        item = line.lstrip(" ").startswith("-")
        for k in range(j - 1, -1, -1):
            done = placed.get(k)
            if done is None or not _STRUCTURE.match(done):
                continue  # blank, comment, block-scalar text: not a structural anchor
            k_item = new[k].lstrip(" ").startswith("-")
            if item and k_item and _indent(new[k]) == want:  # a sibling list item
                return " " * _indent(done) + line.lstrip(" ")
            if item and k_item and _indent(new[k]) > want:
                continue
            if _key_col(new[k]) <= want:  # a sibling key, or the parent
                return " " * max(0, _key_col(done) + want - _key_col(new[k])) + line.lstrip(" ")
        return line

    def emit(line: str, j: int) -> None:
        out.append(line)
        placed[j] = line

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                emit(old[i], j)
            continue
        if tag == "delete":
            # blank or comment lines ruamel did not write back are kept where they were
            out.extend(ln for ln in old[i1:i2] if not ln.strip() or ln.lstrip().startswith("#"))
            continue
        j = j1
        if tag == "replace":
            # a multi-line flow collection or plain scalar that ruamel wrote on one line:
            # keep the original lines
            for t in range(j1 + 1, j2 + 1):
                if _same_flow(old[i1:i2], new[j1:t]):
                    out.extend(old[i1:i2])
                    for k in range(j1, t):
                        placed[k] = new[k]
                    j = t
                    i1 = i2
                    break
        i = i1
        while j < j2:
            if i < i2 and old[i].strip() == new[j].strip():
                emit(old[i], j)
                i += 1
            elif i < i2 and tag == "replace" and i2 - i1 == j2 - j and _same_key(old[i], new[j]):
                emit(" " * _indent(old[i]) + new[j].lstrip(" "), j)  # a line changed in place
                i += 1
            else:
                emit(anchored(j), j)
            j += 1
        # blank and comment lines ruamel dropped stay, after what was inserted before them
        out.extend(ln for ln in old[i:i2] if not ln.strip() or ln.lstrip().startswith("#"))
    return "\n".join(out)


def _add_remaining(plans: list[WorkloadPlan], doc: Any) -> None:
    """Reason lines for what still fails `restricted` once the edits are applied."""
    for plan in plans:
        obj = doc
        for key in plan.prefix:
            obj = obj[key]
        for reason in remaining_violations(plan.kind, obj):
            if reason not in plan.notes:
                plan.notes.append(reason)


def _fix_json(text: str) -> FileFix | None:
    """A JSON manifest stays JSON: same key order, same indentation (or compactness)."""
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return None  # YAML flow style, not JSON: the YAML path handles it
    plans = plan_document(data)
    edits = [e for p in plans for e in p.edits]
    if not edits:
        _add_remaining(plans, data)
        return FileFix(text, text, plans)
    apply_edits(data, edits)
    _add_remaining(plans, data)
    body = text.strip()
    lines = body.splitlines()
    if len(lines) > 1:
        second = lines[1]
        indent: int | None = len(second) - len(second.lstrip(" ")) or 2
        separators = (",", ": ")
    else:
        indent = None
        separators = (",", ":") if '":"' in body or '","' in body else (", ", ": ")
    dumped = json.dumps(data, indent=indent, separators=separators, ensure_ascii=False)
    start = text[:len(text) - len(text.lstrip())]
    end = text[len(text.rstrip()):]
    return FileFix(text, start + dumped + end, plans)


def fix_text(text: str) -> FileFix:
    """Fix every workload of TEXT; raises FixError (one line) for a template or a
    document that cannot be read or edited safely."""
    if is_template(text):
        raise FixError("a Helm/Go template (not YAML until rendered): skipped")
    if text.lstrip()[:1] in ("{", "["):
        json_fix = _fix_json(text)
        if json_fix is not None:
            return json_fix
    out: list[str] = []
    plans: list[WorkloadPlan] = []
    line = 0
    for chunk in split_documents(text):
        fixed, found = _fix_chunk(chunk, line)
        out.append(fixed)
        plans.extend(found)
        line += chunk.count("\n")
    return FileFix(text, "".join(out), plans)
