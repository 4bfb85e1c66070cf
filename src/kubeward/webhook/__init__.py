"""`kubeward serve`: the validating and mutating admission webhook (docs/webhook.md).

Module map: `config` (the --config file), `review` (AdmissionReview in/out), `evaluate`
(rule sets and modes: PSS engine, kubeward rules, policies), `policies` (Kyverno / VAP glue),
`mutate` (the default-securityContext JSONPatch), `metrics` (Prometheus), `app` (Starlette
routes, limits, failure policy), `server` (uvicorn, TLS reload, shutdown), `install` and
`pki` (`kubeward webhook install`, deploy/webhook).
"""
