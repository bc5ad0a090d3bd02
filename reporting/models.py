"""Models of the reporting app (see the issue that builds it)."""
