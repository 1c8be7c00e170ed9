"""repository-server: a model server that watches a model repository on disk and serves it."""

__version__ = "0.1.0"
