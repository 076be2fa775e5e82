"""Shared machinery every domain package uses: database, wire formats, errors, limits."""
