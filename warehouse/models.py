"""Models of the warehouse app (see the issue that builds it)."""
