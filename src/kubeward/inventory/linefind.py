"""Find the line of a field path in block-style YAML by reading the text's indentation.

Why by hand: a finding needs the line of one field (`spec.template.spec.containers[0]`), and
composing the whole document again with libyaml builds a node and two marks per scalar just
to read one line (0.25 s of the corpus scan). Kubernetes manifests are almost always plain
block YAML, where a key's line follows from indentation alone, so this walks only the lines
on the path.

It is exact or it declines: whenever the text uses something an indentation walk cannot
resolve with certainty (flow collections, anchors, aliases, tags, complex keys, escapes in
quoted keys, tabs in indentation, compact nested sequences), it raises `Unsure` and the
caller composes the document as before. `tests/test_linefind.py` checks that the two agree
on every field of every document of the shared corpus.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence


class Unsure(Exception):
    """The text uses a construct the indentation walk does not resolve; compose instead."""


# An entry is a content line: (0-based line number, indent, text without indentation).
Entry = tuple[int, int, str]


@functools.lru_cache(maxsize=64)
def entries(text: str, start: int, end: int, first_line: int = -1) -> list[Entry]:
    """Content lines of one document: no blank lines, comments, directives or markers.

    Cached: a document with several findings is split once (str hashes are cached too)."""
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip():
        raise Unsure  # the document starts mid-line (`--- key: value`)
    # The caller usually knows the line of `start` (Document.line); counting is O(file).
    first = first_line if first_line >= 0 else text.count("\n", 0, line_start)
    out: list[Entry] = []
    for n, line in enumerate(text[line_start:end].split("\n"), first):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        if stripped[0] == "\t" or stripped.rstrip("\r").strip() == "":
            if stripped.strip():
                raise Unsure  # a tab in the indentation
            continue
        if len(stripped) == len(line) and stripped[:3] in ("---", "...") and (
                len(stripped) == 3 or stripped[3] in " \t\r"):
            after = stripped[3:].strip()
            if after and after[0] != "#":
                raise Unsure  # content on the marker line
            continue
        if len(stripped) == len(line) and stripped[0] == "%":
            continue
        out.append((n, len(line) - len(stripped), stripped.rstrip("\r")))
    return out


def _split_key(content: str) -> tuple[str, str] | None:
    """(key, rest after the colon) of a `key: value` line, or None when it is no mapping entry."""
    if content[0] in "\"'":
        quote = content[0]
        close = content.find(quote, 1)
        if close < 0 or (quote == '"' and "\\" in content[1:close]):
            raise Unsure
        if quote == "'" and content[close + 1: close + 2] == "'":
            raise Unsure  # '' escape inside a single-quoted key
        after = content[close + 1:]
        if not after.startswith(":"):
            return None
        return content[1:close], after[1:]
    if content[0] in "?&*!|>{[@`%":
        raise Unsure
    pos = 0
    while True:
        pos = content.find(":", pos)
        if pos < 0:
            return None
        nxt = content[pos + 1: pos + 2]
        if nxt in ("", " ", "\t"):
            key = content[:pos].rstrip()
            if " #" in key or "\t#" in key:
                return None  # the colon is inside a comment
            return key, content[pos + 1:]
        pos += 1


def _value_kind(rest: str) -> str:
    """'block' when the value continues on the next lines, 'scalar' when it is on this line."""
    value = rest.strip()
    if not value or value[0] == "#":
        return "block"
    if value[0] in "&*!{[":
        raise Unsure  # anchors, aliases, tags and flow collections
    return "scalar"  # plain, quoted or block-scalar (| >): no fields below it


def _is_dash(content: str) -> bool:
    return content == "-" or content.startswith(("- ", "-\t"))


def locate_line(
    text: str, start: int, end: int, path: Sequence[str | int], first_line: int = -1
) -> int | None:
    """0-based line of the deepest existing prefix of `path`, as composing would find it.

    Returns None for an empty document; raises Unsure when the text needs the real parser.
    """
    lines = entries(text, start, end, first_line)
    if not lines:
        return None
    lo, hi = 0, len(lines)  # the current node's entries: lines[lo:hi]
    # A node that starts mid-line (`- key: v`): its first entry's content and indent.
    head: tuple[int, str] | None = None
    best = lines[0][0]
    if lines[0][2][0] in "{[&*!|>\"'" and _split_key_safe(lines[0][2]) is None:
        raise Unsure  # flow or tagged root (JSON documents)
    for step in path:
        if lo >= hi and head is None:
            break
        first_indent, first = head if head is not None else (lines[lo][1], lines[lo][2])
        if first[0] in "{[&*!|>":
            raise Unsure  # a flow collection, anchor, alias, tag or block scalar on its own line
        if isinstance(step, str):
            if _is_dash(first):
                break  # a sequence: composing finds no key either
            found = _find_key(lines, lo, hi, head, first_indent, step)
            if found is None:
                break  # no such key, or a scalar node: composing stops here too
            idx, rest = found
            best = lines[idx][0]
            if _value_kind(rest) == "scalar":
                lo = hi = idx + 1  # nothing below a scalar: the next step stops, as composing does
                head = None
                continue
            # Block value: deeper lines, or a sequence at the key's own indent.
            j = idx + 1
            k = j
            if j < hi and lines[j][1] == first_indent and _is_dash(lines[j][2]):
                while k < hi and (lines[k][1] > first_indent or (
                        lines[k][1] == first_indent and _is_dash(lines[k][2]))):
                    k += 1
            else:
                while k < hi and lines[k][1] > first_indent:
                    k += 1
            lo, hi, head = j, k, None
        else:
            if not _is_dash(first) or step < 0:
                break
            # (a node that starts mid-line is never a sequence: `- - a` was declined above)
            items = [i for i in range(lo, hi) if lines[i][1] == first_indent and _is_dash(lines[i][2])]
            if step >= len(items):
                break
            idx = items[step]
            nxt = items[step + 1] if step + 1 < len(items) else hi
            content = lines[idx][2]
            rest = content[1:]
            inner = rest.lstrip(" ")
            if not inner or inner[0] == "#":
                if idx + 1 >= nxt:
                    raise Unsure  # a null item: its line is the parser's business
                best = lines[idx + 1][0]
                lo, hi, head = idx + 1, nxt, None
                continue
            if _is_dash(inner):
                raise Unsure
            best = lines[idx][0]
            if _split_key_safe(inner) is None:
                _value_kind(inner)  # raises for flow, anchors, aliases, tags
                lo = hi = idx + 1
                head = None
                continue
            indent = lines[idx][1] + 1 + (len(rest) - len(inner))
            lo, hi, head = idx, nxt, (indent, inner)
    return best


def _split_key_safe(content: str) -> tuple[str, str] | None:
    if content[0] in "{[&*!|>":
        return None
    return _split_key(content)


def _find_key(
    lines: list[Entry], lo: int, hi: int, head: tuple[int, str] | None, indent: int, key: str
) -> tuple[int, str] | None:
    """Index and rest of the first entry `key:` of the mapping at `indent` in lines[lo:hi]."""
    for i in range(lo, hi):
        if i == lo and head is not None:
            content = head[1]
        else:
            ind, content = lines[i][1], lines[i][2]
            if ind != indent:
                if ind < indent:
                    raise Unsure  # a dedent inside the block: not plain block YAML
                continue
        split = _split_key(content)
        if split is None:
            if _is_dash(content):
                raise Unsure
            continue  # a continuation line of a multi-line scalar
        if split[0] == key:
            return i, split[1]
    return None
