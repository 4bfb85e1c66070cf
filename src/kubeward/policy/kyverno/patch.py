"""`mutate` rules: `patchStrategicMerge` with Kyverno's anchors, and `patchesJson6902`.

Strategic merge follows kyverno `pkg/engine/mutate/patch/strategicPreprocessing.go` and
`strategicMergePatch.go`:

* anchors are resolved against the resource first (`PreProcessPattern`, `walkMap`):
  `+(k)` (add if absent) is dropped when the resource has `k` and renamed to `k` otherwise;
  then global `<(k)` and conditional `(k)` anchors are checked with the validate engine -
  an absent key or a mismatch skips the whole patch (a conditional anchor whose value holds
  `+()` anchors adds instead of checking); in a list of maps (`processListOfMaps`) an
  element with anchors is tried on every resource element, each element it holds for adds
  a copy without anchors named like that element (elements without a `name` get nothing),
  and a global anchor skips the rule only when it holds for no element;
* `deleteConditionElements` then drops what the anchors leave: condition-anchored scalars,
  list elements with anchors, and maps or lists that end up empty (as upstream, an empty
  map such as `emptyDir: {}` in a patch is dropped too); anchored maps with plain content
  keep that content under the plain key;
* the merge is kyaml's strategic merge (`merge2`, list items appended): maps merge
  recursively, `null` deletes a field, lists merge item by item on the API's merge key
  (`name` for containers, volumes, env ...; `containerPort`, `mountPath` ...) or kyaml's
  associative keys, other lists are replaced; `$patch: delete` / `replace` are honoured.

JSON patches are RFC 6902 (add, remove, replace, move, copy, test) with RFC 6901 pointers.
A patch that changes nothing reports `skip` ("no patches applied"), as upstream does.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeward.policy.kyverno.anchors import (
    ADD_IF_ABSENT,
    CONDITION,
    EQUALITY,
    EXISTENCE,
    GLOBAL,
    NEGATION,
    Anchor,
    parse_anchor,
)
from kubeward.policy.kyverno.pattern import match_pattern

__all__ = ["ConditionNotMet", "PatchError", "apply_json6902", "strategic_merge"]


class ConditionNotMet(Exception):
    """A conditional or global anchor of the patch does not hold: the rule skips."""


class GlobalConditionNotMet(ConditionNotMet):
    """A global anchor `<(k)` does not hold (in a list it skips the rule, not the element)."""


class PatchError(ValueError):
    """A malformed patch."""


#: `anchor.ContainsCondition`: the anchors removed from a patch before merging.
_CONDITION_LIKE = (CONDITION, GLOBAL, EQUALITY, EXISTENCE, NEGATION)


def _anchor(key: Any) -> Anchor | None:
    return parse_anchor(key) if isinstance(key, str) else None


def _has_anchors(node: Any, kinds: tuple[str, ...]) -> bool:
    """`hasAnchors`: an anchor of one of `kinds` anywhere below `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            a = _anchor(key)
            if a is not None and a.modifier in kinds:
                return True
            if value is not None and _has_anchors(value, kinds):
                return True
        return False
    if isinstance(node, list):
        return any(_has_anchors(v, kinds) for v in node)
    if isinstance(node, str):
        a = _anchor(node)
        return a is not None and a.modifier in _CONDITION_LIKE
    return False


_ANY_ANCHOR = (*_CONDITION_LIKE, ADD_IF_ABSENT)


def _add_if_absent(pattern: dict[str, Any], resource: Any) -> tuple[dict[str, Any], int]:
    """`handleAddIfNotPresentAnchor`: drop `+(k)` when the resource has `k`, else rename it."""
    out: dict[str, Any] = {}
    count = 0
    for key, value in pattern.items():
        a = _anchor(key)
        if a is not None and a.modifier == ADD_IF_ABSENT:
            count += 1
            if isinstance(resource, dict) and a.key in resource:
                continue
            out[a.key] = value
        else:
            out[key] = value
    return out, count


def _check_conditions(pattern: dict[str, Any], resource: Any, modifier: str) -> dict[str, Any]:
    """`validateConditionsInternal`: every anchor of one kind must hold on the resource."""
    out = dict(pattern)
    for key, value in pattern.items():
        a = _anchor(key)
        if a is None or a.modifier != modifier:
            continue
        if not isinstance(resource, dict) or a.key not in resource:
            raise ConditionNotMet(f'could not found "{a.key}" key in the resource')
        if isinstance(value, dict):
            processed, count = _add_if_absent(value, resource[a.key])
            if count:
                out[key] = processed
                continue
        err = match_pattern(resource[a.key], value)
        if err is not None:
            raise ConditionNotMet(err.message)
    return out


def _walk(pattern: Any, resource: Any) -> Any:
    """`preProcessRecursive`."""
    if isinstance(pattern, dict):
        return _walk_map(pattern, resource)
    if isinstance(pattern, list) and pattern and isinstance(pattern[0], dict):
        return _walk_list(pattern, resource)
    return pattern


def _walk_map(pattern: dict[str, Any], resource: Any) -> dict[str, Any]:
    """`walkMap`: add-if-absent anchors, then global and conditional anchors, then the
    plain keys, each against the same key of the resource."""
    out, _ = _add_if_absent(pattern, resource)
    try:
        out = _check_conditions(out, resource, GLOBAL)
    except ConditionNotMet as err:
        raise GlobalConditionNotMet(f"global condition failed: {err}") from None
    try:
        out = _check_conditions(out, resource, CONDITION)
    except ConditionNotMet as err:
        raise ConditionNotMet(f"condition failed: {err}") from None
    for key in list(out):
        if _anchor(key) is None:
            child = resource.get(key) if isinstance(resource, dict) else None
            out[key] = _walk(out[key], child)
    return out


def _walk_list(pattern: list[Any], resource: Any) -> list[Any]:
    """`processListOfMaps`: an element with anchors is tried on every resource element; each
    one it holds for adds a copy without anchors carrying that element's `name`."""
    out = list(pattern)
    elements = resource if isinstance(resource, list) else []
    for element in pattern:
        if not _has_anchors(element, _ANY_ANCHOR):
            continue
        has_global = _has_anchors(element, (GLOBAL,))
        global_passed = False
        last_global: GlobalConditionNotMet | None = None
        for item in elements:
            try:
                processed = _walk(copy.deepcopy(element), item)
            except GlobalConditionNotMet as err:
                last_global = err
                continue
            except ConditionNotMet:
                continue
            if has_global:
                global_passed = True
                continue
            name = item.get("name") if isinstance(item, dict) else None
            if name in (None, ""):
                continue
            empty, cleaned = _delete_anchors(processed, True)
            if empty or not isinstance(cleaned, dict):
                continue
            cleaned["name"] = name
            out.append(cleaned)
        if not global_passed and last_global is not None:
            raise last_global
    return out


def _delete_anchors(node: Any, delete_scalar: bool) -> tuple[bool, Any]:
    """`deleteAnchors`: (whether the node is to be dropped, the node without anchors)."""
    if isinstance(node, dict):
        return _delete_anchors_in_map(node)
    if isinstance(node, list):
        return _delete_anchors_in_list(node)
    return delete_scalar, node


def _delete_anchors_in_map(node: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        a = _anchor(key)
        if a is not None and a.modifier in _CONDITION_LIKE:
            drop, cleaned = _delete_anchors(value, True)
            if not drop:
                out[a.key] = cleaned  # the anchor is stripped, its content stays
            continue
        out[key] = value
    result: dict[str, Any] = {}
    for key, value in out.items():
        drop, cleaned = _delete_anchors(value, False)
        if not drop:
            result[key] = cleaned
    return not result, result


def _delete_anchors_in_list(node: list[Any]) -> tuple[bool, list[Any]]:
    out: list[Any] = []
    for element in node:
        if _has_anchors(element, _ANY_ANCHOR):
            continue
        drop, cleaned = _delete_anchors(element, False)
        if not drop:
            out.append(cleaned)
    return (not out and bool(node)), out


def _delete_condition_elements(pattern: dict[str, Any]) -> dict[str, Any]:
    """`deleteConditionElements`: the top-level pass that removes what anchors left."""
    out: dict[str, Any] = {}
    for key, value in pattern.items():
        a = _anchor(key)
        is_condition = a is not None and a.modifier in _CONDITION_LIKE
        drop, cleaned = _delete_anchors(value, is_condition)
        if not drop:
            out[key] = cleaned
    return out


def strategic_merge(resource: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply a Kyverno `patchStrategicMerge` (anchors included) to a copy of `resource`.

    Raises ConditionNotMet when the patch's anchors say it does not apply."""
    if not isinstance(patch, dict):
        raise PatchError("patchStrategicMerge must be an object")
    prepared = _delete_condition_elements(_walk_map(copy.deepcopy(patch), resource))
    result = _merge(copy.deepcopy(resource), prepared)
    if not isinstance(result, dict):
        raise PatchError("patch did not produce an object")
    return result


#: Merge keys of the Kubernetes API's lists (`patchMergeKey` in the OpenAPI schema kyaml
#: reads) and, for other lists, kyaml's `AssociativeSequenceKeys` in order.
_FIELD_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
}
_ASSOCIATIVE_KEYS = ("mountPath", "devicePath", "ip", "type", "topologyKey", "name", "containerPort")


def _merge_key(field: str | None, patch: list[Any]) -> str | None:
    if not patch or not all(isinstance(p, dict) for p in patch):
        return None
    key = _FIELD_MERGE_KEYS.get(field or "")
    if key is not None:
        return key if all(key in p or p.get("$patch") for p in patch) else None
    first = patch[0]
    return next((k for k in _ASSOCIATIVE_KEYS if k in first), None)


def _merge(target: Any, patch: Any, field: str | None = None) -> Any:
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if patch.get("$patch") == "delete":
            return None
        base = target if isinstance(target, dict) else {}
        for key, value in patch.items():
            if value is None:
                base.pop(key, None)
                continue
            merged = _merge(base.get(key), value, key)
            if merged is None and isinstance(value, dict):
                base.pop(key, None)
            else:
                base[key] = merged
        return base
    if isinstance(patch, list):
        key = _merge_key(field, patch)
        if key is not None and isinstance(target, list):
            result = [copy.deepcopy(t) for t in target]
            for item in patch:
                idx = next(
                    (
                        i
                        for i, t in enumerate(result)
                        if isinstance(t, dict) and key in item and t.get(key) == item[key]
                    ),
                    None,
                )
                if item.get("$patch") == "delete":
                    if idx is not None:
                        result.pop(idx)
                    continue
                if idx is None:
                    result.append(_merge({}, item))
                else:
                    result[idx] = _merge(result[idx], item)
            return result
        return [_merge(None, p) if isinstance(p, dict) else copy.deepcopy(p) for p in patch]
    return copy.deepcopy(patch)


# --- RFC 6902 ---------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for p in parts[:-1]:
        if isinstance(node, dict):
            if p not in node:
                raise PatchError(f"path /{'/'.join(parts)}: {p!r} not found")
            node = node[p]
        elif isinstance(node, list):
            try:
                node = node[int(p)]
            except (ValueError, IndexError):
                raise PatchError(f"path /{'/'.join(parts)}: bad index {p!r}") from None
        else:
            raise PatchError(f"path /{'/'.join(parts)}: not a container")
    return node


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path /{'/'.join(parts)} not found")
        return parent[last]
    if isinstance(parent, list):
        try:
            return parent[int(last)]
        except (ValueError, IndexError):
            raise PatchError(f"path /{'/'.join(parts)}: bad index") from None
    raise PatchError(f"path /{'/'.join(parts)}: not a container")


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise PatchError(f"bad index {last!r}") from None
            if not 0 <= i <= len(parent):
                raise PatchError(f"index {i} out of range")
            parent.insert(i, value)
    else:
        raise PatchError("add: parent is not a container")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"remove: /{'/'.join(parts)} not found")
        return parent.pop(last)
    if isinstance(parent, list):
        try:
            return parent.pop(int(last))
        except (ValueError, IndexError):
            raise PatchError(f"remove: bad index {last!r}") from None
    raise PatchError("remove: parent is not a container")


def apply_json6902(resource: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise PatchError("patchesJson6902 must be a list of operations")
    doc: Any = copy.deepcopy(resource)
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise PatchError(f"invalid operation {op!r}")
        kind, parts = op.get("op"), _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _get(doc, parts)
            if parts:
                _remove(doc, parts)
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            src = _pointer(str(op.get("from", "")))
            value = _get(doc, src)
            if kind == "move":
                _remove(doc, src)
            doc = _add(doc, parts, copy.deepcopy(value))
        elif kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise PatchError(f"test failed at {op['path']}")
        else:
            raise PatchError(f"unknown operation {kind!r}")
    if not isinstance(doc, dict):
        raise PatchError("patch did not produce an object")
    return doc
