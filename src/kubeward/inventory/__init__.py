"""Sources in, Resources out: loaders, the Resource model and the indexed Inventory."""
