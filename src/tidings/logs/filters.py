"""What a caller asked for, parsed and validated, independent of HTTP and SQL."""

from dataclasses import dataclass
from datetime import datetime

from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)


@dataclass(frozen=True)
class LogFilter:
    """The filters of `GET /api/v1/notifications/logs`; an empty set means no filter."""

    run_ids: frozenset[int] = frozenset()
    types: frozenset[NotificationType] = frozenset()
    statuses: frozenset[LogStatus] = frozenset()
    recipient_types: frozenset[RecipientType] = frozenset()
    recipient_emails: frozenset[str] = frozenset()
    recipient_entity_ids: frozenset[int] = frozenset()
    recipient_channels: frozenset[str] = frozenset()
    mediums: frozenset[Medium] = frozenset()
    ignored_reasons: frozenset[IgnoredReason] = frozenset()
    failed_reasons: frozenset[FailedReason] = frozenset()
    from_date: datetime | None = None
    until_date: datetime | None = None

    @property
    def only_tallied_dimensions(self) -> bool:
        """True when every filter is an enum column or a date, which the tallies can count."""
        return not (
            self.run_ids
            or self.recipient_emails
            or self.recipient_entity_ids
            or self.recipient_channels
        )

    @property
    def only_addresses(self) -> bool:
        """True when addresses (and dates) are the only filters, which the address tallies
        can count."""
        return bool(self.recipient_emails) and not (
            self.run_ids
            or self.types
            or self.statuses
            or self.recipient_types
            or self.recipient_entity_ids
            or self.recipient_channels
            or self.mediums
            or self.ignored_reasons
            or self.failed_reasons
        )


@dataclass(frozen=True)
class RunFilter:
    """The filters of `GET /api/v1/notifications/logs/run`."""

    types: frozenset[NotificationType] = frozenset()
    statuses: frozenset[RunStatus] = frozenset()
    mediums: frozenset[Medium] = frozenset()
    ignored_reasons: frozenset[RunIgnoredReason] = frozenset()
    failed_reasons: frozenset[RunFailedReason] = frozenset()
    search_query: str | None = None
    from_date: datetime | None = None
    until_date: datetime | None = None
    delivered_only: bool = True


class DateRangeError(ValueError):
    """fromDate lies after untilDate."""


def check_date_range(from_date: datetime | None, until_date: datetime | None) -> None:
    """Refuse a range that ends before it starts."""
    if from_date is not None and until_date is not None and from_date > until_date:
        raise DateRangeError("fromDate is after untilDate")
