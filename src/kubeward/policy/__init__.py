"""Offline policy engines: Kyverno policies (`policy.kyverno`) and ValidatingAdmissionPolicies."""
