"""The package version, in a module of its own so that records, the service and the CLI can
name it without importing `judge/__init__.py` (whose lazy API names every front end)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
