"""`kubeward fix`: the seed's pod hardening applied to manifests, comments and order kept."""
