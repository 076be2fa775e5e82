"""Alembic migrations of the tidings store, applied by `tidings migrate` and `tidings serve`."""
