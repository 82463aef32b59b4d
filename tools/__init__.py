"""Checks of the repository and its environment that CI runs (not part of the package)."""
