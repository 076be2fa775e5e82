"""The Cortex-compatible read API over notification runs and logs, and the store behind it."""
