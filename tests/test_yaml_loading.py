"""Reading YAML as the API server does (inventory/yamlio.py): YAML 1.1 scalars, the fast
constructor, bombs and deep nesting refused, broken documents isolated, lines located."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.inventory.yamlio import (
    MAX_DEPTH,
    Document,
    KubeLoader,
    LoadError,
    _may_alias,
    _Unusual,
    load_documents,
    locate,
)
from tests.conftest import corpus


def docs_of(text: str) -> list[Document | LoadError]:
    return list(load_documents(text))


def data_of(text: str) -> list[object]:
    out = docs_of(text)
    assert all(isinstance(d, Document) for d in out), out
    return [d.data for d in out if isinstance(d, Document)]


def only_error(text: str) -> LoadError:
    out = docs_of(text)
    errors = [d for d in out if isinstance(d, LoadError)]
    assert len(errors) == 1, out
    return errors[0]


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


# --- YAML 1.1 scalars, as go-yaml v2 (sigs.k8s.io/yaml) resolves them -------------------

@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("yes", True), ("Yes", True), ("YES", True), ("no", False), ("on", True), ("off", False),
        ("y", True), ("Y", True), ("n", False), ("N", False),
        ("true", True), ("False", False),
        ("0777", 511), ("0o17", "0o17"), ("0x1F", 31), ("1_000", 1000), ("-12", -12),
        ("~", None), ("null", None), ("", None),
        ("2024-01-01", "2024-01-01"), ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("'yes'", "yes"), ('"0777"', "0777"), ("!!str yes", "yes"),
        ("=", "="), ("12.5", 12.5), ("nginx:1.25", "nginx:1.25"),
    ],
)
def test_scalars_resolve_like_the_api_server(scalar, expected):
    [doc] = data_of(f"v: {scalar}\n")
    assert doc == {"v": expected}
    assert type(doc["v"]) is type(expected)


def test_privileged_yes_is_true_and_file_modes_are_octal():
    text = textwrap.dedent("""\
        securityContext:
          privileged: yes
          allowPrivilegeEscalation: n
        volumes:
          - configMap: {defaultMode: 0777}
        """)
    [doc] = data_of(text)
    assert doc["securityContext"] == {"privileged": True, "allowPrivilegeEscalation": False}
    assert doc["volumes"][0]["configMap"]["defaultMode"] == 0o777 == 511


def test_dates_stay_strings():
    [doc] = data_of("expires: 2027-03-01\nat: 2027-03-01 10:00:00\n")
    assert doc == {"expires": "2027-03-01", "at": "2027-03-01 10:00:00"}


def test_bare_equals_sign_is_a_string():
    # kube-prometheus' AlertmanagerConfig CRD: `enum: [..., - =, ...]`; PyYAML's own
    # loaders raise on the `!!value` tag, go-yaml reads the string "=".
    text = "enum:\n- '!='\n- =\n- =~\n"
    assert data_of(text) == [{"enum": ["!=", "=", "=~"]}]
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load(text)


# --- the fast constructor agrees with SafeConstructor ------------------------------------

def both_constructors(text: str) -> list[tuple[object, object]]:
    """(fast, SafeConstructor) results for every document; fast is `_Unusual` when the
    fast path declines (merge keys, unhashable keys)."""
    loader = KubeLoader(text)
    pairs: list[tuple[object, object]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            try:
                fast: object = loader.build(node)
            except _Unusual:
                fast = _Unusual
            pairs.append((fast, loader.construct_document(node)))
    finally:
        loader.dispose()
    return pairs


ANCHORED = textwrap.dedent("""\
    base: &base
      image: nginx:1.25
      securityContext: {privileged: yes, runAsUser: 0777}
    containers:
      - <<: *base
        name: a
      - <<: [*base]
        name: b
        image: override
    volumes: &vols [{name: tmp, emptyDir: {}}]
    again: *vols
    """)


def test_documents_with_anchors_and_merge_keys_match_safe_constructor():
    [(fast, slow)] = both_constructors(ANCHORED)
    assert fast is _Unusual  # merge keys: the fast path hands over
    [loaded] = data_of(ANCHORED)
    assert loaded == slow == yaml.load(ANCHORED, Loader=KubeLoader)
    assert loaded["containers"][0] == {
        "image": "nginx:1.25", "securityContext": {"privileged": True, "runAsUser": 511}, "name": "a",
    }
    assert loaded["containers"][1]["image"] == "override"
    assert loaded["again"] == [{"name": "tmp", "emptyDir": {}}]


def test_documents_without_aliases_match_safe_constructor():
    text = textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p, labels: {a: y, b: "n"}, annotations: {x: 2024-01-01}}
        spec:
          hostNetwork: on
          containers: [{name: c, image: x, ports: [{containerPort: 0x50}], args: [~, 1.5, -3]}]
          binary: !!binary aGVsbG8=
        ---
        - plain
        - {1: one, 2.5: two, null: three, true: four}
        """)
    pairs = both_constructors(text)
    assert len(pairs) == 2
    for fast, slow in pairs:
        assert fast is not _Unusual
        assert fast == slow
    assert data_of(text) == [slow for _, slow in pairs]


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=20),
    st.sampled_from(["yes", "no", "y", "n", "on", "off", "0777", "2024-01-01", "=", "~", "0x1F"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_VALUES, share=st.booleans(), flow=st.booleans())
def test_fast_constructor_agrees_with_safe_constructor(value, share, flow):
    # A shared sub-object is dumped as an anchor and aliases: the alias path.
    doc = {"a": value, "b": value, "c": [value]} if share else value
    text = yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True)
    for fast, slow in both_constructors(text):
        if fast is not _Unusual:
            assert fast == slow
    [loaded] = data_of(text)
    assert loaded == yaml.load(text, Loader=KubeLoader)


def test_fast_constructor_agrees_on_real_manifests():
    root = corpus("manifests")
    files = sorted(root.rglob("*.yaml"))
    chosen = [p for i, p in enumerate(files) if i % 6 == 0 or "&" in p.read_text(errors="replace")]
    compared = 0
    for path in chosen:
        text = path.read_bytes().decode("utf-8", errors="replace")
        try:
            pairs = both_constructors(text)
        except (yaml.YAMLError, ValueError):
            continue  # the files of parse_errors.txt: see test_bad_input
        for fast, slow in pairs:
            if fast is not _Unusual:
                assert fast == slow, path
                compared += 1
    assert compared > 100


# --- bombs and deep nesting --------------------------------------------------------------

def billion_laughs(levels: int = 9, width: int = 9, prefix: str = "") -> str:
    lines = ["a: &a [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        name, prev = chr(97 + i), chr(96 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * width) + "]")
    return "apiVersion: v1\nkind: ConfigMap\n" + "\n".join(prefix + x for x in lines) + "\n"


def test_alias_bomb_is_refused_quickly_with_one_line_naming_the_line():
    text = "---\n" + billion_laughs()  # document content starts on line 2
    started = time.perf_counter()
    error = only_error(text)
    assert time.perf_counter() - started < 1.0
    assert error.line == 2
    assert "alias" in error.message and "refused" in error.message
    assert "\n" not in error.message


def test_alias_bomb_behind_byte_order_marks_is_refused():
    # libyaml skips a BOM at the start of any line, so an alias may follow one: the cheap
    # pre-check must still see it, or the fast constructor would expand the bomb.
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        name, prev = chr(97 + i), chr(96 + i)
        lines += [f"{name}: &{name} ["] + [f"\ufeff*{prev}," for _ in range(9)] + ["\ufeff]"]
    text = "\n".join(lines) + "\n"
    assert _may_alias(text)
    error = only_error(text)
    assert "alias bomb" in error.message


def test_recursive_alias_is_refused():
    for text in ("a: &a [*a]\n", "a: &a {b: *a}\n", "- &x\n  - *x\n"):
        error = only_error(text)
        assert "itself" in error.message and error.line == 1


def test_aliases_within_limits_load():
    [doc] = data_of(billion_laughs(levels=3, width=3))
    assert doc["c"] == [[["lol"] * 3] * 3] * 3


_DEEP_SCRIPT = """
import json, sys
from kubeward.inventory.yamlio import load_documents
text = sys.stdin.read()
print(json.dumps([[type(d).__name__, getattr(d, "line", 0), getattr(d, "message", "")]
                  for d in load_documents(text)]))
"""


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        "{a: " * 100_000 + "x" + "}" * 100_000,
        "- " * 100_000 + "x\n",
        "ok: 1\n---\n" + "x: " + "[" * 30_000 + "]" * 30_000 + "\n---\nlast: 2\n",
    ],
    ids=["unclosed-flow", "closed-flow", "flow-maps", "block-seq", "middle-of-stream"],
)
def test_deep_nesting_is_an_error_not_a_crash(text):
    # In a child process: libyaml's composer recursing past the C stack is a segfault.
    proc = subprocess.run([sys.executable, "-c", _DEEP_SCRIPT], input=text, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    errors = [d for d in out if d[0] == "LoadError"]
    assert len(errors) == 1
    assert "deep" in errors[0][2] and "\n" not in errors[0][2]
    if text.startswith("ok: 1"):
        assert [d[0] for d in out] == ["Document", "LoadError", "Document"]
        assert errors[0][1] == 3


def test_nesting_below_the_limit_loads():
    depth = 60
    [doc] = data_of("[" * depth + "]" * depth)
    for _ in range(depth - 1):
        doc = doc[0]
    assert doc == []
    assert MAX_DEPTH >= 100


# --- broken documents do not stop the rest of the file -----------------------------------

MULTI = textwrap.dedent("""\
    # first
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: one}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: two
      labels: {app: [broken}
    ---

    # third, after a blank line and a comment
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: three}
    --- # trailing comment on the marker
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: four}
    """)


def test_broken_document_in_the_middle_keeps_the_others():
    out = docs_of(MULTI)
    assert [type(d).__name__ for d in out] == ["Document", "LoadError", "Document", "Document"]
    good = [d for d in out if isinstance(d, Document)]
    assert [d.data["metadata"]["name"] for d in good] == ["one", "three", "four"]
    assert [d.index for d in good] == [0, 2, 3]
    assert [d.line for d in good] == [2, 14, 18]  # the `apiVersion:` line of each
    [error] = [d for d in out if isinstance(d, LoadError)]
    assert error.line == line_of(MULTI, "[broken")
    assert error.message.startswith("YAML error:") and "\n" not in error.message


def test_error_at_end_of_input_points_at_a_real_line():
    # libyaml puts an end-of-input error one line past the last; keep it inside the file.
    assert only_error("a: [").line == 1
    text = "a: 1\n---\nb: [\n\n\n---\nc: 3\n"
    out = docs_of(text)
    assert [type(d).__name__ for d in out] == ["Document", "LoadError", "Document"]
    assert out[1].line == 3


def test_template_and_tab_errors_say_what_is_wrong():
    assert "helm template" in only_error("metadata:\n  name: {{ .Release.Name }}\n").message
    tab = only_error("metadata:\n\tname: x\n")
    assert tab.line == 2 and "tab" in tab.message


def test_document_lines_and_spans():
    text = "--- \n# c\n\napiVersion: v1\n...\n---\n---\nkind: x\n"
    out = docs_of(text)
    # the empty document between the two markers is a document too (of null)
    assert [(d.data, d.line) for d in out] == [({"apiVersion": "v1"}, 4), (None, 7), ({"kind": "x"}, 8)]
    assert [text[d.start:d.end].strip() for d in out] == ["apiVersion: v1", "", "kind: x"]


# --- locate(): the line of a field path ---------------------------------------------------

LIST_TEXT = textwrap.dedent("""\
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: Pod
        metadata: {name: a}
        spec:
          containers:
            - name: c
              image: nginx
              securityContext:
                privileged: true
      - apiVersion: v1
        kind: Pod
        metadata:
          name: b
        spec:
          initContainers:
            - {name: i, image: busybox}
          containers:
            - name: first
              image: one
            - name: second
              image: two
    """)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        (("items", 0), "- apiVersion: v1"),
        (("items", 0, "spec", "containers", 0, "securityContext", "privileged"), "privileged: true"),
        (("items", 1, "metadata", "name"), "name: b"),
        (("items", 1, "spec", "containers", 1, "image"), "image: two"),
        (("items", 1, "spec", "initContainers", 0, "image"), "{name: i, image: busybox}"),
        # the deepest existing prefix when the field is absent
        (("items", 1, "spec", "containers", 1, "resources", "limits"), "- name: second"),
        (("items", 1, "spec", "containers", 7), "containers:\n        - name: first"),
    ],
)
def test_locate_field_paths_in_list_items(path, needle):
    [doc] = docs_of(LIST_TEXT)
    expected = LIST_TEXT[: LIST_TEXT.index(needle)].count("\n") + 1
    assert locate(LIST_TEXT, doc, path) == expected


def test_locate_in_a_later_document_and_in_json():
    text = "kind: A\n---\n# x\nkind: B\nspec:\n  template:\n    spec:\n      hostPID: true\n"
    second = docs_of(text)[1]
    assert locate(text, second, ("spec", "template", "spec", "hostPID")) == 8
    assert locate(text, second, ()) == 4

    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]}}
    as_json = json.dumps(obj, indent=4)
    [doc] = docs_of(as_json)
    assert doc.data == obj
    found = locate(as_json, doc, ("spec", "containers", 0, "securityContext", "privileged"))
    assert found == line_of(as_json, '"privileged": true')
