"""A pure-Python, exact-or-declines subset of `kustomize build`.

Why hand-written: kustomize exists only as Go (`kustomize`, or linked into `kubectl`); each
start costs about 100-150 ms of CPU, most of it loading the OpenAPI schema kustomize needs for
strategic-merge patches. Typical overlays (a prefix or suffix, some labels, a few patches)
need very little of kustomize, so kubeward renders that subset itself.

Exact or declines: `build` returns the objects `kubectl kustomize DIR` outputs, in its order,
or None as soon as the kustomization (or one it includes) uses anything outside the subset, or
anything whose outcome is not certain; kubectl then renders it as before. Nothing here raises.

The subset follows kustomize v5 (sigs.k8s.io/kustomize):

* fields (api/types/kustomization.go): resources / bases (local files and directories),
  namePrefix, nameSuffix, labels (pairs, includeSelectors, includeTemplates; not `fields`),
  commonLabels, patches (strategic merge; path or inline; with or without `target`),
  patchesStrategicMerge. Anything else declines.
* accumulation (api/internal/target/kusttarget.go `accumulateTarget`): resources in listed
  order, sub-kustomizations built recursively with their own transformers, then this
  kustomization's transformers in kusttarget_configplugin.go's order: PatchStrategicMerge,
  Patch, (Namespace), Prefix, Suffix, Label; name references are fixed once at the top
  (`makeCustomizedResMap` -> `FixBackReferences`), then the legacy sort (api/krusty/
  kustomizer.go, api/builtins/SortOrderTransformer.go `legacyIDSorter`).
* name prefix/suffix (api/builtins/PrefixTransformer.go, SuffixTransformer.go): metadata/name,
  not for CustomResourceDefinition, APIService (apiregistration.k8s.io) or Namespace; the
  name history (api/resource/resource.go `StorePreviousId`) feeds name references.
* name references (api/filters/nameref/nameref.go, seqfilter.go, table in
  api/konfig/builtinpluginconsts/namereference.go, ported below as data and checked
  against kubectl's kustomize v5.5; referrals visited in the sorted order kustomize uses).
* labels (api/filters/labels, field specs of api/konfig/builtinpluginconsts/commonlabels.go
  and metadatalabels.go, ported below), including kyaml's node sharing: the fields one label
  transformer creates for a key of a resource are one node, so a later label or patch that
  writes one of them changes all of them.
* strategic merge (api/filters/patchstrategicmerge -> kyaml/yaml/merge2): maps merge, `null`
  deletes, `$patch: delete` removes a list element or the whole object; lists merge by key
  only where the Kubernetes schema gives a merge key and kubeward knows it, are replaced
  where the schema has no merge strategy and kubeward knows that; any other list, any other
  directive, a patch of a kind without a built-in schema (a CRD) -> decline.
* target selection (api/resmap/reswrangler.go `Select`, api/types/selector.go: regexes
  anchored as `^(?:re)$`), patch identification (`GetById` over current and previous ids).

Output: documents separated by `---`, keys sorted and long lines folded at 80 columns as
kubectl's output is (it goes through JSON and go-yaml), so lines in the stream, which findings
point at, match kubectl's on the corpus; only quoting style differs.

Verified by tests/test_kustomize_subset.py: for every kustomization of the shared corpus and
for fixtures exercising each feature, the documents `build` returns equal, in order, those of
`kubectl kustomize`; fixtures for each unsupported feature check that `build` declines.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kubeward.inventory import render

__all__ = ["build"]


class Decline(Exception):
    """The kustomization is outside the subset, or kustomize would fail on it."""


def build(directory: Path) -> str | None:
    """The YAML stream `kustomize build directory` outputs, or None (kubectl renders it)."""
    try:
        root = directory.resolve()
        resources = _Builder().build(root, ())
        _fix_name_references(resources)
        _check_unique(resources)
        _check_string_metadata(resources)
        resources.sort(key=_SortKey)
        return _dump([r.data for r in resources])
    except Decline:
        return None
    except Exception:  # noqa: BLE001 - exact or declines: any surprise means "let kubectl do it"
        return None


# --- resources and their name history -----------------------------------------------------


@dataclass(slots=True)
class _Res:
    data: dict[str, Any]
    prev_names: list[str] = field(default_factory=list)  # api/resource: previousNames

    @property
    def name(self) -> str:
        return str(self.data["metadata"]["name"])

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def api_version(self) -> str:
        return str(self.data["apiVersion"])

    @property
    def group(self) -> str:
        return _group_version(self.api_version)[0]

    @property
    def version(self) -> str:
        return _group_version(self.api_version)[1]

    @property
    def namespace(self) -> str:
        ns = self.data["metadata"].get("namespace")
        return ns if isinstance(ns, str) else ""

    @property
    def org_name(self) -> str:
        return self.prev_names[0] if self.prev_names else self.name

    def set_name(self, name: str) -> None:
        self.prev_names.append(self.name)
        self.data["metadata"]["name"] = name


def _check_string_metadata(resources: list[_Res]) -> None:
    """kustomize writes every annotation value as a string (`i: 1` comes out as `i: "1"`, a
    map as `""`); labels and annotations that are not all strings decline."""
    for r in resources:
        meta = r.data.get("metadata")
        if not isinstance(meta, dict):
            raise Decline("metadata is not a mapping")
        for key in ("labels", "annotations"):
            value = meta.get(key)
            if value is None and key not in meta:
                continue
            if not isinstance(value, dict) or \
                    not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                raise Decline(f"metadata.{key} with values that are not strings")


def _group_version(api_version: str) -> tuple[str, str]:
    """resid.ParseGroupVersion."""
    if "/" in api_version:
        g, _, v = api_version.partition("/")
        return g, v
    return "", api_version


def _effective_ns(ns: str) -> str:
    return ns or "default"


# --- loading ------------------------------------------------------------------------------

_KUSTOMIZATION_FILES = render.KUSTOMIZATION_FILES
_ALLOWED_FIELDS = frozenset({
    "apiVersion", "kind", "metadata", "resources", "bases", "namePrefix", "nameSuffix",
    "labels", "commonLabels", "patches", "patchesStrategicMerge",
})
_REMOTE = re.compile(r"(?:://|git@|github\.com/|gitlab\.com/|\?ref=)")


def _read_text(path: Path) -> str:
    from kubeward.inventory.yamlio import MAX_FILE_BYTES

    if path.stat().st_size > MAX_FILE_BYTES:
        raise Decline("too large")
    text = path.read_text(encoding="utf-8")
    # Anchors, aliases and merge keys: kyaml's handling is not reproduced here.
    if "<<" in text or ("&" in text and "*" in text):
        from kubeward.inventory.yamlio import _may_alias

        if "<<" in text or _may_alias(text):
            raise Decline("anchors")
    return text


def _parse_stream(text: str) -> list[Any]:
    from kubeward.inventory.yamlio import Document, load_documents

    out: list[Any] = []
    for doc in load_documents(text):
        if not isinstance(doc, Document):
            raise Decline("unreadable YAML")
        out.append(doc.data)
    _check_nodes(text)
    return out


#: Plain scalars that kyaml (go-yaml v3, YAML 1.2 rules) reads otherwise than the project's
#: loader (YAML 1.1 plus go-yaml v2's y/n): bool words but true/false, `=` and `<<`; numbers
#: in either's syntax but plain decimals (underscores, octal, hex, binary, exponents,
#: sexagesimal, .inf/.nan); dates (go-yaml v3 makes them timestamps).
_BOOL_WORDS = frozenset([
    "y", "Y", "n", "N", "yes", "Yes", "YES", "no", "No", "NO",
    "on", "On", "ON", "off", "Off", "OFF", "=", "<<",
])
_SAME_NUMBER = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$|^[-+]?[0-9]+\.[0-9]+$")
_ANY_NUMBER = re.compile(
    r"^[-+]?(?:0[xXoObB][0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?"
    r"|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    r"|^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")


def _v3_differs(value: str) -> bool:
    if value in _BOOL_WORDS:
        return True
    return bool(value) and value[0] in "-+.0123456789" and _ANY_NUMBER.match(value) is not None \
        and _SAME_NUMBER.match(value) is None


def _check_nodes(text: str) -> None:
    """Decline what kyaml reads otherwise than PyYAML: a mapping key given twice (kyaml
    keeps the first, PyYAML the last) and plain scalars `_v3_differs` flags (`image: n` is
    the string "n" for kustomize, false for go-yaml v2 and this project's loader)."""
    try:
        roots = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        raise Decline("unreadable YAML") from None
    stack: list[yaml.Node] = [r for r in roots if r is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if not node.style and _v3_differs(node.value):  # plain: "" (libyaml) or None
                raise Decline(f"plain scalar {node.value!r} reads differently in YAML 1.2")
        elif isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
            if len(set(keys)) != len(keys):
                raise Decline("duplicate mapping key")
            for k, v in node.value:
                stack += [k, v]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value


def _load_kustomization(directory: Path) -> dict[str, Any]:
    found = [n for n in _KUSTOMIZATION_FILES if (directory / n).is_file()]
    if len(found) != 1:
        raise Decline("no (or more than one) kustomization file")
    docs = _parse_stream(_read_text(directory / found[0]))
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise Decline("kustomization is not one mapping")
    data: dict[str, Any] = docs[0]
    if not set(data) <= _ALLOWED_FIELDS:
        raise Decline(f"fields {sorted(set(data) - _ALLOWED_FIELDS)}")
    kind = data.get("kind", "Kustomization")
    if kind not in ("Kustomization", None, ""):
        raise Decline("not a Kustomization")
    api = data.get("apiVersion")
    if api not in (None, "", "kustomize.config.k8s.io/v1beta1"):
        raise Decline("apiVersion")
    return data


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _load_file(path: Path, root: Path) -> Path:
    """A file kustomize's default load restrictor lets the kustomization read."""
    target = (root / path).resolve()
    if not _inside(target, root) or not target.is_file():
        raise Decline("file outside the root or missing")
    return target


_LIST_KIND = re.compile(r"List$")


def _resources_of_file(path: Path) -> list[_Res]:
    out: list[_Res] = []
    for data in _parse_stream(_read_text(path)):
        if data is None:
            continue
        if not isinstance(data, dict):
            raise Decline("document is not a mapping")
        kind = data.get("kind")
        api = data.get("apiVersion")
        meta = data.get("metadata")
        if not isinstance(kind, str) or not kind or not isinstance(api, str) or not api:
            raise Decline("missing kind or apiVersion")
        if _LIST_KIND.search(kind) or kind in ("Kustomization", "Component"):
            raise Decline("a List or kustomization as a resource")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or \
                not meta["name"]:
            raise Decline("missing metadata.name")
        ns = meta.get("namespace")
        if ns is not None and not isinstance(ns, str):
            raise Decline("odd namespace")
        for key in ("labels", "annotations"):
            if key in meta and not isinstance(meta[key], dict):
                raise Decline(f"odd metadata.{key}")
        _check_keys(data)
        out.append(_Res(data))
    return out


def _check_keys(node: Any) -> None:
    """Mapping keys must be strings (kyaml and libyaml read other scalars differently)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if not isinstance(k, str):
                raise Decline("non-string key")
            _check_keys(v)
    elif isinstance(node, list):
        for v in node:
            _check_keys(v)


class _Builder:
    """api/internal/target/kusttarget.go `accumulateTarget`, recursively."""

    def build(self, directory: Path, stack: tuple[Path, ...]) -> list[_Res]:
        if directory in stack:
            raise Decline("cycle")
        if len(stack) > 20:
            raise Decline("too deep")
        stack = (*stack, directory)
        k = _load_kustomization(directory)
        resources: list[_Res] = []
        entries: list[Any] = []
        for key in ("resources", "bases"):
            value = k.get(key)
            if value is None:
                continue
            if not isinstance(value, list):
                raise Decline(f"{key} is not a list")
            entries += value
        for entry in entries:
            if not isinstance(entry, str) or not entry or _REMOTE.search(entry):
                raise Decline("remote or odd resource entry")
            target = (directory / entry).resolve()
            if target.is_dir():
                sub = self.build(target, stack)
            elif target.is_file():
                if not _inside(target, directory):
                    raise Decline("file outside the root")
                sub = _resources_of_file(target)
            else:
                raise Decline("missing resource")
            _append_all(resources, sub)
        # Transformers, in kusttarget_configplugin.go's order.
        psm = k.get("patchesStrategicMerge")
        if psm is not None:
            resources = _patches_strategic_merge(resources, psm, directory)
        patches = k.get("patches")
        if patches is not None:
            resources = _patches(resources, patches, directory)
        prefix = _opt_str(k, "namePrefix")
        suffix = _opt_str(k, "nameSuffix")
        if prefix:
            _rename(resources, lambda n: prefix + n)
        if suffix:
            _rename(resources, lambda n: n + suffix)
        _labels(resources, k)
        _check_unique(resources)
        return resources


def _opt_str(k: dict[str, Any], key: str) -> str:
    value = k.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Decline(f"{key} is not a string")
    return value


def _res_id(r: _Res) -> tuple[str, str, str, str]:
    """The id kustomize compares (resid.ResId.Equals; IsNsEquals ignores the namespace of a
    cluster-scoped kind)."""
    return (r.group, r.kind, r.name, "" if _cluster_scoped(r) else _effective_ns(r.namespace))


def _append_all(into: list[_Res], more: list[_Res]) -> None:
    """resWrangler.AppendAll: an id registered twice is an error (conservatively: any
    version, and "" the same namespace as "default")."""
    ids = {_res_id(r) for r in into}
    for r in more:
        rid = _res_id(r)
        if rid in ids:
            raise Decline("duplicate id")
        ids.add(rid)
        into.append(r)
    _check_unique(into)


def _check_unique(resources: list[_Res]) -> None:
    ids = [_res_id(r) for r in resources]
    if len(set(ids)) != len(ids):
        raise Decline("duplicate id")
    # A kind whose scope is not known here, in two namespaces under one name: kustomize
    # fails if its schema makes the kind cluster-scoped.
    seen: dict[tuple[str, str, str], str] = {}
    for r in resources:
        if _scope(r) != "unknown":
            continue
        loose = (r.group, r.kind, r.name)
        ns = _effective_ns(r.namespace)
        if seen.setdefault(loose, ns) != ns:
            raise Decline("same name in two namespaces, scope unknown")


# --- name prefix / suffix -----------------------------------------------------------------

#: PrefixTransformer.go / SuffixTransformer.go `prefixFieldSpecsToSkip`: (group, kind).
_NO_PREFIX = (("", "CustomResourceDefinition"), ("apiregistration.k8s.io", "APIService"),
              ("", "Namespace"))


def _rename(resources: list[_Res], change: Callable[[str], str]) -> None:
    """PrefixTransformer / SuffixTransformer (StorePreviousId, then metadata/name)."""
    for r in resources:
        if any((not g or r.group == g) and r.kind == k for g, k in _NO_PREFIX):
            continue
        r.set_name(change(r.name))


# --- labels -------------------------------------------------------------------------------

#: The label selectors inside a pod template that commonLabels reaches (create: false).
_POD_SELECTOR_PATHS = (
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuring"
    "Execution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuring"
    "Execution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
)


def _pod_selectors(kind: str) -> tuple[tuple[str, bool, str, str, str], ...]:
    return tuple((path, False, "apps", "", kind) for path in _POD_SELECTOR_PATHS)


# (path, create, group, version, kind): api/konfig/builtinpluginconsts/commonlabels.go of
# kustomize v5 (with topologySpreadConstraints; the old create:false v1beta1 entries are
# subsumed by the kind-only ones).
_COMMON_LABELS: tuple[tuple[str, bool, str, str, str], ...] = (
    ("metadata/labels", True, "", "", ""),
    ("spec/selector", True, "", "v1", "Service"),
    ("spec/selector", True, "", "v1", "ReplicationController"),
    ("spec/template/metadata/labels", True, "", "v1", "ReplicationController"),
    ("spec/selector/matchLabels", True, "", "", "Deployment"),
    ("spec/template/metadata/labels", True, "", "", "Deployment"),
    *_pod_selectors("Deployment"),
    ("spec/selector/matchLabels", True, "", "", "ReplicaSet"),
    ("spec/template/metadata/labels", True, "", "", "ReplicaSet"),
    ("spec/selector/matchLabels", True, "", "", "DaemonSet"),
    ("spec/template/metadata/labels", True, "", "", "DaemonSet"),
    ("spec/selector/matchLabels", True, "apps", "", "StatefulSet"),
    ("spec/template/metadata/labels", True, "apps", "", "StatefulSet"),
    *_pod_selectors("StatefulSet"),
    ("spec/volumeClaimTemplates[]/metadata/labels", True, "apps", "", "StatefulSet"),
    ("spec/selector/matchLabels", False, "batch", "", "Job"),
    ("spec/template/metadata/labels", True, "batch", "", "Job"),
    ("spec/jobTemplate/spec/selector/matchLabels", False, "batch", "", "CronJob"),
    ("spec/jobTemplate/metadata/labels", True, "batch", "", "CronJob"),
    ("spec/jobTemplate/spec/template/metadata/labels", True, "batch", "", "CronJob"),
    ("spec/selector/matchLabels", False, "policy", "", "PodDisruptionBudget"),
    ("spec/podSelector/matchLabels", False, "networking.k8s.io", "", "NetworkPolicy"),
    ("spec/ingress/from/podSelector/matchLabels", False, "networking.k8s.io", "",
     "NetworkPolicy"),
    ("spec/egress/to/podSelector/matchLabels", False, "networking.k8s.io", "", "NetworkPolicy"),
)

#: api/konfig/builtinpluginconsts/metadatalabels.go (`templateLabels`, for includeTemplates).
_TEMPLATE_LABELS: tuple[tuple[str, bool, str, str, str], ...] = (
    ("metadata/labels", True, "", "", ""),
    ("spec/template/metadata/labels", True, "", "v1", "ReplicationController"),
    ("spec/template/metadata/labels", True, "", "", "Deployment"),
    ("spec/template/metadata/labels", True, "", "", "ReplicaSet"),
    ("spec/template/metadata/labels", True, "", "", "DaemonSet"),
    ("spec/template/metadata/labels", True, "apps", "", "StatefulSet"),
    ("spec/volumeClaimTemplates[]/metadata/labels", True, "apps", "", "StatefulSet"),
    ("spec/template/metadata/labels", True, "batch", "", "Job"),
    ("spec/jobTemplate/metadata/labels", True, "batch", "", "CronJob"),
    ("spec/jobTemplate/spec/template/metadata/labels", True, "batch", "", "CronJob"),
)

_METADATA_LABELS: tuple[tuple[str, bool, str, str, str], ...] = (
    ("metadata/labels", True, "", "", ""),
)

# YAML 1.1 scalars that are not strings when written plain: kyaml writes label values it
# sets by YAML 1.2 rules, and a reader with go-yaml v2 rules might see a bool or a number.
_AMBIGUOUS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|[-+.0-9].*|=|<<|)$")


def _string_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Decline(f"{what} is not a mapping")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str) or _AMBIGUOUS.match(v) or \
                _AMBIGUOUS.match(k):
            raise Decline(f"{what}: only plain string keys and values are supported")
    return dict(value)


def _labels(resources: list[_Res], k: dict[str, Any]) -> None:
    """LabelTransformer as configured by kusttarget_configplugin.go: one per `labels` entry,
    then one for `commonLabels`."""
    labels = k.get("labels")
    if labels is not None:
        if not isinstance(labels, list):
            raise Decline("labels is not a list")
        for entry in labels:
            if not isinstance(entry, dict) or \
                    not set(entry) <= {"pairs", "includeSelectors", "includeTemplates"}:
                raise Decline("labels entry outside the subset")
            sel = entry.get("includeSelectors", False)
            tmpl = entry.get("includeTemplates", False)
            if not isinstance(sel, bool) or not isinstance(tmpl, bool):
                raise Decline("labels flags")
            pairs = _string_map(entry.get("pairs"), "labels.pairs")
            if sel:
                specs = _COMMON_LABELS
            elif tmpl:
                specs = _TEMPLATE_LABELS
            else:
                specs = _METADATA_LABELS
            _apply_labels(resources, pairs, specs)
    common = _string_map(k.get("commonLabels"), "commonLabels")
    if common:
        _apply_labels(resources, common, _COMMON_LABELS)


def _gvk_selected(r: _Res, group: str, version: str, kind: str) -> bool:
    """resid.Gvk.IsSelected: every field the selector sets must equal the resource's."""
    return (not group or group == r.group) and (not version or version == r.version) and \
        (not kind or kind == r.kind)


def _apply_labels(resources: list[_Res], pairs: dict[str, str],
                  specs: tuple[tuple[str, bool, str, str, str], ...]) -> None:
    """api/filters/labels: for each key (sorted), every matching field spec, fsslice."""
    for r in resources:
        for key in sorted(pairs):
            # filtersutil.SetEntry makes one yaml.Node per resource and key, and
            # yaml.FieldSetter puts that very node wherever the field is created.
            token = _Shared(pairs[key])
            for path, create, group, version, kind in specs:
                if _gvk_selected(r, group, version, kind):
                    _set_entry(r, r.data, path.split("/"), create, key, token)


class _Shared(str):
    """A label value a LabelTransformer created: every field it created for one key of one
    resource holds the same kyaml node, and kyaml writes over an existing field in place
    (`RNode.SetYNode` copies into the node), so a later label transformer or patch writing
    any one of them changes them all (kustomize v5.5: a base's `commonLabels` puts `tier:
    t` in metadata.labels and spec.selector.matchLabels; an overlay's patch of
    metadata.labels.tier changes both)."""

    __slots__ = ()


def _overwrite(r: _Res, node: dict[str, Any], key: str, value: Any) -> None:
    """Set an existing field as kyaml does, in place: all fields aliasing it change too."""
    old = node[key]
    if isinstance(old, _Shared):
        if not isinstance(value, str):
            raise Decline("non-string over a shared label node")
        if value == old:
            return
        _replace_identical(r.data, old, _Shared(value))
        return
    node[key] = value if not isinstance(value, _Shared) else str(value)


def _replace_identical(node: Any, old: _Shared, new: _Shared) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if v is old:
                node[k] = new
            else:
                _replace_identical(v, old, new)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if v is old:
                node[i] = new
            else:
                _replace_identical(v, old, new)


def _set_entry(r: _Res, node: Any, path: list[str], create: bool, key: str,
               value: _Shared) -> None:
    """api/filters/fieldspec.Filter with fsslice.SetEntry (CreateKind MappingNode)."""
    if not path:
        if node is None:
            raise Decline("null where labels go")
        if not isinstance(node, dict):
            raise Decline("labels target is not a mapping")
        if key in node:
            _overwrite(r, node, key, value)
        else:
            node[key] = value
        return
    if node is None:
        return
    if isinstance(node, list):
        for item in node:
            _set_entry(r, item, path, create, key, value)
        return
    if not isinstance(node, dict):
        raise Decline("expected sequence or mapping node")
    head = path[0]
    is_seq = head.endswith("[]")
    name = head[:-2] if is_seq else head
    if name not in node:
        if not create or is_seq:
            return
        node[name] = {}
    child = node[name]
    if child is None:
        raise Decline("null field on a label path")
    _set_entry(r, child, path[1:], create, key, value)


# --- strategic merge patches --------------------------------------------------------------

#: Built-in kinds whose lists kubeward knows how kyaml merges (apiVersion, kind).
_WORKLOADS = {
    ("v1", "Pod"), ("v1", "ReplicationController"), ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("apps/v1", "ReplicaSet"),
    ("batch/v1", "Job"), ("batch/v1", "CronJob"),
}
#: Built-in kinds (kyaml has their schema): patches without lists are exact for them.
_BUILTIN = _WORKLOADS | {
    ("v1", k) for k in (
        "ConfigMap", "Secret", "Service", "ServiceAccount", "Namespace",
        "PersistentVolumeClaim", "PersistentVolume", "LimitRange", "ResourceQuota",
        "Endpoints")
} | {
    ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("storage.k8s.io/v1", "StorageClass"), ("scheduling.k8s.io/v1", "PriorityClass"),
}

#: Lists of a pod spec (and of its containers) with the merge key of the Kubernetes schema
#: (x-kubernetes-patch-merge-key, patch strategy "merge").
_POD_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "volumes": "name",
    "imagePullSecrets": "name",
}
#: (Container `ports` are keyed on containerPort and protocol in the schema; kyaml's handling
#: of two keys is not reproduced: a patch of them declines.)
_CONTAINER_MERGE_KEYS = {"env": "name", "volumeMounts": "mountPath"}
#: Lists without a patch strategy in the schema: the patch's list replaces the resource's.
_POD_REPLACE = {"tolerations"}
_CONTAINER_REPLACE = {"args", "command", "envFrom"}


def _pod_spec_paths(kind: str) -> tuple[str, ...]:
    if kind == "Pod":
        return ("spec",)
    if kind == "CronJob":
        return ("spec/jobTemplate/spec/template/spec",)
    return ("spec/template/spec",)


def _list_rule(res: _Res, path: tuple[str, ...]) -> tuple[str, str | None]:
    """How kyaml merges the list at `path` (keys from the object's root): ("merge", key),
    ("replace", None), or raises Decline."""
    if (res.api_version, res.kind) in _WORKLOADS:
        joined = "/".join(path)
        for pod in _pod_spec_paths(res.kind):
            if not joined.startswith(pod + "/"):
                continue
            rest = joined[len(pod) + 1:].split("/")
            if len(rest) == 1:
                if rest[0] in _POD_MERGE_KEYS:
                    return "merge", _POD_MERGE_KEYS[rest[0]]
                if rest[0] in _POD_REPLACE:
                    return "replace", None
            if len(rest) == 3 and rest[0] in ("containers", "initContainers"):
                # rest[1] is the container element marker "*"
                if rest[2] in _CONTAINER_MERGE_KEYS:
                    return "merge", _CONTAINER_MERGE_KEYS[rest[2]]
                if rest[2] in _CONTAINER_REPLACE:
                    return "replace", None
    raise Decline(f"list {'/'.join(path)} of {res.kind}: merge semantics not known here")


_DIRECTIVE = re.compile(r"^\$")


def _smp(res: _Res, patch: dict[str, Any]) -> bool:
    """Apply a strategic-merge patch (merge2.Merge, ListIncreaseDirection append) to `res`.
    Returns False when the patch deletes the whole object."""
    if (res.api_version, res.kind) not in _BUILTIN:
        raise Decline("patch of a kind without a built-in schema")
    if patch.get("$patch") is not None:
        if patch.get("$patch") == "delete":
            return False
        raise Decline("$patch directive")
    name, ns, kind = res.name, res.data["metadata"].get("namespace"), res.kind
    _merge_map(res, res.data, patch, ())
    # resource.ApplySmPatch: name, namespace and kind are restored.
    res.data["kind"] = kind
    res.data.setdefault("metadata", {})
    if not isinstance(res.data["metadata"], dict):
        raise Decline("metadata patched away")
    res.data["metadata"]["name"] = name
    if ns is None:
        res.data["metadata"].pop("namespace", None)
    else:
        res.data["metadata"]["namespace"] = ns
    return True


def _check_new(value: Any) -> None:
    """Content the patch adds where the resource has nothing: no nulls, no directives, no
    empty containers (kyaml's treatment of those is not reproduced)."""
    if value is None:
        raise Decline("null inside added content")
    if isinstance(value, dict):
        if not value:
            raise Decline("empty map in a patch")
        for k, v in value.items():
            if not isinstance(k, str) or _DIRECTIVE.match(k):
                raise Decline("directive inside added content")
            _check_new(v)
    elif isinstance(value, list):
        if not value:
            raise Decline("empty list in a patch")
        for v in value:
            _check_new(v)


def _merge_map(res: _Res, dest: dict[str, Any], patch: dict[str, Any],
               path: tuple[str, ...]) -> None:
    for key, value in patch.items():
        if not isinstance(key, str):
            raise Decline("non-string key")
        if _DIRECTIVE.match(key):
            if key == "$patch" and path == ():
                continue
            raise Decline(f"directive {key}")
        sub = (*path, key)
        if value is None:
            if path[:1] == ("metadata",):
                # kustomize turns a label or annotation deleted this way into the string
                # "null" when the map ends up empty (seen with kubectl 1.32): not reproduced
                raise Decline("null in a patch's metadata")
            dest.pop(key, None)
            continue
        if key in dest and dest[key] is None:
            raise Decline("patch over a null field")
        if key not in dest:
            if isinstance(value, list):
                _list_rule(res, sub)  # the list's semantics must be known anyway
            _check_new(value)
            dest[key] = copy.deepcopy(value)
            continue
        current = dest[key]
        if isinstance(value, dict):
            if not isinstance(current, dict):
                raise Decline("map over non-map")
            if not value:
                raise Decline("empty map in a patch")
            if "$patch" in value:
                raise Decline("$patch inside a map")
            _merge_map(res, current, value, sub)
        elif isinstance(value, list):
            if not isinstance(current, list):
                raise Decline("list over non-list")
            dest[key] = _merge_list(res, current, value, sub)
        else:
            if isinstance(current, (dict, list)):
                raise Decline("scalar over a container")
            _overwrite(res, dest, key, value)


def _merge_list(res: _Res, dest: list[Any], patch: list[Any],
                path: tuple[str, ...]) -> list[Any]:
    """kyaml walk/associative_sequence.go with kustomize's MergeOptionsListPrepend: the
    elements come in the patch's order (merged with the resource's element of the same
    key, or new), then the resource's elements the patch does not name, in their order;
    `$patch: delete` drops an element."""
    rule, key = _list_rule(res, path)
    if not patch:
        raise Decline("empty list in a patch")
    if rule == "replace":
        _check_new(patch)
        return copy.deepcopy(patch)
    assert key is not None
    if not all(isinstance(d, dict) and isinstance(d.get(key), str) for d in dest):
        raise Decline("list element without its merge key")
    by_key = {d[key]: d for d in dest}
    if len(by_key) != len(dest):
        raise Decline("duplicate merge keys")
    out: list[Any] = []
    seen: set[str] = set()
    for item in patch:
        if not isinstance(item, dict) or not isinstance(item.get(key), str):
            raise Decline("patch element without its merge key")
        k = item[key]
        if k in seen:
            raise Decline("duplicate merge key in the patch")
        seen.add(k)
        directive = item.get("$patch")
        if directive is not None:
            if directive != "delete" or set(item) != {key, "$patch"}:
                raise Decline("$patch in a list element")
            continue
        if k in by_key:
            _merge_map(res, by_key[k], item, (*path, "*"))
            out.append(by_key[k])
        else:
            _check_new(item)
            out.append(copy.deepcopy(item))
    out += [d for d in dest if d[key] not in seen]
    return out


# --- patches and patchesStrategicMerge ----------------------------------------------------


def _patch_documents(text: str) -> list[dict[str, Any]]:
    """The strategic-merge patches of a patch text, or Decline (a JSON 6902 patch, or
    anything else)."""
    docs = [d for d in _parse_stream(text) if d is not None]
    if not docs:
        raise Decline("empty patch")
    out: list[dict[str, Any]] = []
    for d in docs:
        if not isinstance(d, dict):
            raise Decline("not a strategic-merge patch (JSON 6902?)")
        _check_keys(d)
        _patch_id(d)
        out.append(d)
    return out


def _patch_id(patch: dict[str, Any]) -> tuple[str, str, str, str, str]:
    api, kind = patch.get("apiVersion"), patch.get("kind")
    meta = patch.get("metadata")
    if not isinstance(api, str) or not isinstance(kind, str) or not isinstance(meta, dict) or \
            not isinstance(meta.get("name"), str):
        raise Decline("patch without apiVersion, kind or name")
    ns = meta.get("namespace", "")
    if not isinstance(ns, str):
        raise Decline("odd namespace")
    g, v = _group_version(api)
    return g, v, kind, meta["name"], _effective_ns(ns)


def _get_by_id(resources: list[_Res], patch: dict[str, Any]) -> _Res:
    """resWrangler.GetById(patch.OrgId()): exactly one resource whose current or previous
    id equals the patch's."""
    g, v, kind, name, ns = _patch_id(patch)
    matches = [
        r for r in resources
        if r.group == g and r.version == v and r.kind == kind
        and _effective_ns(r.namespace) == ns and (name == r.name or name in r.prev_names)
    ]
    if len(matches) != 1:
        raise Decline("patch matches no resource, or several")
    return matches[0]


def _apply(resources: list[_Res], targets: list[_Res], patch: dict[str, Any],
           with_target: bool) -> list[_Res]:
    deleted: set[int] = set()
    for r in targets:
        p = copy.deepcopy(patch)
        if with_target:
            # PatchTransformer: the patch takes the target's name, namespace and gvk.
            p["apiVersion"] = r.api_version
            p["kind"] = r.kind
        if not _smp(r, p):
            deleted.add(id(r))
    return [r for r in resources if id(r) not in deleted]


def _patches_strategic_merge(resources: list[_Res], entries: Any,
                             directory: Path) -> list[_Res]:
    if not isinstance(entries, list):
        raise Decline("patchesStrategicMerge is not a list")
    loaded: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, str):
            raise Decline("odd patchesStrategicMerge entry")
        # PatchStrategicMergeTransformer.Config: an entry that parses as resources is an
        # inline patch, anything else a file path.
        inline = _inline_patch(entry)
        if inline is not None:
            loaded += inline
        else:
            loaded += _patch_documents(_read_text(_load_file(Path(entry), directory)))
    for patch in loaded:
        target = _get_by_id(resources, patch)
        resources = _apply(resources, [target], patch, with_target=False)
    return resources


def _inline_patch(entry: str) -> list[dict[str, Any]] | None:
    try:
        docs = [d for d in _parse_stream(entry) if d is not None]
    except Decline:
        return None
    if docs and all(isinstance(d, dict) for d in docs):
        return _patch_documents(entry)
    if any(isinstance(d, (dict, list)) for d in docs):
        raise Decline("odd inline patch")
    return None


_TARGET_FIELDS = {"group", "version", "kind", "name", "namespace", "labelSelector",
                  "annotationSelector"}
# RE2 and Python's re agree on this much.
_SAFE_REGEX = re.compile(r"^[A-Za-z0-9._\-*+?|()\[\]^$ /:]*$")


def _anchored(pattern: Any) -> re.Pattern[str] | None:
    """api/types/selector.go NewSelectorRegex: `^(?:re)$`; empty matches anything."""
    if pattern is None or pattern == "":
        return None
    if not isinstance(pattern, str) or not _SAFE_REGEX.match(pattern):
        raise Decline("selector regex")
    return re.compile("^(?:" + pattern + ")$")


def _select(resources: list[_Res], target: dict[str, Any]) -> list[_Res]:
    """resWrangler.Select."""
    if not set(target) <= _TARGET_FIELDS:
        raise Decline("target fields")
    g, v, k = (_anchored(target.get(f)) for f in ("group", "version", "kind"))
    name = _anchored(target.get("name"))
    ns = _anchored(target.get("namespace"))
    if ns is not None:
        raise Decline("target namespace")
    labels = _parse_selector(target.get("labelSelector"))
    annotations = _parse_selector(target.get("annotationSelector"))
    out: list[_Res] = []
    for r in resources:
        if name is not None and not (name.match(r.org_name) or name.match(r.name)):
            continue
        if g is not None and not g.match(r.group):
            continue
        if v is not None and not v.match(r.version):
            continue
        if k is not None and not k.match(r.kind):
            continue
        if not _selector_matches(labels, r.data["metadata"].get("labels")):
            continue
        if not _selector_matches(annotations, r.data["metadata"].get("annotations")):
            continue
        out.append(r)
    return out


_Requirement = tuple[str, str, frozenset[str]]
_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[-A-Za-z0-9_.]*"
_REQ = re.compile(
    rf"^\s*(?:(?P<not>!)\s*(?P<nkey>{_KEY})"
    rf"|(?P<key>{_KEY})\s*(?:(?P<op>==|!=|=)\s*(?P<val>{_VALUE})"
    rf"|\s+(?P<setop>in|notin)\s*\((?P<set>[^()]*)\))?)\s*$")


def _parse_selector(selector: Any) -> list[_Requirement] | None:
    """k8s.io/apimachinery labels.Parse, for the plain forms."""
    if selector is None or selector == "":
        return None
    if not isinstance(selector, str):
        raise Decline("selector")
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(selector):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(selector[start:i])
            start = i + 1
    parts.append(selector[start:])
    reqs: list[_Requirement] = []
    for part in parts:
        m = _REQ.match(part)
        if m is None:
            raise Decline("selector syntax")
        if m.group("not"):
            reqs.append((m.group("nkey"), "!", frozenset()))
        elif m.group("op"):
            op = "=" if m.group("op") in ("=", "==") else "!="
            reqs.append((m.group("key"), op, frozenset({m.group("val")})))
        elif m.group("setop"):
            values = frozenset(v.strip() for v in m.group("set").split(","))
            if any(not re.fullmatch(_VALUE, v) for v in values):
                raise Decline("selector values")
            reqs.append((m.group("key"), m.group("setop"), values))
        else:
            reqs.append((m.group("key"), "exists", frozenset()))
    return reqs


def _selector_matches(reqs: list[_Requirement] | None, labels: Any) -> bool:
    if reqs is None:
        return True
    have = labels if isinstance(labels, dict) else {}
    for key, op, values in reqs:
        present = key in have
        value = have.get(key)
        if not present or isinstance(value, str):
            pass
        else:
            raise Decline("non-string label")
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
        if op in ("=", "in") and (not present or value not in values):
            return False
        if op in ("!=", "notin") and present and value in values:
            return False
    return True


def _patches(resources: list[_Res], entries: Any, directory: Path) -> list[_Res]:
    if not isinstance(entries, list):
        raise Decline("patches is not a list")
    for entry in entries:
        if not isinstance(entry, dict) or not set(entry) <= {"path", "patch", "target"}:
            raise Decline("patches entry outside the subset (options?)")
        path, inline = entry.get("path"), entry.get("patch")
        if (path is None) == (inline is None):
            raise Decline("patch and path")
        if path is not None:
            if not isinstance(path, str):
                raise Decline("odd path")
            text = _read_text(_load_file(Path(path), directory))
        else:
            if not isinstance(inline, str):
                raise Decline("odd patch")
            text = inline
        docs = _patch_documents(text)
        target = entry.get("target")
        if target is None:
            if any(p.get("$patch") == "delete" for p in docs[:-1]):
                # kustomize v5.5 keeps the emptied object and crashes (nil pointer) looking
                # up the entry's next patch
                raise Decline("a deleting patch before another in one entry")
            for patch in docs:
                # PatchTransformer without target: GetById(patch.OrgId()) per patch.
                hit = _get_by_id(resources, patch)
                resources = _apply(resources, [hit], patch, with_target=False)
        else:
            if not isinstance(target, dict):
                raise Decline("odd target")
            if len(docs) > 1:
                # kustomize: "Multiple Strategic-Merge Patches in one `patches` entry is
                # not allowed to set `patches.target` field"
                raise Decline("several patches with a target")
            selected = _select(resources, target)
            for patch in docs:
                live = [r for r in selected if any(r is x for x in resources)]
                resources = _apply(resources, live, patch, with_target=True)
    return resources


# --- name references ----------------------------------------------------------------------

# api/konfig/builtinpluginconsts/namereference.go: (referral group, version, kind) ->
# referrer field specs (path, group, version, kind).
_NAMEREF_TABLE = """
Deployment||:spec/scaleTargetRef/name|||HorizontalPodAutoscaler
ReplicationController||:spec/scaleTargetRef/name|||HorizontalPodAutoscaler
ReplicaSet||:spec/scaleTargetRef/name|||HorizontalPodAutoscaler
StatefulSet||:spec/scaleTargetRef/name|||HorizontalPodAutoscaler
ConfigMap||v1:spec/volumes/configMap/name||v1|Pod
ConfigMap||v1:spec/containers/env/valueFrom/configMapKeyRef/name||v1|Pod
ConfigMap||v1:spec/initContainers/env/valueFrom/configMapKeyRef/name||v1|Pod
ConfigMap||v1:spec/containers/envFrom/configMapRef/name||v1|Pod
ConfigMap||v1:spec/initContainers/envFrom/configMapRef/name||v1|Pod
ConfigMap||v1:spec/volumes/projected/sources/configMap/name||v1|Pod
@WORKLOADS ConfigMap||v1:spec/template/spec/volumes/configMap/name
@WORKLOADS ConfigMap||v1:spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
@WORKLOADS ConfigMap||v1:spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
@WORKLOADS ConfigMap||v1:spec/template/spec/containers/envFrom/configMapRef/name
@WORKLOADS ConfigMap||v1:spec/template/spec/initContainers/envFrom/configMapRef/name
@WORKLOADS ConfigMap||v1:spec/template/spec/volumes/projected/sources/configMap/name
ConfigMap||v1:template/spec/volumes/configMap/name|||PodTemplate
ConfigMap||v1:template/spec/containers/env/valueFrom/configMapKeyRef/name|||PodTemplate
ConfigMap||v1:template/spec/initContainers/env/valueFrom/configMapKeyRef/name|||PodTemplate
ConfigMap||v1:template/spec/containers/envFrom/configMapRef/name|||PodTemplate
ConfigMap||v1:template/spec/initContainers/envFrom/configMapRef/name|||PodTemplate
ConfigMap||v1:template/spec/volumes/projected/sources/configMap/name|||PodTemplate
ConfigMap||v1:spec/jobTemplate/spec/template/spec/volumes/configMap/name|||CronJob
ConfigMap||v1:spec/jobTemplate/spec/template/spec/volumes/projected/sources/configMap/name|||CronJob
ConfigMap||v1:spec/jobTemplate/spec/template/spec/containers/env/valueFrom/configMapKeyRef/name|||CronJob
ConfigMap||v1:spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name|||CronJob
ConfigMap||v1:spec/jobTemplate/spec/template/spec/containers/envFrom/configMapRef/name|||CronJob
ConfigMap||v1:spec/jobTemplate/spec/template/spec/initContainers/envFrom/configMapRef/name|||CronJob
ConfigMap||v1:spec/configSource/configMap|||Node
ConfigMap||v1:rules/resourceNames|||Role
ConfigMap||v1:rules/resourceNames|||ClusterRole
ConfigMap||v1:metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap|||Ingress
Secret||v1:spec/volumes/secret/secretName||v1|Pod
Secret||v1:spec/containers/env/valueFrom/secretKeyRef/name||v1|Pod
Secret||v1:spec/initContainers/env/valueFrom/secretKeyRef/name||v1|Pod
Secret||v1:spec/containers/envFrom/secretRef/name||v1|Pod
Secret||v1:spec/initContainers/envFrom/secretRef/name||v1|Pod
Secret||v1:spec/imagePullSecrets/name||v1|Pod
Secret||v1:spec/volumes/projected/sources/secret/name||v1|Pod
@WORKLOADS Secret||v1:spec/template/spec/volumes/secret/secretName
@WORKLOADS Secret||v1:spec/template/spec/containers/env/valueFrom/secretKeyRef/name
@WORKLOADS Secret||v1:spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
@WORKLOADS Secret||v1:spec/template/spec/containers/envFrom/secretRef/name
@WORKLOADS Secret||v1:spec/template/spec/initContainers/envFrom/secretRef/name
@WORKLOADS Secret||v1:spec/template/spec/imagePullSecrets/name
@WORKLOADS Secret||v1:spec/template/spec/volumes/projected/sources/secret/name
Secret||v1:template/spec/volumes/secret/secretName|||PodTemplate
Secret||v1:template/spec/containers/env/valueFrom/secretKeyRef/name|||PodTemplate
Secret||v1:template/spec/initContainers/env/valueFrom/secretKeyRef/name|||PodTemplate
Secret||v1:template/spec/containers/envFrom/secretRef/name|||PodTemplate
Secret||v1:template/spec/initContainers/envFrom/secretRef/name|||PodTemplate
Secret||v1:template/spec/imagePullSecrets/name|||PodTemplate
Secret||v1:template/spec/volumes/projected/sources/secret/name|||PodTemplate
Secret||v1:spec/jobTemplate/spec/template/spec/volumes/secret/secretName|||CronJob
Secret||v1:spec/jobTemplate/spec/template/spec/volumes/projected/sources/secret/name|||CronJob
Secret||v1:spec/jobTemplate/spec/template/spec/containers/env/valueFrom/secretKeyRef/name|||CronJob
Secret||v1:spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name|||CronJob
Secret||v1:spec/jobTemplate/spec/template/spec/containers/envFrom/secretRef/name|||CronJob
Secret||v1:spec/jobTemplate/spec/template/spec/initContainers/envFrom/secretRef/name|||CronJob
Secret||v1:spec/jobTemplate/spec/template/spec/imagePullSecrets/name|||CronJob
Secret||v1:spec/tls/secretName|||Ingress
Secret||v1:metadata/annotations/ingress.kubernetes.io\\/auth-secret|||Ingress
Secret||v1:metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret|||Ingress
Secret||v1:metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret|||Ingress
Secret||v1:spec/tls/secretName|||Ingress
Secret||v1:imagePullSecrets/name|||ServiceAccount
Secret||v1:parameters/secretName|||StorageClass
Secret||v1:parameters/adminSecretName|||StorageClass
Secret||v1:parameters/userSecretName|||StorageClass
Secret||v1:parameters/secretRef|||StorageClass
Secret||v1:rules/resourceNames|||Role
Secret||v1:rules/resourceNames|||ClusterRole
Secret||v1:spec/template/spec/containers/env/valueFrom/secretKeyRef/name|serving.knative.dev|v1|Service
Secret||v1:spec/azureFile/secretName|||PersistentVolume
Service||v1:spec/serviceName|apps||StatefulSet
Service||v1:spec/rules/http/paths/backend/serviceName|||Ingress
Service||v1:spec/backend/serviceName|||Ingress
Service||v1:spec/rules/http/paths/backend/service/name|||Ingress
Service||v1:spec/defaultBackend/service/name|||Ingress
Service||v1:spec/service/name|apiregistration.k8s.io||APIService
Service||v1:webhooks/clientConfig/service|admissionregistration.k8s.io||ValidatingWebhookConfiguration
Service||v1:webhooks/clientConfig/service|admissionregistration.k8s.io||MutatingWebhookConfiguration
Role|rbac.authorization.k8s.io|:roleRef/name|rbac.authorization.k8s.io||RoleBinding
ClusterRole|rbac.authorization.k8s.io|:roleRef/name|rbac.authorization.k8s.io||RoleBinding
ClusterRole|rbac.authorization.k8s.io|:roleRef/name|rbac.authorization.k8s.io||ClusterRoleBinding
ServiceAccount||v1:subjects|rbac.authorization.k8s.io||RoleBinding
ServiceAccount||v1:subjects|rbac.authorization.k8s.io||ClusterRoleBinding
ServiceAccount||v1:spec/serviceAccountName|||Pod
ServiceAccount||v1:spec/template/spec/serviceAccountName|||StatefulSet
ServiceAccount||v1:spec/template/spec/serviceAccountName|||Deployment
ServiceAccount||v1:spec/template/spec/serviceAccountName|||ReplicationController
ServiceAccount||v1:spec/jobTemplate/spec/template/spec/serviceAccountName|||CronJob
ServiceAccount||v1:spec/template/spec/serviceAccountName|||Job
ServiceAccount||v1:spec/template/spec/serviceAccountName|||DaemonSet
PersistentVolumeClaim||v1:spec/volumes/persistentVolumeClaim/claimName|||Pod
PersistentVolumeClaim||v1:spec/template/spec/volumes/persistentVolumeClaim/claimName|||StatefulSet
PersistentVolumeClaim||v1:spec/template/spec/volumes/persistentVolumeClaim/claimName|||Deployment
PersistentVolumeClaim||v1:spec/template/spec/volumes/persistentVolumeClaim/claimName|||ReplicationController
PersistentVolumeClaim||v1:spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName|||CronJob
PersistentVolumeClaim||v1:spec/template/spec/volumes/persistentVolumeClaim/claimName|||Job
PersistentVolumeClaim||v1:spec/template/spec/volumes/persistentVolumeClaim/claimName|||DaemonSet
PersistentVolume||v1:spec/volumeName|||PersistentVolumeClaim
PersistentVolume||v1:rules/resourceNames|||ClusterRole
StorageClass|storage.k8s.io|v1:spec/storageClassName|||PersistentVolume
StorageClass|storage.k8s.io|v1:spec/storageClassName|||PersistentVolumeClaim
StorageClass|storage.k8s.io|v1:spec/volumeClaimTemplates/spec/storageClassName|||StatefulSet
PriorityClass|scheduling.k8s.io|v1:spec/priorityClassName|||Pod
PriorityClass|scheduling.k8s.io|v1:spec/template/spec/priorityClassName|||StatefulSet
PriorityClass|scheduling.k8s.io|v1:spec/template/spec/priorityClassName|||Deployment
PriorityClass|scheduling.k8s.io|v1:spec/template/spec/priorityClassName|||ReplicationController
PriorityClass|scheduling.k8s.io|v1:spec/jobTemplate/spec/template/spec/priorityClassName|||CronJob
PriorityClass|scheduling.k8s.io|v1:spec/template/spec/priorityClassName|||Job
PriorityClass|scheduling.k8s.io|v1:spec/template/spec/priorityClassName|||DaemonSet
IngressClass|networking.k8s.io/v1|v1:spec/ingressClassName|||Ingress
"""
# (namereference.go lists Ingress spec/tls/secretName twice, so kustomize fixes that field
# twice: with Secrets `a` and `p-a` and namePrefix `p-`, `secretName: a` becomes `p-p-a`.
# The table keeps both rows.)
# `@WORKLOADS`: the same field spec for each of these kinds, in the table's order.
_WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job")


@dataclass(frozen=True, slots=True)
class _Gvk:
    group: str
    version: str
    kind: str


@dataclass(frozen=True, slots=True)
class _NameRef:
    referral: _Gvk
    path: tuple[str, ...]
    referrer: _Gvk


@cache
def _nameref_specs() -> tuple[_NameRef, ...]:
    """The table, in its order, grouped by referral as namereference.go lists them."""
    rows: list[tuple[str, _NameRef]] = []
    for line in _NAMEREF_TABLE.strip().splitlines():
        workloads = line.startswith("@WORKLOADS ")
        if workloads:
            line = line[len("@WORKLOADS "):]
        head, _, rest = line.partition(":")
        kind, group, version = head.split("|")
        referral = _Gvk(group, version, kind)
        if workloads:
            for wk in _WORKLOAD_KINDS:
                rows.append((wk, _NameRef(referral, _split_path(rest), _Gvk("", "", wk))))
            continue
        path, rgroup, rversion, rkind = rest.split("|")
        rows.append((rkind, _NameRef(referral, _split_path(path),
                                     _Gvk(rgroup, rversion, rkind))))
    # builtinconfig.TransformerConfig sorts the nameReference entries (nbrSlice, by
    # resid.Gvk.IsLessThan: the legacy kind order, then "group_version_kind"), so the
    # referrals are visited in that order, not namereference.go's: it matters where one
    # field refers to several kinds (HPA scaleTargetRef: Deployment, StatefulSet,
    # ReplicaSet, ReplicationController; a name the first renames is not matched again).
    # Within one referral the fields differ, so the @WORKLOADS expansion order does not
    # matter.
    out: list[_NameRef] = []
    for referral in sorted(dict.fromkeys(r.referral for _, r in rows), key=_gvk_order):
        out += [r for _, r in rows if r.referral == referral]
    return tuple(out)


def _gvk_order(gvk: _Gvk) -> tuple[int, str]:
    """resid.Gvk.IsLessThan as a sort key."""
    return (_TYPE_ORDER.get(gvk.kind, 0),
            "_".join((gvk.group or "~G", gvk.version or "~V", gvk.kind or "~K")))


def _split_path(path: str) -> tuple[str, ...]:
    """types.FieldSpec.PathSlice: `/` separates, `\\/` is a literal slash."""
    parts = re.split(r"(?<!\\)/", path)
    return tuple(p.replace("\\/", "/") for p in parts)


def _selected(r: _Res, gvk: _Gvk) -> bool:
    return _gvk_selected(r, gvk.group, gvk.version, gvk.kind)


def _fix_name_references(resources: list[_Res]) -> None:
    """FixBackReferences: the nameReference transformer over the whole output.

    Declines where namespaces would make kustomize's candidate sets differ from "all":
    every namespaced object must share one effective namespace."""
    if not any(r.prev_names for r in resources):
        return  # no name changed: every reference stays as it is (PrevIds are empty)
    spaces = {_effective_ns(r.namespace) for r in resources if not _cluster_scoped(r)}
    if len(spaces) > 1:
        raise Decline("several namespaces")
    for r in resources:
        for spec in _nameref_specs():
            if not _selected(r, spec.referrer):
                continue
            referral = spec.referral
            if spec.path[-2:] == ("roleRef", "name"):
                referral = _role_ref_gvk(r, referral)
            _walk_ref(r.data, list(spec.path), resources, referral)


def _role_ref_gvk(r: _Res, referral: _Gvk) -> _Gvk:
    """nameref.Filter.roleRefFilter: a roleRef/name only refers to the kind its roleRef
    names (candidates must match both the table's referral and roleRef's group/kind)."""
    ref = r.data.get("roleRef")
    if not isinstance(ref, dict) or "apiGroup" not in ref or "kind" not in ref:
        return referral
    group, kind = ref["apiGroup"], ref["kind"]
    if not isinstance(group, str) or not isinstance(kind, str):
        raise Decline("odd roleRef")
    # resid.Gvk.IsSelected: an empty apiGroup or kind in roleRef selects any
    if (referral.group and group and group != referral.group) or \
            (referral.kind and kind and kind != referral.kind):
        return _Gvk("\0", "\0", "\0")  # selects nothing
    return _Gvk(group or referral.group, referral.version, kind or referral.kind)


#: (group, kind) kustomize v5.5 takes as cluster-scoped, checked with kubectl at version v1
#: (its schema decides, by group and kind: `x.io/v1 Node`, `v1 StorageClass` or
#: `flowcontrol.apiserver.k8s.io/v1 FlowSchema` are namespaced to it).
_CLUSTER_SCOPED = {
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"), ("apiregistration.k8s.io", "APIService"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("storage.k8s.io", "StorageClass"), ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
}
#: (group, kind) it takes as namespaced, checked the same way.
_NAMESPACED = {
    ("", k) for k in ("ConfigMap", "Secret", "ServiceAccount", "Service", "Pod", "PodTemplate",
                      "PersistentVolumeClaim", "ReplicationController", "Endpoints",
                      "LimitRange", "ResourceQuota")
} | {("apps", k) for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")} | {
    ("batch", "Job"), ("batch", "CronJob"), ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"), ("networking.k8s.io", "NetworkPolicy"),
    ("networking.k8s.io", "Ingress"), ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"), ("coordination.k8s.io", "Lease"),
}
_K8S_GROUPS = frozenset({"", "apps", "batch", "policy", "autoscaling", "extensions"})


def _scope(r: _Res) -> str:
    """"cluster", "namespaced" (as kustomize sees it), or "unknown": a Kubernetes group's
    kind or version not checked here. Kinds of other groups (custom resources) are
    namespaced to kustomize."""
    gk = (r.group, r.kind)
    if gk in _CLUSTER_SCOPED:
        return "cluster" if r.version == "v1" else "unknown"
    if gk in _NAMESPACED:
        return "namespaced"
    if r.group in _K8S_GROUPS or r.group == "k8s.io" or r.group.endswith(".k8s.io"):
        return "unknown"
    return "namespaced"


def _cluster_scoped(r: _Res) -> bool:
    """Only kinds certainly cluster-scoped: for _fix_name_references, taking one kustomize
    sees as cluster-scoped for a namespaced one can only make it decline more."""
    return _scope(r) == "cluster"


def _walk_ref(node: Any, path: list[str], resources: list[_Res], referral: _Gvk) -> None:
    """fieldspec.Filter (no creation) leading to nameref.Filter.set."""
    if not path:
        _set_ref(node, resources, referral)
        return
    if node is None:
        return
    if isinstance(node, list):
        for item in node:
            _walk_ref(item, path, resources, referral)
        return
    if not isinstance(node, dict):
        raise Decline("expected sequence or mapping node")
    head = path[0]
    if head not in node:
        return
    child = node[head]
    if len(path) == 1:
        if child is None:
            return
        if isinstance(child, str):
            new = _select_referral(child, resources, referral)
            if new is not None:
                node[head] = new
            return
    _walk_ref(child, path[1:], resources, referral)


def _set_ref(node: Any, resources: list[_Res], referral: _Gvk) -> None:
    if node is None:
        return
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, str):
                new = _select_referral(item, resources, referral)
                if new is not None:
                    node[i] = new
            elif isinstance(item, dict):
                _set_mapping(item, resources, referral)
            elif item is not None:
                raise Decline("odd element on a name reference path")
        return
    if isinstance(node, dict):
        _set_mapping(node, resources, referral)
        return
    raise Decline("non-string scalar on a name reference path")


def _set_mapping(node: dict[str, Any], resources: list[_Res], referral: _Gvk) -> None:
    """nameref.Filter.setMapping (RoleBinding subjects, webhook clientConfig service)."""
    if "name" not in node:
        raise Decline("no name field")
    old = node["name"]
    if not isinstance(old, str):
        raise Decline("odd name")
    candidates = _candidates(old, resources, referral)
    if not candidates:
        return
    if "namespace" in node:
        raise Decline("namespaced reference to a renamed object")
    if len(candidates) > 1:
        raise Decline("several referrals")
    hit = candidates[0]
    if hit.name == old and hit.namespace == "":
        return
    node["name"] = hit.name
    if hit.namespace:
        node["namespace"] = hit.namespace


def _candidates(old: str, resources: list[_Res], referral: _Gvk) -> list[_Res]:
    """previousNameMatches + previousIdSelectedByGvk (PrevIds: names before each rename)."""
    return [r for r in resources if old in r.prev_names and _selected(r, referral)]


def _select_referral(old: str, resources: list[_Res], referral: _Gvk) -> str | None:
    candidates = _candidates(old, resources, referral)
    if not candidates:
        return None
    if len(candidates) > 1:
        raise Decline("several referrals")  # kustomize sieves by prefix/suffix context
    return candidates[0].name


# --- output order -------------------------------------------------------------------------

# api/builtins/SortOrderTransformer.go (legacy order: orderFirst, orderLast).
_ORDER_FIRST = (
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
    "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
    "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
    "PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
    "StatefulSet", "CronJob", "PodDisruptionBudget",
)
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_TYPE_ORDER = {k: i - len(_ORDER_FIRST) for i, k in enumerate(_ORDER_FIRST)} | \
    {k: i + 1 for i, k in enumerate(_ORDER_LAST)}


def _gvk_sort_string(r: _Res) -> str:
    return "_".join((r.group or "~G", r.version or "~V", r.kind or "~K"))


class _SortKey:
    """legacyIDSorter.Less."""

    __slots__ = ("r",)

    def __init__(self, r: _Res) -> None:
        self.r = r

    def __lt__(self, other: _SortKey) -> bool:
        a, b = self.r, other.r
        if (a.group, a.version, a.kind) != (b.group, b.version, b.kind):
            ia, ib = _TYPE_ORDER.get(a.kind, 0), _TYPE_ORDER.get(b.kind, 0)
            if ia != ib:
                return ia < ib
            if a.kind == "Namespace" and b.kind == "Namespace" and (not a.group or not b.group):
                return _gvk_sort_string(a) > _gvk_sort_string(b)
            return _gvk_sort_string(a) < _gvk_sort_string(b)
        return _id_sort_string(a) < _id_sort_string(b)


def _id_sort_string(r: _Res) -> str:
    return (r.namespace or "~X") + "|" + (r.name or "~N")


# --- output -------------------------------------------------------------------------------


class _Dumper(yaml.CSafeDumper):
    """Quotes every string the project's loader (go-yaml v2 rules) would not read back as
    that string: besides PyYAML's own, `y`/`Y`/`n`/`N`."""


_Dumper.yaml_implicit_resolvers = {k: list(v) for k, v in
                                   yaml.CSafeDumper.yaml_implicit_resolvers.items()}
for _first in "yYnN":
    _Dumper.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$")))


def _represent_str(dumper: _Dumper, value: str) -> yaml.Node:
    """Multi-line strings as literal blocks, as kustomize writes them (so that lines in the
    rendered stream, which findings point at, stay close to kubectl's)."""
    if "\n" in value and not value.startswith(" ") and not any(
            line != line.rstrip() for line in value.split("\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Shared, lambda dumper, value: _represent_str(dumper, str(value)))


def _dump(objects: list[dict[str, Any]]) -> str:
    """The stream, keys sorted as kustomize's output sorts them (it goes through JSON)."""
    return "---\n".join(
        yaml.dump(o, Dumper=_Dumper, sort_keys=True, allow_unicode=True, width=80)
        for o in objects)
