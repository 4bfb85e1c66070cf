"""The ASGI application of `kubeward serve` (Starlette): /validate, /mutate, probes, /metrics.

Robustness contract: the body is bounded (413 before it is read past `maxBodyBytes`), a body
that is not an AdmissionReview v1 gets 400 with the reason, large bodies are judged in a
worker thread under `requestTimeoutSeconds` (below the webhook's `timeoutSeconds`, so the API
server gets kubeward's answer, not its own timeout), and whatever goes wrong while judging a
request (timeout, engine error) is answered per `failurePolicy`: Fail denies with the
reason, Ignore allows with a warning. No exception leaves a handler.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from kubeward.webhook.cache import AnswerCache, generated_name
from kubeward.webhook.review import BadReview, parse_review, review_response

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

    from kubeward.webhook.evaluate import Decision, Evaluator
    from kubeward.webhook.metrics import Metrics

    # a validate answer but its uid and the object's reference: the decision, the metric
    # children it counts, and the response body before the uid, between the uid and the
    # reference, and after the reference (None: the body has no reference)
    _Answer = tuple[Decision, tuple[Any, ...], bytes, bytes, bytes | None]

__all__ = ["AppState", "build_app"]

log = logging.getLogger("kubeward.webhook")

# Bodies up to this size are judged inline: the evaluation cost grows with the object (its
# containers), and below 32 KiB it stays far under any sensible timeout (measured: 0.2 ms for a
# 3 KB pod, 6 ms for the worst case that fits, 400 privileged containers). Larger bodies go to a
# worker thread under the deadline.
INLINE_BODY_BYTES = 32 * 1024


class _TooLarge(Exception):
    pass


@dataclass(slots=True)
class AppState:
    evaluator: Evaluator
    metrics: Metrics
    ready: bool = False
    shutting_down: Callable[[], bool] = lambda: False
    background: list[Callable[[], Any]] = field(default_factory=list)  # coroutines started at start-up
    executor: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="kubeward-eval")
    )


def _ref(request: dict[str, Any]) -> str:
    """`Kind namespace/name` of the request, for messages (any field may be malformed)."""
    raw_kind = request.get("kind")
    kind = raw_kind.get("kind") if isinstance(raw_kind, dict) else None
    name = request.get("name")
    obj = request.get("object")
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not (isinstance(name, str) and name) and isinstance(meta, dict):
        name = meta.get("name") or meta.get("generateName")
    ns = request.get("namespace")
    kind_text = kind if isinstance(kind, str) and kind else "object"
    ns_text = f"{ns}/" if isinstance(ns, str) and ns else ""
    return f"{kind_text} {ns_text}{name if isinstance(name, str) else ''}"


def _user_name(request: dict[str, Any]) -> str | None:
    user = request.get("userInfo")
    name = user.get("username") if isinstance(user, dict) else None
    return name if isinstance(name, str) else None


_JSON = b"application/json"
_UID = b'"response":{"uid":'
_NO_UID = _UID + b'""'
_TEXT = b"text/plain; charset=utf-8"
# where a cached answer's message names the object (`_ref` of each request)
_REF_SLOT = "\x00kubeward:ref\x00"
_REF_SLOT_JSON = orjson.dumps(_REF_SLOT)[1:-1]


def _generated_name(request: dict[str, Any]) -> str | None:
    obj = request.get("object")
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return generated_name(meta) if isinstance(meta, dict) else None


def build_app(state: AppState) -> ASGIApp:
    """The ASGI app: /validate and /mutate (POST) answered directly, the rest by Starlette.

    The two admission routes are the hot path; they read the body and answer with plain ASGI
    messages, the same status, headers (content-length, content-type) and body Starlette's
    `Response` / `PlainTextResponse` send, without its Request, Response and routing objects
    (measured: about a third of the time of a whole request for the small pod of the bench).
    Everything else (other methods on those paths, the probes, /metrics, lifespan, 404s) is
    the Starlette app, unchanged.
    """
    from starlette.applications import Starlette
    from starlette.requests import ClientDisconnect
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from kubeward.webhook.evaluate import EvaluationError, groups_of
    from kubeward.webhook.mutate import apply_adds, diff_patch, security_context_patch

    config = state.evaluator.config
    metrics = state.metrics
    # prometheus-client's `.labels(...)` validates and looks up the child on every call: the
    # children are looked up once per label values (a bounded set: endpoints, results, rules)
    children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(metric: Any, *labels: str) -> Any:
        key = (id(metric), labels)
        found = children.get(key)
        if found is None:
            found = children[key] = metric.labels(*labels)
        return found

    async def read_body(scope: Scope, receive: Receive) -> bytes:
        """The body, as Starlette's `Request.stream()` reads it, bounded by maxBodyBytes."""
        limit = config.max_body_bytes
        length = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value.decode("latin-1")
                break
        if length is not None and length.isdigit() and int(length) > limit:
            raise _TooLarge
        chunks, size = [], 0
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "http.request":
                chunk = message.get("body", b"")
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise _TooLarge
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            elif kind == "http.disconnect":
                raise ClientDisconnect()
        return b"".join(chunks)

    def failure(request: dict[str, Any], endpoint: str, reason: str) -> bytes:
        uid = request["uid"]
        if config.failure_policy == "Ignore":
            child(metrics.decisions, endpoint, "error_allowed").inc()
            return review_response(
                uid,
                True,
                warnings=[
                    f"kubeward could not evaluate this request "
                    f"and allowed it (failurePolicy Ignore): {reason}"[:240]
                ],
                audit={"decision": "allow", "error": reason[:2000]},
            )
        child(metrics.decisions, endpoint, "error_denied").inc()
        return review_response(
            uid,
            False,
            code=500,
            audit={"decision": "deny", "error": reason[:2000]},
            message=f"kubeward could not evaluate {_ref(request)} and denied it "
            f"(failurePolicy Fail): {reason}",
        )

    async def admission(
        scope: Scope, receive: Receive, endpoint: str, judge: Callable[[dict[str, Any]], bytes]
    ) -> tuple[int, bytes, bytes]:
        """(status, content type, body) of the answer to one admission request."""
        start = time.perf_counter()
        try:
            try:
                body = await read_body(scope, receive)
            except _TooLarge:
                child(metrics.errors, "too_large").inc()
                return (
                    413,
                    _TEXT,
                    f"request body larger than {config.max_body_bytes} bytes (maxBodyBytes)\n".encode(),
                )
            try:
                review = parse_review(body)
            except BadReview as err:
                child(metrics.errors, "bad_request").inc()
                return 400, _TEXT, f"{err}\n".encode()
            try:
                if len(body) <= INLINE_BODY_BYTES:
                    # small objects cost well under a millisecond: judged on the event loop
                    # (a thread hop and GIL hand-offs would cost more than the evaluation)
                    out = judge(review)
                else:
                    loop = asyncio.get_running_loop()
                    out = await asyncio.wait_for(
                        loop.run_in_executor(state.executor, judge, review), config.request_timeout
                    )
            except TimeoutError:
                child(metrics.errors, "timeout").inc()
                out = failure(
                    review,
                    endpoint,
                    f"evaluation took longer than {config.request_timeout:g}s (requestTimeoutSeconds)",
                )
            except Exception as err:  # noqa: BLE001 - the failure policy answers every error
                child(metrics.errors, "evaluation").inc()
                log.warning("evaluation of %s failed: %s: %s", _ref(review), type(err).__name__, err)
                out = failure(review, endpoint, f"{type(err).__name__}: {err}")
            return 200, _JSON, out
        except Exception as err:  # noqa: BLE001 - never an unhandled exception
            child(metrics.errors, "internal").inc()
            log.error("internal error on %s: %s: %s", endpoint, type(err).__name__, err)
            return 500, _TEXT, f"internal error: {type(err).__name__}\n".encode()
        finally:
            child(metrics.latency, endpoint).observe(time.perf_counter() - start)

    evaluator = state.evaluator
    # answers of kubeward's own rule sets, for a request seen before (equal but for what the
    # API server sets on each object, see cache.py); not with the user's policies
    answers: AnswerCache[_Answer] | None = (
        AnswerCache(max_key=INLINE_BODY_BYTES, generated_names=evaluator.name_blind)
        if evaluator.policies is None or evaluator.policies.empty
        else None
    )

    def validate_answer(request: dict[str, Any], decision: Decision) -> tuple[_Answer, bool]:
        """What every answer to this request is made of: the counters to count, and the body
        (`review_response`) cut where the uid and the object's reference go; and whether
        another request with the same key may get it (not when the object's own name shows
        in a rule's message: it would name the wrong pod)."""
        counters = [child(metrics.violations, v.rule_set, v.rule, v.action) for v in decision.violations]
        result = "exempt" if decision.exempt else ("allowed" if decision.allowed else "denied")
        counters.append(child(metrics.decisions, "validate", result))

        def cut(ref: str) -> tuple[bytes, bytes]:
            body = review_response(
                "",
                decision.allowed,
                message=None if decision.allowed else decision.message(ref),
                warnings=decision.warnings(),
                audit=decision.audit_annotations(),
            )
            head, found, rest = body.partition(_NO_UID)
            assert found, "review_response starts with the response's uid"
            return head + _UID, rest

        head, rest = cut(_REF_SLOT)
        parts = rest.split(_REF_SLOT_JSON)
        if len(parts) > 2:  # the slot's own text in a rule's message: this answer only
            head, rest = cut(_ref(request))
            return (decision, tuple(counters), head, rest, None), False
        name = _generated_name(request) if answers is not None and answers.generated_names else None
        reusable = name is None or orjson.dumps(name)[1:-1] not in rest
        tail = parts[1] if len(parts) == 2 else None
        return (decision, tuple(counters), head, parts[0], tail), reusable

    def judge_validate(request: dict[str, Any]) -> bytes:
        key = answers.key(request) if answers is not None else None
        answer = answers.get(key) if answers is not None and key is not None else None
        if answers is not None:
            child(metrics.answer_cache, "miss" if answer is None else "hit").inc()
        if answer is None:
            try:
                decision = evaluator.evaluate(request)
            except EvaluationError as err:  # not cached: judged again (and logged) every time
                return failure(request, "validate", str(err))
            answer, reusable = validate_answer(request, decision)
            if answers is not None and key is not None and reusable:
                answers.put(key, answer)
        decision, counters, head, middle, tail = answer
        for problem in decision.errors:  # a rule that failed on this object (the others still ran)
            log.warning("%s: %s", _ref(request), problem)
        for counter in counters:  # violations by rule, then the decision
            counter.inc()
        if decision.violations and log.isEnabledFor(logging.INFO):
            log.info(
                "%s",
                orjson.dumps(
                    {
                        "uid": request["uid"],
                        "object": _ref(request),
                        "allowed": decision.allowed,
                        "user": _user_name(request),
                        "violations": [{"rule": v.rule, "action": v.action} for v in decision.violations],
                    }
                ).decode(),
            )
        body = head + orjson.dumps(request["uid"]) + middle
        if tail is None:
            return body
        return body + orjson.dumps(_ref(request))[1:-1] + tail

    def judge_mutate(request: dict[str, Any]) -> bytes:
        uid = request["uid"]
        obj = request.get("object")
        raw_user = request.get("userInfo")
        user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
        groups = groups_of(user)
        namespace = str(request.get("namespace") or "")
        exempt = config.exempt(namespace, str(user.get("username") or ""), groups)
        operation = str(request.get("operation"))
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if (
            exempt
            or not isinstance(obj, dict)
            or request.get("subResource")
            or operation not in ("CREATE", "UPDATE")
            or (kind == "Pod" and operation != "CREATE")  # a pod's spec is immutable
        ):
            child(metrics.decisions, "mutate", "unchanged").inc()
            return review_response(uid, True)
        patch = security_context_patch(str(kind), obj) if config.mutate else []
        warnings: list[str] = []
        policies = state.evaluator.policies
        if (
            policies is not None
            and policies.kyverno_mutates
            and config.for_namespace(namespace)["kyverno"].mode != "off"
        ):
            # the user's Kyverno mutate rules first, then kubeward's defaults where still absent
            mutated, failed = policies.kyverno_mutate(obj, operation=operation, user_info=user)
            if config.mutate:
                mutated = apply_adds(mutated, security_context_patch(str(kind), mutated))
            patch = diff_patch(obj, mutated)
            warnings = [f"kubeward: Kyverno mutate rule failed: {f}"[:240] for f in failed]
        child(metrics.decisions, "mutate", "mutated" if patch else "unchanged").inc()
        audit = {"mutated": ",".join(op["path"] for op in patch)[:2000]} if patch else None
        return review_response(uid, True, patch=patch, audit=audit, warnings=warnings)

    hot: dict[str, tuple[str, Callable[[dict[str, Any]], bytes]]] = {
        "/validate": ("validate", judge_validate),
        "/mutate": ("mutate", judge_mutate),
    }

    async def answer(
        scope: Scope, receive: Receive, send: Send, endpoint: str, judge: Callable[[dict[str, Any]], bytes]
    ) -> None:
        status, content_type, body = await admission(scope, receive, endpoint, judge)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", content_type)],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def routed(request: Request, endpoint: str) -> Response:
        # reached only when `app` does not take the request itself (a root_path is set)
        status, content_type, body = await admission(request.scope, request.receive, *hot[endpoint])
        return Response(body, status_code=status, media_type=content_type.decode())

    async def validate(request: Request) -> Response:
        return await routed(request, "/validate")

    async def mutate(request: Request) -> Response:
        return await routed(request, "/mutate")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        if state.ready and not state.shutting_down():
            return PlainTextResponse("ok\n")
        return PlainTextResponse("not ready\n", status_code=503)

    async def metrics_view(request: Request) -> Response:
        data, content_type = metrics.render()
        return Response(data, headers={"Content-Type": content_type})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(start()) for start in state.background]
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            for task in tasks:
                task.cancel()
            state.executor.shutdown(wait=False, cancel_futures=True)

    starlette = Starlette(
        routes=[
            Route("/validate", validate, methods=["POST"]),
            Route("/mutate", mutate, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_view, methods=["GET"]),
        ],
        lifespan=lifespan,
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            route = hot.get(scope["path"])
            if route is not None:
                await answer(scope, receive, send, *route)
                return
        await starlette(scope, receive, send)

    return app
