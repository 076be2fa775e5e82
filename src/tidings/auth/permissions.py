"""The permissions an API key can carry."""

from enum import StrEnum


class Permission(StrEnum):
    """A capability granted to an API key; each endpoint names the one it needs."""

    VIEW_NOTIFICATION_LOGS = "VIEW_NOTIFICATION_LOGS"
    SEND_NOTIFICATIONS = "SEND_NOTIFICATIONS"


PERMISSION_LABELS: dict[Permission, str] = {
    Permission.VIEW_NOTIFICATION_LOGS: "View notification logs",
    Permission.SEND_NOTIFICATIONS: "Send notifications",
}
