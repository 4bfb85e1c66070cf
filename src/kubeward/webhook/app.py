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

from kubeward.webhook.review import BadReview, parse_review, review_response

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from kubeward.webhook.evaluate import Evaluator
    from kubeward.webhook.metrics import Metrics

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


def build_app(state: AppState) -> Starlette:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    config = state.evaluator.config
    metrics = state.metrics

    async def read_body(request: Request) -> bytes:
        limit = config.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise _TooLarge
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def failure(request: dict[str, Any], endpoint: str, reason: str) -> bytes:
        uid = request["uid"]
        if config.failure_policy == "Ignore":
            metrics.decisions.labels(endpoint, "error_allowed").inc()
            return review_response(
                uid,
                True,
                warnings=[
                    f"kubeward could not evaluate this request "
                    f"and allowed it (failurePolicy Ignore): {reason}"[:240]
                ],
                audit={"decision": "allow", "error": reason[:2000]},
            )
        metrics.decisions.labels(endpoint, "error_denied").inc()
        return review_response(
            uid,
            False,
            code=500,
            audit={"decision": "deny", "error": reason[:2000]},
            message=f"kubeward could not evaluate {_ref(request)} and denied it "
            f"(failurePolicy Fail): {reason}",
        )

    async def admission(
        request: Request, endpoint: str, judge: Callable[[dict[str, Any]], bytes]
    ) -> Response:
        start = time.perf_counter()
        try:
            try:
                body = await read_body(request)
            except _TooLarge:
                metrics.errors.labels("too_large").inc()
                return PlainTextResponse(
                    f"request body larger than {config.max_body_bytes} bytes (maxBodyBytes)\n",
                    status_code=413,
                )
            try:
                review = parse_review(body)
            except BadReview as err:
                metrics.errors.labels("bad_request").inc()
                return PlainTextResponse(f"{err}\n", status_code=400)
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
                metrics.errors.labels("timeout").inc()
                out = failure(
                    review,
                    endpoint,
                    f"evaluation took longer than {config.request_timeout:g}s (requestTimeoutSeconds)",
                )
            except Exception as err:  # noqa: BLE001 - the failure policy answers every error
                metrics.errors.labels("evaluation").inc()
                log.warning("evaluation of %s failed: %s: %s", _ref(review), type(err).__name__, err)
                out = failure(review, endpoint, f"{type(err).__name__}: {err}")
            return Response(out, media_type="application/json")
        except Exception as err:  # noqa: BLE001 - never an unhandled exception
            metrics.errors.labels("internal").inc()
            log.error("internal error on %s: %s: %s", endpoint, type(err).__name__, err)
            return PlainTextResponse(f"internal error: {type(err).__name__}\n", status_code=500)
        finally:
            metrics.latency.labels(endpoint).observe(time.perf_counter() - start)

    def judge_validate(request: dict[str, Any]) -> bytes:
        from kubeward.webhook.evaluate import EvaluationError

        evaluator = state.evaluator
        try:
            decision = evaluator.evaluate(request)
        except EvaluationError as err:
            return failure(request, "validate", str(err))
        for problem in decision.errors:  # a rule that failed on this object (the others still ran)
            log.warning("%s: %s", _ref(request), problem)
        for v in decision.violations:
            metrics.violations.labels(v.rule_set, v.rule, v.action).inc()
        result = "exempt" if decision.exempt else ("allowed" if decision.allowed else "denied")
        metrics.decisions.labels("validate", result).inc()
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
        return review_response(
            request["uid"],
            decision.allowed,
            message=None if decision.allowed else decision.message(_ref(request)),
            warnings=decision.warnings(),
            audit=decision.audit_annotations(),
        )

    def judge_mutate(request: dict[str, Any]) -> bytes:
        from kubeward.webhook.evaluate import groups_of
        from kubeward.webhook.mutate import apply_adds, diff_patch, security_context_patch

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
            metrics.decisions.labels("mutate", "unchanged").inc()
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
        metrics.decisions.labels("mutate", "mutated" if patch else "unchanged").inc()
        audit = {"mutated": ",".join(op["path"] for op in patch)[:2000]} if patch else None
        return review_response(uid, True, patch=patch, audit=audit, warnings=warnings)

    async def validate(request: Request) -> Response:
        return await admission(request, "validate", judge_validate)

    async def mutate(request: Request) -> Response:
        return await admission(request, "mutate", judge_mutate)

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

    return Starlette(
        routes=[
            Route("/validate", validate, methods=["POST"]),
            Route("/mutate", mutate, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_view, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
