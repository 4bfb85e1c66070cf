"""NetworkPolicy analysis: exact model, reachability, coverage, generators."""
