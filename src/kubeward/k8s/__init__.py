"""Pure helpers over Kubernetes objects (plain dicts): pod templates, containers, images."""
