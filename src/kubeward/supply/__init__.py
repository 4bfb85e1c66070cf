"""Supply-chain checks on the images a repo or cluster runs (checklist items 5 and 6).

Image inventory (`inventory`), which admission policy verifies which image (`policies`),
cosign signatures and attestations fetched from an OCI registry (`oci`, `cosign`,
`keyless`), SBOMs and offline vulnerability matching (`sbom`, `vulndb`, `osv`, `versions`).
Everything here is offline except `oci`, which only runs when the user asks to verify.
Modules import nothing heavy at import time.
"""
