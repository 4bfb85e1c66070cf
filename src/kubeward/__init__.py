"""kubeward: the Kubernetes security checklist, executable.

Nothing is imported here on purpose: `kubeward --help` must start in well under 0.3 s,
so every subpackage is imported lazily by the command that needs it.
"""

__version__ = "0.1.0"
