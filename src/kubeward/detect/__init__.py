"""`kubeward detect`: threat detection on Kubernetes audit events.

Modules: `events` (reading sources), `rules` (rule files, lists, macros, CEL), `engine`
(prefilter index, stage/time handling, burst state, dedup), `sinks` (outputs), `metrics`,
`server` (audit webhook endpoint), `follow` (tailing with rotation), `auditpolicy`.
"""
