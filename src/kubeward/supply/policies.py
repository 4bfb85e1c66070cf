"""Which image-verification policy in the input covers which image, with each tool's matching.

Recognised (each matched exactly as the tool does; sources cited per function):

- Kyverno `ClusterPolicy` / `Policy` rules with `verifyImages` (kyverno.io/v1, v2beta1):
  `imageReferences` (or the legacy `image`) minus `skipImageReferences`, matched with
  Kyverno's wildcard against Kyverno's image string; the rule must match the workload's
  kind (directly, or `Pod` through Kyverno's auto-generation for controllers) and namespace.
- Kyverno `ImageValidatingPolicy` / `NamespacedImageValidatingPolicy` (policies.kyverno.io):
  `spec.matchImageReferences[].glob`, compiled with gobwas/glob without separators
  (pkg/cel/compiler `CompileMatchImageReference`), matched against the image as written in
  the pod spec; CEL `expression` matchers are not evaluated offline and count as covering
  (with a note). `matchConstraints.resourceRules` must name pods or the workload's kind.
- Sigstore policy-controller `ClusterImagePolicy` (policy.sigstore.dev): `spec.images[].glob`
  against go-containerregistry's fully qualified name; enforced only in namespaces labelled
  `policy.sigstore.dev/include: "true"` (the webhook's default namespace selector).
- Connaisseur: the `policy` list of its configuration (a ConfigMap whose data holds a YAML
  with `validators` and `policy`, as the Helm chart renders it) and the v1 `ImagePolicy` CRD
  (`spec.rules`); the most specific matching rule decides, and a rule whose validator is
  of type `static` is an allow/deny list, not a signature check.
- Ratify: it verifies through Gatekeeper external data, so an image is covered when a
  Gatekeeper constraint calling Ratify (kind `RatifyVerification`, or any constraint whose
  template name mentions ratify) matches the workload, and a Ratify `Verifier` (or v1
  `Store`/`Policy`) is present to do the checking.

Namespace scope: a namespaced Kyverno `Policy` only sees its own namespace. Kyverno's
`match`/`exclude` blocks are honoured for kinds and namespaces (with wildcards); label
selectors are not evaluated (the policy is assumed to apply: coverage errs towards covered).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.images import ImageRef

__all__ = [
    "Coverage",
    "VerificationPolicy",
    "coverage_for",
    "find_policies",
    "ggcr_name",
    "kyverno_image",
    "kyverno_wildcard",
    "policy_controller_glob",
]



@dataclass(slots=True, frozen=True)
class VerificationPolicy:
    """One rule of one tool that verifies a set of images (a Kyverno rule, a CIP, ...)."""

    tool: str  # kyverno / policy-controller / connaisseur / ratify
    resource: Resource
    rule: str  # the rule or entry name inside the object ("" when the object is the rule)
    patterns: tuple[str, ...]
    excludes: tuple[str, ...] = ()
    mode: str = "enforce"  # enforce / audit / warn
    attestors: tuple[str, ...] = ()  # human summaries: "key", "keyless subject=… issuer=…"
    attestations: tuple[str, ...] = ()  # predicate types required
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.resource.ref}" + (f" rule {self.rule}" if self.rule else "")

    @property
    def label(self) -> str:
        """Short form for tables: `kyverno:verify-images`."""
        return f"{self.tool}:{self.resource.name}" + (f"/{self.rule}" if self.rule else "")


@dataclass(slots=True, frozen=True)
class Coverage:
    """The verdict for one image in one workload: which policies verify it, and notes."""

    policies: tuple[VerificationPolicy, ...]
    notes: tuple[str, ...] = ()

    @property
    def covered(self) -> bool:
        return bool(self.policies)


# --- glob semantics ------------------------------------------------------------------------


def kyverno_wildcard(pattern: str, s: str) -> bool:
    """Kyverno's `wildcard.Match` (ext/wildcard/match.go -> github.com/IGLOU-EU/go-wildcard/v2
    wildcard.go `Match`), ported step for step on bytes.

    `*` matches any run of characters, `/` included; `?` and `.` match any one character
    (`.` is a wildcard here!); a trailing `?` may also match nothing.
    """
    if pattern == "":
        return s == pattern
    if pattern == "*" or s == pattern:
        return True
    p, t = pattern.encode(), s.encode()
    pi = si = last = 0
    star = -1
    plen, slen = len(p), len(t)
    while si < slen:
        if pi >= plen:
            if star != -1:
                pi = star + 1
                last += 1
                si = last
                continue
            return False
        c = p[pi]
        if c in (0x3F, 0x2E):  # '?', '.'
            pass
        elif c == 0x2A:  # '*'
            star = pi
            last = si
            pi += 1
            continue
        elif c != t[si]:
            if star != -1:
                pi = star + 1
                last += 1
                si = last
                continue
            return False
        pi += 1
        si += 1
    while pi < plen:
        if p[pi] in (0x2A, 0x3F):  # '*' matches nothing; a trailing '?' may too
            pi += 1
        else:
            break
    return pi == plen


def kyverno_image(ref: ImageRef) -> str:
    """The string Kyverno matches `imageReferences` against: ImageInfo.String()
    (pkg/utils/api/image.go, pkg/utils/image/infos.go GetImageInfo).

    The default registry `docker.io` is added (addDefaultRegistry) but, unlike the runtime,
    no `library/`: `nginx` is `docker.io/nginx:latest`. A digest replaces the tag.
    """
    raw = ref.raw.strip()
    name = raw.partition("@")[0]
    last_slash, colon = name.rfind("/"), name.rfind(":")
    if colon > last_slash:
        name = name[:colon]
    first, sep, _ = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"
                   and first.lower() == first):
        name = f"docker.io/{name}"
    if ref.digest:
        return f"{name}@{ref.digest}"
    return f"{name}:{ref.tag or 'latest'}"


@lru_cache(maxsize=512)
def _cip_regex(glob: str) -> re.Pattern[str] | None:
    """policy-controller pkg/apis/glob/glob.go `Compile`: `**` is any run, `*` any run without
    `/`, `*` alone means index.docker.io/library/*, `*/*` means index.docker.io/*/*."""
    if glob == "*/*":
        glob = "index.docker.io/*/*"
    if glob == "*":
        glob = "index.docker.io/library/*"
    if not re.fullmatch(r"[a-zA-Z0-9\-_:/*.]+", glob):
        return None
    rx = glob.replace(".", r"\.").replace("**", "#").replace("*", "[^/]*").replace("#", ".*")
    return re.compile(f"^{rx}$")


def ggcr_name(ref: ImageRef) -> str:
    """go-containerregistry `name.ParseReference(image, WeakValidation).Name()`: registry
    `index.docker.io` for Docker Hub, `library/` for official images, `:latest` when no tag,
    `repo@digest` (the tag dropped) when a digest is given."""
    registry = "index.docker.io" if ref.registry == "docker.io" else ref.registry
    base = f"{registry}/{ref.repository}"
    if ref.digest:
        return f"{base}@{ref.digest}"
    return f"{base}:{ref.tag or 'latest'}"


def policy_controller_glob(glob: str, ref: ImageRef) -> bool:
    """policy-controller glob.go `Match`: the glob against the fully qualified name, then (a
    deprecated fallback kept upstream) against the image as written."""
    rx = _cip_regex(glob)
    if rx is None:
        return False
    full = ggcr_name(ref)
    if rx.match(full):
        return True
    return full != ref.raw and bool(rx.match(ref.raw))


def _gobwas(pattern: str, s: str) -> bool:
    """gobwas/glob without separators (as Connaisseur compiles it): `*` any run, `?` one
    character, `[...]` classes, `{a,b}` alternatives."""
    rx, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            rx += ".*"
        elif c == "?":
            rx += "."
        elif c == "[":
            j = pattern.find("]", i)
            if j < 0:
                rx += re.escape(c)
            else:
                body = pattern[i + 1:j]
                rx += "[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]"
                i = j
        elif c == "{":
            j = pattern.find("}", i)
            if j < 0:
                rx += re.escape(c)
            else:
                rx += "(?:" + "|".join(re.escape(a) for a in pattern[i + 1:j].split(",")) + ")"
                i = j
        else:
            rx += re.escape(c)
        i += 1
    try:
        return re.fullmatch(rx, s, re.DOTALL) is not None
    except re.error:
        return False


def _fold_host(ref: str) -> str:
    i = ref.find("/")
    if i < 0:
        return ref
    host = ref[:i]
    if not any(ch in host for ch in ".:") and host.lower() != "localhost":
        return ref
    return host.lower() + ref[i:]


def connaisseur_match(rules: Sequence[Mapping[str, Any]], image: str) -> Mapping[str, Any] | None:
    """Connaisseur's most specific matching rule (internal/config/config.go `MatchingRule`,
    internal/policy/match.go `Compare`): patterns get `*` prepended/appended when missing,
    are matched with gobwas/glob against the image as written (host lower-cased); the most
    components wins, then the longest common prefix per component, then the longest
    component."""
    image = _fold_host(image)
    best: tuple[Mapping[str, Any], int, list[int], list[int]] | None = None
    for rule in rules:
        raw = rule.get("pattern")
        if not isinstance(raw, str) or not raw:
            continue
        pattern = _fold_host(raw)
        if not pattern.startswith("*"):
            pattern = "*" + pattern
        if not pattern.endswith("*"):
            pattern += "*"
        if not _gobwas(pattern, image):
            continue
        comps = raw.split("/")
        img_comps = image.split("/")
        lengths = [len(c) for c in comps]
        prefixes = [len(_common_prefix(c, img_comps[i] if i < len(img_comps) else ""))
                    for i, c in enumerate(comps)]
        cand = (rule, len(comps), prefixes, lengths)
        if best is None or _more_specific(cand, best):
            best = cand
    return best[0] if best else None


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _more_specific(a: tuple[Any, int, list[int], list[int]],
                   b: tuple[Any, int, list[int], list[int]]) -> bool:
    if a[1] != b[1]:
        return a[1] > b[1]
    for x, y in zip(a[2], b[2], strict=False):
        if x != y:
            return x > y
    for x, y in zip(a[3], b[3], strict=False):
        if x != y:
            return x > y
    return False  # identical specificity: upstream keeps the earlier match


# --- finding policies ---------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(v for v in _list(value) if isinstance(v, str))


def _kyverno_attestors(iv: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    sets = _list(iv.get("attestors"))
    if iv.get("key") or iv.get("subject") or iv.get("issuer"):  # v1 legacy fields
        sets = [{"entries": [{"keys": {"publicKeys": iv.get("key")}} if iv.get("key") else
                             {"keyless": {"subject": iv.get("subject"),
                                          "issuer": iv.get("issuer")}}]}, *sets]
    for aset in sets:
        for entry in _list(_dict(aset).get("entries")):
            entry = _dict(entry)
            if "keys" in entry:
                keys = _dict(entry.get("keys"))
                kms = keys.get("kms")
                out.append(f"key kms={kms}" if kms else "key")
            if "keyless" in entry:
                kl = _dict(entry.get("keyless"))
                subject = kl.get("subject") or kl.get("subjectRegExp") or "*"
                issuer = kl.get("issuer") or kl.get("issuerRegExp") or "*"
                out.append(f"keyless subject={subject} issuer={issuer}")
            if "certificates" in entry:
                out.append("certificate")
    return tuple(out)


def _kyverno_mode(policy: Mapping[str, Any], iv: Mapping[str, Any]) -> str:
    action = iv.get("failureAction") or _dict(policy.get("spec")).get("validationFailureAction")
    return "audit" if isinstance(action, str) and action.lower() == "audit" else "enforce"


def _kyverno(res: Resource) -> Iterator[VerificationPolicy]:
    spec = _dict(res.obj.get("spec"))
    for rule in _list(spec.get("rules")):
        rule = _dict(rule)
        for iv in _list(rule.get("verifyImages")):
            iv = _dict(iv)
            patterns = _strs(iv.get("imageReferences")) or _strs(iv.get("image"))
            if not patterns:
                continue
            attestations = tuple(
                str(_dict(a).get("type") or _dict(a).get("predicateType"))
                for a in _list(iv.get("attestations"))
                if _dict(a).get("type") or _dict(a).get("predicateType"))
            yield VerificationPolicy(
                "kyverno", res, str(rule.get("name") or ""), patterns,
                _strs(iv.get("skipImageReferences")), _kyverno_mode(res.obj, iv),
                _kyverno_attestors(iv), attestations,
                {"match": _dict(rule.get("match")), "exclude": _dict(rule.get("exclude")),
                 "type": iv.get("type") or "Cosign"})


def _ivpol(res: Resource) -> Iterator[VerificationPolicy]:
    spec = _dict(res.obj.get("spec"))
    refs = [_dict(r) for r in _list(spec.get("matchImageReferences"))]
    globs = tuple(str(r["glob"]) for r in refs if isinstance(r.get("glob"), str))
    expressions = tuple(str(r["expression"]) for r in refs
                        if isinstance(r.get("expression"), str))
    if not (globs or expressions):
        return
    attestors: list[str] = []
    for att in _list(spec.get("attestors")):
        att = _dict(att)
        cosign = _dict(att.get("cosign"))
        if "key" in cosign:
            attestors.append("key")
        if "keyless" in cosign:
            for ident in _list(_dict(cosign.get("keyless")).get("identities")) or [{}]:
                ident = _dict(ident)
                subject = ident.get("subject") or ident.get("subjectRegExp") or "*"
                issuer = ident.get("issuer") or ident.get("issuerRegExp") or "*"
                attestors.append(f"keyless subject={subject} issuer={issuer}")
        if "notary" in att:
            attestors.append("notary")
    actions = [str(a).lower() for a in _list(spec.get("validationActions"))]
    mode = "enforce" if not actions or "deny" in actions else "audit"
    resources = {str(r).split("/")[0] for rule in _list(
        _dict(spec.get("matchConstraints")).get("resourceRules"))
        for r in _list(_dict(rule).get("resources"))}
    yield VerificationPolicy("kyverno", res, "", globs, (), mode, tuple(attestors),
                             extra={"ivpol": True, "expressions": expressions,
                                    "resources": resources})


_PLURALS = {"Pod": "pods", "Deployment": "deployments", "StatefulSet": "statefulsets",
            "DaemonSet": "daemonsets", "Job": "jobs", "CronJob": "cronjobs",
            "ReplicaSet": "replicasets", "ReplicationController": "replicationcontrollers"}


def _ivpol_covers(p: VerificationPolicy, ref: ImageRef, kind: str,
                  namespace: str | None) -> tuple[bool, str]:
    if p.resource.kind.startswith("Namespaced") and p.resource.namespace not in (None, namespace):
        return False, ""
    resources = p.extra.get("resources") or set()
    if resources and not ({"*", "pods", _PLURALS.get(kind, kind.lower() + "s")} & resources):
        return False, ""
    image = ref.raw.strip()
    if any(_gobwas(g, image) for g in p.patterns):
        return True, ""
    if p.extra.get("expressions"):
        return True, (f"{p.label} selects images with a CEL expression, not evaluated "
                      "offline: counted as covering")
    return False, ""


def _cip(res: Resource) -> Iterator[VerificationPolicy]:
    spec = _dict(res.obj.get("spec"))
    globs = tuple(g for g in (_dict(i).get("glob") for i in _list(spec.get("images")))
                  if isinstance(g, str))
    if not globs:
        return
    attestors: list[str] = []
    attestations: list[str] = []
    for auth in _list(spec.get("authorities")):
        auth = _dict(auth)
        if "key" in auth:
            attestors.append("key")
        if "keyless" in auth:
            for ident in _list(_dict(auth.get("keyless")).get("identities")) or [{}]:
                ident = _dict(ident)
                subject = ident.get("subject") or ident.get("subjectRegExp") or "*"
                issuer = ident.get("issuer") or ident.get("issuerRegExp") or "*"
                attestors.append(f"keyless subject={subject} issuer={issuer}")
        if "static" in auth:
            action = _dict(auth.get("static")).get("action")
            attestors.append(f"static {action}")
        for att in _list(auth.get("attestations")):
            pt = _dict(att).get("predicateType")
            if isinstance(pt, str):
                attestations.append(pt)
    mode = spec.get("mode") if isinstance(spec.get("mode"), str) else "enforce"
    yield VerificationPolicy("policy-controller", res, "", globs, (), str(mode),
                             tuple(attestors), tuple(attestations))


def _connaisseur_config(res: Resource) -> Mapping[str, Any] | None:
    from kubeward.inventory.yamlio import Document, load_documents

    data = _dict(res.obj.get("data"))
    for key, text in data.items():
        if not isinstance(text, str) or "policy" not in text or "validators" not in text:
            continue
        if not str(key).endswith((".yaml", ".yml")):
            continue
        docs = [d.data for d in load_documents(text) if isinstance(d, Document)]
        doc = docs[0] if docs else None
        if isinstance(doc, dict) and isinstance(doc.get("policy"), list) and \
                isinstance(doc.get("validators"), list):
            return doc
    return None


def _connaisseur(res: Resource, config: Mapping[str, Any]) -> Iterator[VerificationPolicy]:
    validators = {str(_dict(v).get("name")): _dict(v) for v in _list(config.get("validators"))}
    rules = [_dict(r) for r in _list(config.get("policy"))]
    yield VerificationPolicy(
        "connaisseur", res, "", tuple(str(r.get("pattern")) for r in rules if r.get("pattern")),
        extra={"rules": rules, "validators": validators})


def _connaisseur_crd(res: Resource) -> Iterator[VerificationPolicy]:
    rules = [_dict(r) for r in _list(_dict(res.obj.get("spec")).get("rules"))]
    if rules:
        yield VerificationPolicy(
            "connaisseur", res, "", tuple(str(r.get("pattern")) for r in rules if r.get("pattern")),
            extra={"rules": rules, "validators": {}})


def _is_ratify_constraint(res: Resource) -> bool:
    return res.api_version.startswith("constraints.gatekeeper.sh/") and \
        "ratify" in res.kind.lower()


def find_policies(inventory: Inventory) -> list[VerificationPolicy]:
    """Every image-verification policy of the input, in input order."""
    out: list[VerificationPolicy] = []
    ratify_verifiers = [r for r in inventory if r.api_version.startswith("config.ratify.")
                        and r.kind in ("Verifier", "KeyManagementProvider", "Store", "Policy")]
    for res in inventory:
        group = res.group
        if group == "kyverno.io" and res.kind in ("ClusterPolicy", "Policy"):
            out.extend(_kyverno(res))
        elif group == "policies.kyverno.io" and res.kind in (
                "ImageValidatingPolicy", "NamespacedImageValidatingPolicy"):
            out.extend(_ivpol(res))
        elif group == "policy.sigstore.dev" and res.kind == "ClusterImagePolicy":
            out.extend(_cip(res))
        elif res.kind == "ImagePolicy" and "connaisseur" in group:
            out.extend(_connaisseur_crd(res))
        elif res.kind == "ConfigMap" and "connaisseur" in (res.name + str(res.labels)).lower():
            config = _connaisseur_config(res)
            if config is not None:
                out.extend(_connaisseur(res, config))
        elif _is_ratify_constraint(res):
            verifiers = tuple(f"{v.kind}/{v.name}" for v in ratify_verifiers
                              if v.kind == "Verifier")
            out.append(VerificationPolicy(
                "ratify", res, "", ("*",),
                mode="audit" if _dict(res.obj.get("spec")).get("enforcementAction") in
                ("dryrun", "warn") else "enforce",
                attestors=verifiers, extra={"verifiers": verifiers}))
    return out


# --- coverage -----------------------------------------------------------------------------


def _kind_matches(kinds: Iterable[str], kind: str) -> bool:
    for k in kinds:
        k = k.rsplit("/", 1)[-1]
        if k == "*" or kyverno_wildcard(k, kind):
            return True
    return False


def _filter_matches(f: Mapping[str, Any], kind: str, namespace: str | None) -> bool:
    kinds = _strs(f.get("kinds"))
    if kinds and not _kind_matches(kinds, kind):
        return False
    namespaces = _strs(f.get("namespaces"))
    return not namespaces or any(kyverno_wildcard(n, namespace or "") for n in namespaces)


def _kyverno_applies(p: VerificationPolicy, kind: str, namespace: str | None) -> bool:
    if p.resource.kind == "Policy" and p.resource.namespace not in (None, namespace):
        return False
    match, exclude = _dict(p.extra.get("match")), _dict(p.extra.get("exclude"))
    anyf = [_dict(_dict(f).get("resources")) for f in _list(match.get("any"))]
    allf = [_dict(_dict(f).get("resources")) for f in _list(match.get("all"))]
    legacy = [_dict(match.get("resources"))] if "resources" in match else []
    if anyf and not any(_filter_matches(f, kind, namespace) for f in anyf):
        return False
    if allf and not all(_filter_matches(f, kind, namespace) for f in allf):
        return False
    if legacy and not _filter_matches(legacy[0], kind, namespace):
        return False
    if not (anyf or allf or legacy):
        return False
    # Exclude filters on kinds and/or namespaces (selectors and subjects are not evaluated).
    def hit(f: Mapping[str, Any]) -> bool:
        return bool(f.get("kinds") or f.get("namespaces")) and _filter_matches(f, kind, namespace)

    ex_any = [_dict(_dict(f).get("resources")) for f in _list(exclude.get("any"))]
    ex_all = [_dict(_dict(f).get("resources")) for f in _list(exclude.get("all"))]
    if any(hit(f) for f in ex_any) or (ex_all and all(hit(f) for f in ex_all)):
        return False
    return not ("resources" in exclude and hit(_dict(exclude.get("resources"))))


def _constraint_applies(res: Resource, kind: str, namespace: str | None) -> bool:
    """Gatekeeper constraint `spec.match`: kinds, namespaces, excludedNamespaces (globs with
    a trailing `*`, pkg/mutation/match and the constraint framework's namespace matching)."""
    match = _dict(_dict(res.obj.get("spec")).get("match"))
    kind_groups = _list(match.get("kinds"))
    if kind_groups:
        listed = {k for group in kind_groups for k in _strs(_dict(group).get("kinds"))}
        # A constraint on Pods sees the pods every controller creates.
        if not ({"*", "Pod", kind} & listed):
            return False

    def ns_match(patterns: tuple[str, ...]) -> bool:
        ns = namespace or ""
        return any(ns == p or (p.endswith("*") and ns.startswith(p[:-1])) or
                   (p.startswith("*") and ns.endswith(p[1:])) for p in patterns)

    namespaces = _strs(match.get("namespaces"))
    if namespaces and not ns_match(namespaces):
        return False
    return not ns_match(_strs(match.get("excludedNamespaces")))


def _namespace_opted_in(inventory: Inventory, namespace: str | None) -> bool | None:
    """policy-controller's default namespaceSelector: `policy.sigstore.dev/include: "true"`.
    None when the Namespace object is not in the input (cannot tell)."""
    if not namespace:
        return None
    ns = inventory.namespaces.get(namespace)
    if ns is None:
        return None
    return ns.labels.get("policy.sigstore.dev/include") == "true"


def coverage_for(
    policies: Sequence[VerificationPolicy],
    inventory: Inventory,
    ref: ImageRef,
    kind: str,
    namespace: str | None,
) -> Coverage:
    """Which policies verify `ref` when run by a `kind` workload in `namespace`."""
    hits: list[VerificationPolicy] = []
    notes: list[str] = []
    kimage = kyverno_image(ref)
    for p in policies:
        if p.tool == "kyverno" and p.extra.get("ivpol"):
            ok, note = _ivpol_covers(p, ref, kind, namespace)
            if note:
                notes.append(note)
            if ok:
                hits.append(p)
        elif p.tool == "kyverno":
            # The pods a controller creates are admitted as Pods: a rule that applies to
            # Pods verifies every workload's images (Kyverno's auto-generated controller
            # rules only reject earlier); a rule on the workload's own kind does too.
            if not (_kyverno_applies(p, "Pod", namespace) or
                    (kind != "Pod" and _kyverno_applies(p, kind, namespace))):
                continue
            if any(kyverno_wildcard(pat, kimage) for pat in p.patterns) and \
                    not any(kyverno_wildcard(pat, kimage) for pat in p.excludes):
                hits.append(p)
        elif p.tool == "policy-controller":
            if not any(policy_controller_glob(g, ref) for g in p.patterns):
                continue
            opted = _namespace_opted_in(inventory, namespace)
            if opted is False:
                notes.append(f"{p.label} matches but namespace {namespace} lacks the label "
                             "policy.sigstore.dev/include=true")
                continue
            hits.append(p)
        elif p.tool == "connaisseur":
            rule = connaisseur_match(p.extra.get("rules", []), ref.raw.strip())
            if rule is None:
                continue
            validator = _dict(p.extra.get("validators", {})).get(
                str(rule.get("validator") or "default"), {})
            if _dict(validator).get("type") == "static":
                notes.append(f"{p.label} rule {rule.get('pattern')} uses a static validator "
                             "(allow/deny list, no signature check)")
                continue
            hits.append(p)
        elif p.tool == "ratify":
            if not p.extra.get("verifiers"):
                notes.append(f"{p.label} calls Ratify but no Ratify Verifier is in the input")
                continue
            if _constraint_applies(p.resource, kind, namespace):
                hits.append(p)
    return Coverage(tuple(hits), tuple(dict.fromkeys(notes)))

