"""Generators: the seed's hardening objects as plain dicts (printed as YAML by the CLI).

Module map: `policies` (the registry of `kubeward generate` sets, their parameters and
validation), `seeds` (default-deny, DNS egress, isolation, image gates - shared with
`plan` and `netpol`), `kyverno_sets`, `admission` (VAP, PSS labels, default-deny set),
`audit` (adapter to `kubeward.detect.auditpolicy`), `encryption`, `runtime` (Falco,
Tetragon), `externalsecret`, `access` (deployer Role, projected-token pod) and
`examples` (Kyverno test suites with good and bad pods). Nothing is imported here, so
`generate --list` stays cheap.
"""
