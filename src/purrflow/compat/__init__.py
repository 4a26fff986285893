"""Makes unmodified programs run: the `autokitteh` module (and, later, the CTO.ai daemon protocol)."""
