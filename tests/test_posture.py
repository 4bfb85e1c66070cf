"""The checklist posture: statuses from real inputs, unknown handling, score bounds and monotonicity."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.config import Config
from kubeward.findings import Finding, Severity
from kubeward.inventory.index import Inventory
from kubeward.posture import ITEM_WEIGHTS, STATUSES, assess
from kubeward.report.table import render_table
from kubeward.rules.catalog import load_catalog
from kubeward.scan import ScanReport, run_scan

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
RULES = REPO / "tests" / "fixtures" / "rules"


def scan(*paths: Path) -> ScanReport:
    return run_scan([str(p) for p in paths], Config())


def statuses(report: ScanReport) -> dict[int, str]:
    return {ip.number: ip.status for ip in assess(report).items}


def test_insecure_example():
    report = scan(EXAMPLES / "insecure")
    posture = assess(report)
    assert [ip.number for ip in posture.items] == list(range(1, 14))
    got = statuses(report)
    assert got[1] == got[2] == got[3] == got[5] == "not-met"
    # no cluster, no control plane: the input cannot tell
    for n in (7, 8, 9, 10, 11, 12, 13):
        assert got[n] == "unknown"
        assert posture.item(n).score is None and posture.item(n).next_action
    pod = posture.item(3)
    assert pod.findings == sum(f.rule.checklist == 3 for f in report.active) == 11
    assert sum(pod.by_severity.values()) == pod.findings and pod.by_severity["critical"] == 1
    assert pod.worst == ("Deployment/shop/web",)
    assert "pss.baseline.privileged" in pod.next_action and "kubeward pss plan" in pod.next_action
    secrets = posture.item(2)
    assert "Secret/shop/web-secrets" in secrets.worst and len(secrets.worst) <= 5
    assert 0 <= posture.score < 100


def test_hardened_example_is_met_where_observable():
    posture = assess(scan(EXAMPLES / "hardened"))
    assert {ip.number: ip.status for ip in posture.items if ip.status != "unknown"} == {
        1: "met", 2: "met", 3: "met", 4: "met", 5: "met", 6: "partly"}
    # Digests are pinned but nothing verifies signatures: item 6 is only partly met.
    assert "verifyImages" in posture.items[5].next_action
    assert posture.score == 97


def test_signature_verification_policy_completes_item_6(tmp_path):
    policy = tmp_path / "verify.yaml"
    policy.write_text(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: verify}\n"
        "spec:\n  rules:\n  - name: sig\n    match: {any: [{resources: {kinds: [Pod]}}]}\n"
        "    verifyImages:\n    - imageReferences: ['ghcr.io/acme/*']\n"
        "      attestors: [{entries: [{keys: {publicKeys: 'KEY'}}]}]\n")
    from kubeward.config import Config
    from kubeward.scan import run_scan

    posture = assess(run_scan([str(EXAMPLES / "hardened"), str(policy)], Config()))
    assert posture.items[5].status == "met"


def test_control_plane_items_need_an_apiserver_static_pod():
    fire = scan(RULES / "cis.apiserver.encryption-provider-config" / "fire-kubeadm-default.yaml")
    got = statuses(fire)
    assert got[9] == "not-met" and got[8] != "unknown" and got[13] != "unknown"
    ok = statuses(scan(RULES / "cis.apiserver.encryption-provider-config" / "pass.yaml"))
    assert ok[9] == "met"
    assert statuses(scan(EXAMPLES / "insecure"))[9] == "unknown"


def test_stack_items_need_a_whole_cluster():
    assert statuses(scan(RULES / "stack.runtime-detection" / "fire.yaml"))[7] == "not-met"
    assert statuses(scan(RULES / "stack.runtime-detection" / "pass-falco.yaml"))[7] == "met"
    assert statuses(scan(RULES / "stack.runtime-detection" / "pass-not-a-cluster.yaml"))[7] == "unknown"


def test_an_empty_input_knows_nothing(tmp_path):
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    posture = assess(scan(tmp_path))
    assert {ip.status for ip in posture.items} == {"unknown"}
    assert posture.score == 0


def test_disabled_rules_make_an_item_unknown():
    report = run_scan([str(EXAMPLES / "insecure")], Config(disabled=("image.*",)))
    got = statuses(report)
    assert got[5] == got[6] == "unknown" and got[3] == "not-met"


def test_size_is_not_punished(tmp_path):
    """The same gap on 1 of 2 workloads and on 50 of 100 gives the same item score."""
    def inventory(n_bad: int, n_good: int) -> ScanReport:
        docs = []
        for i in range(n_bad + n_good):
            image = "nginx:latest" if i < n_bad else "nginx:1.27@sha256:" + "a" * 64
            docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: a}}\n"
                        f"spec:\n  containers:\n  - name: c\n    image: {image}\n")
        path = tmp_path / f"pods-{n_bad}-{n_good}.yaml"
        path.write_text("---\n".join(docs))
        return scan(path)
    small, big = assess(inventory(1, 1)).item(5), assess(inventory(50, 50)).item(5)
    assert abs(small.score - big.score) < 1e-9 and small.checked == 2 and big.checked == 100


# --- score properties over synthetic findings -------------------------------------------------

_REPORT = scan(EXAMPLES / "insecure")
_RULES = [r for r in load_catalog() if r.scope.value != "engine"][:40] + [
    r for r in load_catalog() if r.id.startswith("pss.")][:5]
_RESOURCES = list(_REPORT.inventory)


def synthetic(picks: list[tuple[int, int, int, bool]], base: ScanReport = _REPORT) -> ScanReport:
    findings = list(base.findings)
    for rule_i, res_i, sev, with_res in picks:
        rule = _RULES[rule_i % len(_RULES)]
        res = _RESOURCES[res_i % len(_RESOURCES)] if with_res else None
        findings.append(Finding(rule, res, "synthetic", severity=Severity(sev)))
    return ScanReport(findings=findings, rules=base.rules, inventory=base.inventory,
                      config=base.config)


pick = st.tuples(st.integers(0, 200), st.integers(0, 50), st.integers(0, 4), st.booleans())


@settings(max_examples=150, deadline=None)
@given(st.lists(pick, max_size=60))
def test_score_is_within_bounds(picks):
    posture = assess(synthetic(picks))
    assert 0 <= posture.score <= 100
    for ip in posture.items:
        assert ip.status in STATUSES
        assert ip.score is None or 0.0 <= ip.score <= 1.0
        assert len(ip.worst) <= 5


@settings(max_examples=150, deadline=None)
@given(st.lists(pick, max_size=40), pick)
def test_adding_a_finding_never_raises_the_score(picks, extra):
    before = assess(synthetic(picks))
    after = assess(synthetic([*picks, extra]))
    assert after.score <= before.score
    for b, a in zip(before.items, after.items, strict=True):
        if b.score is not None:
            assert a.score is not None and a.score <= b.score


def test_suppressed_findings_do_not_count():
    report = scan(EXAMPLES / "insecure")
    before = assess(report).score
    for f in report.findings:
        f.suppressed = replace_suppression()
    posture = assess(report)
    assert posture.score >= before and all(ip.findings == 0 for ip in posture.items)


def replace_suppression():
    from kubeward.findings import Suppression

    return Suppression("annotation", "test")


def test_weights_follow_the_checklist_order():
    weights = [ITEM_WEIGHTS[n] for n in range(1, 14)]
    assert weights == sorted(weights, reverse=True) and min(weights) > 0


def test_table_ends_with_the_checklist_summary():
    report = scan(EXAMPLES / "insecure")
    buf = io.StringIO()
    render_table(report, buf, color=False)
    lines = buf.getvalue().rstrip().splitlines()
    posture = assess(report)
    block = lines[-15:-2]
    assert f"Checklist posture {posture.score}/100" in lines[-16]
    for ip, line in zip(posture.items, block, strict=True):
        words = line.split()
        assert words[0] == str(ip.number) and ip.title in line and ip.status in words
        assert words[-1] == ("-" if ip.status == "unknown" else str(ip.findings))


def test_posture_is_fast_on_a_big_inventory():
    import time

    report = scan(EXAMPLES / "insecure")
    big = ScanReport(findings=report.findings * 300, rules=report.rules,
                     inventory=Inventory(list(report.inventory) * 300), config=report.config)
    start = time.perf_counter()
    assess(big)
    assert time.perf_counter() - start < 1.0


