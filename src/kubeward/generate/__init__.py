"""Generators: the seed's hardening objects as plain dicts (printed as YAML by the CLI)."""
