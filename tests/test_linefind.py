"""The indentation walk (`inventory/linefind.py`) agrees with composing the document.

For every document of the shared corpus and every field path in it (plus paths that do not
exist), the text walk either returns exactly the line libyaml's composer gives, or declines
(`Unsure`) so the composer is used. A wrong line would be a silent lie in every report.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeward.inventory import linefind, yamlio

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "manifests"


def _paths(data: Any, prefix: tuple[str | int, ...] = (), depth: int = 0) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    yield (*prefix, "zz-missing")
    yield (*prefix, 99)
    if depth > 12:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str):
                yield from _paths(value, (*prefix, key), depth + 1)
    elif isinstance(data, list):
        for n, value in enumerate(data):
            yield from _paths(value, (*prefix, n), depth + 1)


def _compose_line(text: str, doc: yamlio.Document, path: tuple[str | int, ...]) -> int | None:
    return yamlio._locate_composed(text, doc, path)


def _check_text(text: str, limit: int = 0) -> tuple[int, int]:
    agreed = declined = 0
    for doc in yamlio.load_documents(text):
        if not isinstance(doc, yamlio.Document):
            continue
        paths = list(_paths(doc.data))
        if limit and len(paths) > limit:  # big CRDs: an even sample over the whole document
            paths = paths[:: len(paths) // limit + 1]
        for path in paths:
            expected = _compose_line(text, doc, path)
            try:
                got = linefind.locate_line(text, doc.start, doc.end, path, doc.line - 1)
            except linefind.Unsure:
                declined += 1
                continue
            got = None if got is None else got + 1
            assert got == expected, f"{path}: text walk says {got}, composer {expected}"
            agreed += 1
    return agreed, declined


CASES = {
    "block": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n"
             "    image: x\n    securityContext:\n      privileged: true\n  - name: d\n",
    "indented-seq": "spec:\n  containers:\n    -   name: c\n        ports:\n          - containerPort: 1\n",
    "comments": "# head\nspec: # c\n  # inner\n  a: 1 # x\n  b:\n    - # item\n      c: 2\n",
    "quoted-keys": "\"spec\":\n  'a': 1\n  \"b c\": {x: 1}\n",
    "block-scalar": "data:\n  x: |\n    key: not a key\n    - no\n  y: 2\n",
    "multi-doc": "---\na: 1\n---\n# c\nb:\n  c: 3\n...\n",
    "null-item": "a:\n-\n  b: 1\n- c\n",
    "json": '{"a": {"b": [1, 2]}}',
    "anchors": "a: &x\n  b: 1\nc: *x\n",
    "colon-in-value": "image: nginx:1.2\nurl: http://x:80/a\nk: v:w\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_small_cases_agree_with_the_composer(name: str) -> None:
    _check_text(CASES[name])


def test_the_walk_answers_for_plain_block_yaml() -> None:
    agreed, declined = _check_text(CASES["block"])
    assert declined == 0 and agreed > 20


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the repository")
def test_every_field_of_the_corpus_agrees_with_the_composer() -> None:
    agreed = declined = 0
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        try:
            a, d = _check_text(text, limit=400)
        except AssertionError as err:
            raise AssertionError(f"{path}: {err}") from None
        agreed += a
        declined += d
    # The walk must carry the load, or it is not worth having.
    assert agreed > 4 * declined, (agreed, declined)
