"""tidings: a self-hostable notification service with a Cortex-compatible Notification Logs API."""

__version__ = "0.1.0"
