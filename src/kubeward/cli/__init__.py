"""Command-line interface: one small module per command group.

Modules here import only click at import time; each command imports the library it needs
when it runs, so `kubeward --help` starts fast.
"""
