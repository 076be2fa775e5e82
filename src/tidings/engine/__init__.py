"""The notification engine: from a platform event to settled runs and per-recipient logs."""
