"""Models of the orders app (see the issue that builds it)."""
