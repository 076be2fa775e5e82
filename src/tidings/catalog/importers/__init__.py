"""Catalog file formats, one module each, and the reading of a whole file (`files`)."""
