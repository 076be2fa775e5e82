"""Delivery mediums: one module per medium behind the `Channel` port of `base`."""
