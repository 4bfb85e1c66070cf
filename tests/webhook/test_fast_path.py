"""The admission fast path gives the answers of the straightforward one: rules, cache, routes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from kubeward.config import Config
from kubeward.engine import run_rules
from kubeward.exceptions import apply_exceptions, parse_entries
from kubeward.findings import Severity
from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Origin, Resource, SourceText
from kubeward.webhook.app import AppState, build_app
from kubeward.webhook.cache import AnswerCache, generated_name
from kubeward.webhook.config import RuleSetConfig, parse_webhook_config
from kubeward.webhook.evaluate import Evaluator, Violation, apply_mode
from kubeward.webhook.metrics import Metrics
from tests.webhook.serving import pod, review

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"


def _objects() -> list[dict[str, Any]]:
    out = []
    for path in sorted(FIXTURES.glob("*/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and isinstance(doc.get("kind"), str):
                out.append(doc)
    return out


OBJECTS = _objects()


def _reference(
    ev: Evaluator, obj: dict[str, Any], rules_set: RuleSetConfig
) -> tuple[list[Violation], list[str]]:
    """The webhook's rule set as first written: every one-object rule, then the severity filter."""
    config, active = ev._engine_config()
    res = Resource(obj, Origin(SourceText("admission", None, "admission"), None, 0))
    result = run_rules(Inventory([res]), config, active)
    entries, _ = parse_entries(config.exceptions, config.path or "config")
    annotated = (res,) if ev.config.honor_ignore_annotations else ()
    apply_exceptions(result.findings, annotated, entries, strict=config.strict)
    action = apply_mode(rules_set.mode, "deny")
    violations = [
        Violation("rules", f.rule.id, f.message, f.rule.remediation, action)
        for f in result.findings
        if f.suppressed is None and f.severity >= rules_set.min_severity and action is not None
    ]
    return violations, result.warnings


@pytest.mark.parametrize("honor", [False, True])
@pytest.mark.parametrize("severity", list(Severity), ids=lambda s: s.name.lower())
def test_only_counted_rules_run_and_the_violations_are_the_same(severity: Severity, honor: bool) -> None:
    scan = Config(
        severity={"image.*": Severity.CRITICAL, "secrets.env-secret-ref": Severity.HIGH},
        exceptions=[{"rule": "workload.*", "kind": "Deployment", "reason": "test"}],
    )
    ev = Evaluator(parse_webhook_config({"honorIgnoreAnnotations": honor}), scan_config=scan)
    rules_set = RuleSetConfig("enforce", min_severity=severity)
    assert len(OBJECTS) > 100
    for obj in OBJECTS:
        errors: list[str] = []
        got = ev._rules(str(obj["kind"]), obj, rules_set, errors)
        want, warnings = _reference(ev, obj, rules_set)
        assert got == want, obj.get("metadata")
        assert set(errors) <= set(warnings)


def _stamped(obj: dict[str, Any], n: int) -> dict[str, Any]:
    """`obj` as the API server hands its n-th replica to a validating webhook."""
    meta = dict(obj.get("metadata") or {})
    base = (meta.get("name") or "x") + "-"
    meta.update(
        generateName=base,
        name=base + ("x2x9q", "b5k8p")[n],
        uid=f"0b1e6d2c-8a3f-4c5e-9d7b-1a2b3c4d5e6{n}",
        creationTimestamp=f"2026-11-24T12:00:0{n}Z",
        managedFields=[{"manager": "kube-controller-manager", "operation": "Update",
                        "time": f"2026-11-24T12:00:0{n}Z", "fieldsType": "FieldsV1"}],
    )
    return {**obj, "metadata": meta}


def test_no_verdict_reads_what_the_key_leaves_out() -> None:
    """The claim behind the cache's key: on every rule fixture, two replicas that differ in
    uid, creationTimestamp, managedFields and generated name get the same violations."""
    ev = Evaluator(parse_webhook_config({"ruleSets": {"rules": {"mode": "enforce", "minSeverity": "info"}}}))
    assert ev.name_blind
    judged = 0
    for obj in OBJECTS:
        ns = (obj.get("metadata") or {}).get("namespace") or "default"
        verdicts = []
        for n in (0, 1):
            stamped = _stamped(obj, n)
            decision = ev.evaluate(review(stamped, namespace=ns)["request"])
            # a message that quotes the name is never reused (the app checks each answer)
            own = stamped["metadata"]["name"]
            verdicts.append((decision.allowed, [replace(v, message=v.message.replace(own, "<name>"))
                                                for v in decision.violations]))
        assert verdicts[0] == verdicts[1], obj.get("metadata")
        judged += bool(verdicts[0][1])
    assert judged > 50


def test_answer_cache_key_ignores_only_the_uid() -> None:
    cache: AnswerCache[str] = AnswerCache()
    a = review(pod(), uid="a")["request"]
    b = review(pod(), uid="b")["request"]
    other_user = review(pod(), uid="a", username="mallory")["request"]
    other_ns = review(pod(), uid="a", namespace="kube-system")["request"]
    key = cache.key(a)
    assert key is not None and key == cache.key(b)
    assert len({key, cache.key(other_user), cache.key(other_ns)}) == 3


def replica(suffix: str, *, base: str = "web-7d4b9c-", **kwargs: Any) -> dict[str, Any]:
    """A pod as a ReplicaSet's pods reach a validating webhook: a generated name."""
    obj = pod(base + suffix, **kwargs)
    obj["metadata"]["generateName"] = base
    return obj


@pytest.mark.parametrize(("meta", "generated"), [
    ({"generateName": "web-", "name": "web-x2x9q"}, True),
    ({"generateName": "w" * 70, "name": "w" * 58 + "b5k8p"}, True),  # base cut to 58
    ({"generateName": "web-", "name": "web-x2x9"}, False),  # 4 characters
    ({"generateName": "web-", "name": "web-x2a9q"}, False),  # a vowel: not util/rand's
    ({"generateName": "web-", "name": "web-x1x9q"}, False),  # 1 is not either
    ({"generateName": "api-", "name": "web-x2x9q"}, False),
    ({"name": "web-x2x9q"}, False),  # named by the client
    ({"generateName": "", "name": "bbbbbb"}, False),
])
def test_generated_names_are_recognised(meta: dict[str, Any], generated: bool) -> None:
    assert (generated_name(meta) is not None) is generated


def test_replicas_share_a_key_only_when_the_cache_is_told_names_cannot_matter() -> None:
    blind: AnswerCache[str] = AnswerCache(generated_names=True)
    exact: AnswerCache[str] = AnswerCache()
    first = review(replica("x2x9q"), uid="a")["request"]
    first["name"] = first["object"]["metadata"]["name"]  # request.name, when the server sets it
    second = review(replica("b5k8p"), uid="b")["request"]
    second["name"] = second["object"]["metadata"]["name"]
    chosen = review(pod("web-7d4b9c-b5k8p"), uid="c")["request"]  # the same name, not generated
    other_spec = review(replica("b5k8p", image="registry.example/app:2.0"), uid="d")["request"]
    for request, n in ((first, 1), (second, 2)):  # what the API server sets on each
        request["object"]["metadata"].update(uid=f"uid-{n}", creationTimestamp=f"2026-11-24T12:00:0{n}Z")
    assert blind.key(first) == blind.key(second)
    assert len({blind.key(first), blind.key(chosen), blind.key(other_spec)}) == 3
    assert exact.key(first) != exact.key(second)
    second["object"]["metadata"]["name"] = first["object"]["metadata"]["name"]
    second["name"] = first["name"]
    assert exact.key(first) == exact.key(second)  # only the server-set fields differ
    assert first["object"]["metadata"]["name"] == "web-7d4b9c-x2x9q"  # the request is not changed


def test_an_exception_by_name_makes_generated_names_count() -> None:
    by_kind = Config(exceptions=[{"rule": "image.*", "kind": "Pod", "reason": "test"}])
    by_name = Config(exceptions=[{"rule": "image.*", "name": "web-*-x2x9q", "reason": "test"}])
    assert Evaluator(parse_webhook_config({}), scan_config=by_kind).name_blind
    assert not Evaluator(parse_webhook_config({}), scan_config=by_name).name_blind


def test_replicas_are_judged_once_and_each_answer_names_its_own_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    ev = Evaluator(parse_webhook_config({}))
    calls: list[str] = []
    real = ev.evaluate

    def counting(request: dict[str, Any]) -> Any:
        calls.append(request["object"]["metadata"]["name"])
        return real(request)

    monkeypatch.setattr(ev, "evaluate", counting)
    app = build_app(AppState(ev, Metrics.create()))
    privileged = {"privileged": True}
    answers = {}
    for uid, suffix in (("u1", "x2x9q"), ("u2", "b5k8p"), ("u3", "zz42c")):
        body = orjson.dumps(review(replica(suffix, security=privileged), uid=uid))
        status, _, out = _post(app, "/validate", body)
        assert status == 200
        answers[suffix] = orjson.loads(out)["response"]
    assert calls == ["web-7d4b9c-x2x9q"]
    for uid, suffix in (("u1", "x2x9q"), ("u2", "b5k8p"), ("u3", "zz42c")):
        got = answers[suffix]
        assert got["uid"] == uid and got["allowed"] is False
        assert got["status"]["message"].startswith(f"kubeward denied Pod default/web-7d4b9c-{suffix}: ")
        # everything else is the first pod's answer
        first = answers["x2x9q"]
        same_message = {**got["status"], "message": first["status"]["message"]}
        assert {**got, "uid": "u1", "status": same_message} == first
    # a pod whose rule messages quote its own generated name is not reused for its siblings
    calls.clear()
    for uid, suffix in (("u4", "x2x9q"), ("u5", "b5k8p")):
        obj = replica(suffix, base="db-5f6c7-", security=privileged)
        obj["spec"]["containers"][0]["name"] = "db-5f6c7-x2x9q"
        status, _, out = _post(app, "/validate", orjson.dumps(review(obj, uid=uid)))
        assert status == 200
        assert 'container "db-5f6c7-x2x9q"' in orjson.loads(out)["response"]["status"]["message"]
    assert calls == ["db-5f6c7-x2x9q", "db-5f6c7-b5k8p"]


def test_a_container_named_like_the_reference_slot_keeps_its_name() -> None:
    app = build_app(AppState(Evaluator(parse_webhook_config({})), Metrics.create()))
    obj = pod("odd", security={"privileged": True})
    obj["spec"]["containers"][0]["name"] = "\x00kubeward:ref\x00"
    for uid in ("u1", "u2"):
        status, _, out = _post(app, "/validate", orjson.dumps(review(obj, uid=uid)))
        message = orjson.loads(out)["response"]["status"]["message"]
        assert status == 200 and message.startswith("kubeward denied Pod default/odd: ")
        assert 'container "\x00kubeward:ref\x00"' in message


def test_answer_cache_is_bounded() -> None:
    cache: AnswerCache[int] = AnswerCache(max_entries=3, max_bytes=10_000, max_key=5_000)
    keys = [cache.key(review(pod(f"p{i}"))["request"]) for i in range(5)]
    for i, key in enumerate(keys):
        assert key is not None
        cache.put(key, i)
    assert len(cache) == 3 and cache.get(keys[0]) is None and cache.get(keys[4]) == 4  # type: ignore[arg-type]
    big = review(pod(containers=200))["request"]
    assert cache.key(big) is None  # over max_key: judged, never stored
    size = len(keys[0][1])  # type: ignore[index]
    few: AnswerCache[int] = AnswerCache(max_bytes=2 * size + 1)  # bounded by the bytes of the keys
    for key in keys:
        few.put(key, 0)  # type: ignore[arg-type]
    assert len(few) == 2 and few.get(keys[4]) == 0  # type: ignore[arg-type]


def _post(app: Any, path: str, body: bytes, method: str = "POST") -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"x"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body[:100], "more_body": True},
              {"type": "http.request", "body": body[100:], "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_repeated_request_gets_the_same_answer_with_its_own_uid() -> None:
    ev = Evaluator(parse_webhook_config({"exempt": {"usernames": ["ops"]}}))
    state = AppState(ev, Metrics.create())
    app = build_app(state)
    privileged = pod(security={"privileged": True})
    answers = []
    for uid, user in (("u1", "alice"), ("u2", "alice"), ("u3", "ops"), ("u4", "alice")):
        body = orjson.dumps(review(privileged, uid=uid, username=user))
        status, headers, out = _post(app, "/validate", body)
        assert status == 200 and headers == {b"content-length": str(len(out)).encode(),
                                             b"content-type": b"application/json"}
        answers.append(orjson.loads(out)["response"])
    assert [a["uid"] for a in answers] == ["u1", "u2", "u3", "u4"]
    first, second, exempt, fourth = answers
    assert first["allowed"] is False and {**first, "uid": "u2"} == second == {**fourth, "uid": "u2"}
    assert exempt["allowed"] is True and exempt["auditAnnotations"]["exempt"]
    metrics = state.metrics.render()[0].decode()
    assert 'kubeward_webhook_decisions_total{endpoint="validate",result="denied"} 3.0' in metrics


def test_hot_routes_answer_like_starlette() -> None:
    app = build_app(AppState(Evaluator(parse_webhook_config({})), Metrics.create()))
    status, headers, out = _post(app, "/validate", b"not json")
    assert status == 400 and headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert out.startswith(b"the body is not valid JSON")
    status, _, _ = _post(app, "/validate", b"{}", method="GET")  # Starlette: 405
    assert status == 405
    status, _, _ = _post(app, "/nowhere", b"{}")
    assert status == 404
