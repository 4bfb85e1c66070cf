"""The rule catalog: one module per checklist area, each rule = metadata + one function."""
