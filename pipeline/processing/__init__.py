"""Processing: the one procedure each recording goes through, and the runs that drive it."""
