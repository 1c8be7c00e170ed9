"""Model runtimes behind one contract (see `backends.base`); each imported only when a model needs it."""
