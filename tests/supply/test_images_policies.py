"""Image-verification policy coverage: each tool's glob semantics, and `image.not-verified`.

The glob cases come from the upstream implementations cited in kubeward.supply.policies
(Kyverno/go-wildcard, policy-controller glob.go and its glob_test.go cases, Connaisseur's
MatchingRule). The rule fixtures are also picked up by tests/test_rule_fixtures.py once the
module is in RULE_MODULES; they are run here directly so they are tested either way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kubeward.rules.supply  # noqa: F401 - registers image.not-verified
from kubeward.config import Config
from kubeward.inventory.index import Inventory
from kubeward.inventory.sources import load_paths
from kubeward.k8s.images import parse_image
from kubeward.scan import run_scan
from kubeward.supply.policies import (
    connaisseur_match,
    coverage_for,
    find_policies,
    ggcr_name,
    kyverno_image,
    kyverno_wildcard,
    policy_controller_glob,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules" / "image.not-verified"


@pytest.mark.parametrize(("pattern", "s", "expected"), [
    ("ghcr.io/acme/*", "ghcr.io/acme/team/api:1", True),  # * crosses '/'
    ("ghcr.io/acme/*", "ghcr.io/other/api:1", False),
    ("ghcr.io/acme/api:?", "ghcr.io/acme/api:1", True),
    ("ghcr.io/acme/api:1?", "ghcr.io/acme/api:1", True),  # trailing ? may match nothing
    ("ghcr.io/acme/api:1?", "ghcr.io/acme/api:123", False),
    ("ghcr.io/acme/api", "ghcrXio/acme/api", True),  # '.' is a one-character wildcard
    ("*", "anything/at:all", True),
    ("", "", True),
    ("", "x", False),
    ("docker.io/nginx:*", "docker.io/nginx:1.27", True),
    ("docker.io/library/nginx:*", "docker.io/nginx:1.27", False),
])
def test_kyverno_wildcard(pattern, s, expected):
    assert kyverno_wildcard(pattern, s) is expected


@pytest.mark.parametrize(("image", "expected"), [
    ("nginx", "docker.io/nginx:latest"),
    ("nginx:1.27", "docker.io/nginx:1.27"),
    ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
    ("ghcr.io/acme/api:1@sha256:" + "a" * 64, "ghcr.io/acme/api@sha256:" + "a" * 64),
    ("localhost:5000/x", "localhost:5000/x:latest"),
])
def test_kyverno_image_string(image, expected):
    assert kyverno_image(parse_image(image)) == expected


@pytest.mark.parametrize(("glob", "image", "expected"), [
    # Cases of policy-controller pkg/apis/glob/glob_test.go semantics.
    ("index.docker.io/library/ubuntu:**", "ubuntu", True),
    ("*", "ubuntu", True),  # "*" means index.docker.io/library/*
    ("*/*", "myuser/myapp", True),
    ("ghcr.io/acme/*", "ghcr.io/acme/api:1", True),  # ':' is not a separator
    ("ghcr.io/acme/*", "ghcr.io/acme/team/api:1", False),  # * stops at '/'
    ("ghcr.io/acme/**", "ghcr.io/acme/team/api:1", True),
    ("ghcr.io/acme/api", "ghcr.io/acme/api:1", False),  # the tag is part of the name
    ("ghcr.io/acme/api", "ghcr.io/acme/api:latest", False),  # the tag is in the name
    # ...but upstream falls back to the image as written (a deprecated leniency):
    ("ghcr.io/acme/api", "ghcr.io/acme/api", True),
    ("ghcr.io/acme/api*", "ghcr.io/acme/api", True),
    ("gcr.io/(bad)", "gcr.io/x", False),  # invalid glob matches nothing
])
def test_policy_controller_glob(glob, image, expected):
    assert policy_controller_glob(glob, parse_image(image)) is expected


def test_ggcr_name():
    assert ggcr_name(parse_image("nginx")) == "index.docker.io/library/nginx:latest"
    assert ggcr_name(parse_image("a/b:1@sha256:" + "0" * 64)) == \
        "index.docker.io/a/b@sha256:" + "0" * 64


def test_connaisseur_most_specific_rule():
    rules = [{"pattern": "*:*", "validator": "allow"},
             {"pattern": "ghcr.io/acme/*:*", "validator": "cosign"},
             {"pattern": "ghcr.io/acme/api:*", "validator": "pinned"}]
    assert connaisseur_match(rules, "ghcr.io/acme/api:1")["validator"] == "pinned"
    assert connaisseur_match(rules, "ghcr.io/acme/web:1")["validator"] == "cosign"
    assert connaisseur_match(rules, "nginx:1")["validator"] == "allow"
    assert connaisseur_match([{"pattern": "quay.io"}], "nginx") is None
    # Patterns get '*' on both ends, and the registry host is case-folded.
    assert connaisseur_match([{"pattern": "acme/api"}], "GHCR.IO/acme/api:1") is not None


def _inventory(path: Path) -> Inventory:
    loaded = load_paths([str(path)])
    assert not loaded.errors
    return Inventory(loaded.resources)


def test_kyverno_policy_scope_follows_match_and_policy_namespace(tmp_path):
    (tmp_path / "p.yaml").write_text("""
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: verify, namespace: shop}
spec:
  rules:
    - name: r
      match:
        any:
          - resources: {kinds: [Deployment]}
      exclude:
        any:
          - resources: {namespaces: ["kube-*"]}
      verifyImages:
        - imageReferences: ["*"]
          attestors: [{entries: [{keys: {publicKeys: "k"}}]}]
""")
    inv = _inventory(tmp_path)
    [policy] = find_policies(inv)
    assert policy.attestors == ("key",)
    ref = parse_image("nginx")
    assert coverage_for([policy], inv, ref, "Deployment", "shop").covered
    assert not coverage_for([policy], inv, ref, "Deployment", "other").covered  # namespaced
    assert not coverage_for([policy], inv, ref, "StatefulSet", "shop").covered  # kinds


def test_ratify_without_verifier_is_not_coverage(tmp_path):
    (tmp_path / "c.yaml").write_text("""
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: RatifyVerification
metadata: {name: ratify}
spec:
  match:
    kinds: [{apiGroups: [""], kinds: [Pod]}]
""")
    inv = _inventory(tmp_path)
    cov = coverage_for(find_policies(inv), inv, parse_image("nginx"), "Deployment", "shop")
    assert not cov.covered
    assert "no Ratify Verifier" in cov.notes[0]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_rule_fixture(path):
    report = run_scan([str(path)], Config())
    assert not report.errors, report.errors
    assert not report.warnings, report.warnings
    hits = [f for f in report.findings if f.rule.id == "image.not-verified"]
    if path.name.startswith("fire"):
        assert hits, f"did not fire on {path.name}"
        assert all(f.line >= 1 and f.message for f in hits)
    else:
        assert not hits, [h.message for h in hits]


def test_fires_on_the_uncovered_container_only():
    report = run_scan([str(FIXTURES / "fire-kyverno-init-container.yaml")], Config())
    hits = [f for f in report.findings if f.rule.id == "image.not-verified"]
    assert len(hits) == 1
    assert "quay.io/curl/curl" in hits[0].message
    assert hits[0].path[-3:] == ("initContainers", 0, "image")


def test_the_seed_verify_image_policy_is_recognised(tmp_path):
    """`kubeward generate verify-image-signature` (kubeward.generate.kyverno_sets)."""
    import yaml

    from kubeward.generate.policies import get_set

    (doc,) = get_set("verify-image-signature").build(
        {"images": "ghcr.io/acme/*", "subject": "https://github.com/acme/app/*"})
    (tmp_path / "seed.yaml").write_text(yaml.safe_dump(doc))
    inv = _inventory(tmp_path)
    [policy] = find_policies(inv)
    assert policy.tool == "kyverno"
    assert policy.attestors == ("keyless subject=https://github.com/acme/app/* "
                                "issuer=https://token.actions.githubusercontent.com",)
    assert coverage_for([policy], inv, parse_image("ghcr.io/acme/api:1"), "Deployment",
                        "shop").covered
    assert not coverage_for([policy], inv, parse_image("nginx"), "Deployment", "shop").covered


def test_kyverno_exclude_blocks(tmp_path):
    (tmp_path / "p.yaml").write_text("""
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: verify}
spec:
  rules:
    - name: r
      match:
        any:
          - resources: {kinds: [Pod]}
      exclude:
        any:
          - resources: {namespaces: ["kube-*"]}
          - resources: {kinds: [DaemonSet]}
      verifyImages:
        - image: "ghcr.io/*"
          key: "k"
""")
    inv = _inventory(tmp_path)
    [policy] = find_policies(inv)
    assert policy.attestors == ("key",)  # the v1 legacy image/key fields
    ref = parse_image("ghcr.io/a/b:1")
    assert coverage_for([policy], inv, ref, "Deployment", "shop").covered  # Pod covers pods
    assert not coverage_for([policy], inv, ref, "Deployment", "kube-system").covered
    # Excluding the DaemonSet kind does not exclude the Pods the DaemonSet creates.
    assert coverage_for([policy], inv, ref, "DaemonSet", "shop").covered


def test_ivpol_expression_matchers_count_as_covering_with_a_note(tmp_path):
    (tmp_path / "p.yaml").write_text("""
apiVersion: policies.kyverno.io/v1alpha1
kind: NamespacedImageValidatingPolicy
metadata: {name: v, namespace: shop}
spec:
  validationActions: [Audit]
  matchImageReferences:
    - expression: "ref.startsWith('ghcr.io/')"
""")
    inv = _inventory(tmp_path)
    [policy] = find_policies(inv)
    assert policy.mode == "audit"
    cov = coverage_for([policy], inv, parse_image("nginx"), "Deployment", "shop")
    assert cov.covered and "CEL expression, not evaluated" in cov.notes[0]
    assert not coverage_for([policy], inv, parse_image("nginx"), "Deployment", "other").covered
