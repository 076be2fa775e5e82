"""The store behind the Notification Logs API: runs, per-recipient logs and their objects."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    ObjectType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)
from tidings.kit.orm import (
    Base,
    BigIntId,
    UtcDateTime,
    enum_check,
    enum_column_type,
    sqlite_only_foreign_key,
)

NOT_NULL = "IS NOT NULL"


class NotificationRun(Base):
    """One notification of one type over one medium, fanned out to its recipients."""

    __tablename__ = "notification_runs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    notification_type: Mapped[NotificationType] = mapped_column(
        enum_column_type(NotificationType, "notification_type")
    )
    medium: Mapped[Medium] = mapped_column(enum_column_type(Medium, "medium"))
    status: Mapped[RunStatus] = mapped_column(enum_column_type(RunStatus, "run_status"))
    summary: Mapped[str] = mapped_column(Text)
    delivered_count: Mapped[int] = mapped_column(BigInteger, default=0)
    ignored_reason: Mapped[RunIgnoredReason | None] = mapped_column(
        enum_column_type(RunIgnoredReason, "run_ignored_reason")
    )
    failed_reason: Mapped[RunFailedReason | None] = mapped_column(
        enum_column_type(RunFailedReason, "run_failed_reason")
    )
    error_message: Mapped[str | None] = mapped_column(Text)
    original_run_id: Mapped[int | None] = mapped_column(BigInteger)
    seq_no: Mapped[int] = mapped_column(Integer, default=0)
    date_created: Mapped[datetime] = mapped_column(UtcDateTime)
    date_updated: Mapped[datetime] = mapped_column(UtcDateTime)
    # The engine's bookkeeping, never on the Cortex wire: the event the run came from (a
    # pointer that outlives the event's retention) and when its recipients were all written.
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    expanded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    # Every list is ordered by (date_created, id); each selective filter column leads an
    # index that ends in that order, so page 0 of a single filter reads one index range.
    __table_args__ = (
        enum_check("notification_type", NotificationType),
        enum_check("medium", Medium),
        enum_check("status", RunStatus),
        enum_check("ignored_reason", RunIgnoredReason),
        enum_check("failed_reason", RunFailedReason),
        sqlite_only_foreign_key("original_run_id", "notification_runs.id", ondelete="SET NULL"),
        Index("ix_runs_created", "date_created", "id"),
        # deliveredOnly=true, the default, reads only runs that delivered something.
        Index(
            "ix_runs_delivered_created",
            "date_created",
            "id",
            sqlite_where=text("delivered_count >= 1"),
            postgresql_where=text("delivered_count >= 1"),
        ),
        Index("ix_runs_type_created", "notification_type", "date_created", "id"),
        Index("ix_runs_status_created", "status", "date_created", "id"),
        Index("ix_runs_medium_created", "medium", "date_created", "id"),
        Index(
            "ix_runs_ignored_created",
            "ignored_reason",
            "date_created",
            "id",
            sqlite_where=text(f"ignored_reason {NOT_NULL}"),
            postgresql_where=text(f"ignored_reason {NOT_NULL}"),
        ),
        Index(
            "ix_runs_failed_created",
            "failed_reason",
            "date_created",
            "id",
            sqlite_where=text(f"failed_reason {NOT_NULL}"),
            postgresql_where=text(f"failed_reason {NOT_NULL}"),
        ),
        Index(
            "ix_runs_original",
            "original_run_id",
            sqlite_where=text(f"original_run_id {NOT_NULL}"),
            postgresql_where=text(f"original_run_id {NOT_NULL}"),
        ),
    )


class NotificationObject(Base):
    """An entity, scorecard or initiative as runs refer to it (the latest name we know)."""

    __tablename__ = "notification_objects"

    pk: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    object_type: Mapped[ObjectType] = mapped_column(enum_column_type(ObjectType, "object_type"))
    object_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(255))
    cid: Mapped[str | None] = mapped_column(String(18))
    url: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("object_type", "object_id"),
        enum_check("object_type", ObjectType),
    )


run_objects = Table(
    "notification_run_objects",
    Base.metadata,
    Column("run_id", BigInteger, primary_key=True),
    Column(
        "object_pk",
        BigInteger,
        ForeignKey("notification_objects.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, nullable=False, default=0),
    # With the run: a search finds an object's runs from the index alone.
    Index("ix_run_objects_object", "object_pk", "run_id"),
    sqlite_only_foreign_key("run_id", "notification_runs.id", ondelete="CASCADE"),
)


def _filter_index(name: str, column: str, *, sparse: bool = False) -> Index:
    """An index for one log filter, ending in the list order; sparse columns index only values."""
    where = text(f"{column} {NOT_NULL}") if sparse else None
    return Index(
        name,
        column,
        "date_created",
        "id",
        sqlite_where=where,
        postgresql_where=where,
    )


class NotificationLog(Base):
    """One recipient of one run: what was decided for them and what happened."""

    __tablename__ = "notification_logs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger)
    # Type and medium repeat the run's so that log filters never need a join.
    notification_type: Mapped[NotificationType] = mapped_column(
        enum_column_type(NotificationType, "notification_type")
    )
    medium: Mapped[Medium] = mapped_column(enum_column_type(Medium, "medium"))
    status: Mapped[LogStatus] = mapped_column(enum_column_type(LogStatus, "log_status"))
    recipient_type: Mapped[RecipientType] = mapped_column(
        enum_column_type(RecipientType, "recipient_type")
    )
    recipient_user_id: Mapped[int | None] = mapped_column(BigInteger)
    recipient_email: Mapped[str | None] = mapped_column(String(320))
    recipient_entity_id: Mapped[int | None] = mapped_column(BigInteger)
    recipient_channel: Mapped[str | None] = mapped_column(String(255))
    ignored_reason: Mapped[IgnoredReason | None] = mapped_column(
        enum_column_type(IgnoredReason, "ignored_reason")
    )
    failed_reason: Mapped[FailedReason | None] = mapped_column(
        enum_column_type(FailedReason, "failed_reason")
    )
    error_message: Mapped[str | None] = mapped_column(Text)
    date_created: Mapped[datetime] = mapped_column(UtcDateTime)
    date_updated: Mapped[datetime] = mapped_column(UtcDateTime)
    date_delivered: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Why the engine chose this recipient, and (when ignored or failed) a sentence saying
    # what it decided; served by tidings' own endpoints, not the Cortex ones.
    why: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        enum_check("notification_type", NotificationType),
        enum_check("medium", Medium),
        enum_check("status", LogStatus),
        enum_check("recipient_type", RecipientType),
        enum_check("ignored_reason", IgnoredReason),
        enum_check("failed_reason", FailedReason),
        sqlite_only_foreign_key("run_id", "notification_runs.id", ondelete="CASCADE"),
        Index("ix_logs_created", "date_created", "id"),
        _filter_index("ix_logs_run_created", "run_id"),
        _filter_index("ix_logs_type_created", "notification_type"),
        _filter_index("ix_logs_status_created", "status"),
        _filter_index("ix_logs_medium_created", "medium"),
        _filter_index("ix_logs_recipient_type_created", "recipient_type"),
        # Addresses are kept as given and matched case-insensitively, through lower().
        Index(
            "ix_logs_email_created",
            func.lower(text("recipient_email")),
            "date_created",
            "id",
            sqlite_where=text(f"recipient_email {NOT_NULL}"),
            postgresql_where=text(f"recipient_email {NOT_NULL}"),
        ),
        _filter_index("ix_logs_entity_created", "recipient_entity_id", sparse=True),
        _filter_index("ix_logs_channel_created", "recipient_channel", sparse=True),
        _filter_index("ix_logs_ignored_created", "ignored_reason", sparse=True),
        _filter_index("ix_logs_failed_created", "failed_reason", sparse=True),
    )


class LogTally(Base):
    """How many logs share one day and one combination of the enum-valued filter columns.

    Database triggers keep it exact in the same transaction as every write to the logs, so
    `total` for the enum filters is a sum over a few thousand rows instead of a count over
    millions. A reason column holds '' when the log has no reason (key columns are NOT NULL).
    """

    __tablename__ = "notification_log_tallies"

    day: Mapped[int] = mapped_column(Integer, primary_key=True)  # days since 1970-01-01 UTC
    notification_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    medium: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    recipient_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    ignored_reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    failed_reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


# SQLite keeps these tallies in their primary key's b-tree alone (WITHOUT ROWID): a write
# through a trigger then changes one b-tree instead of a table and its key's index.
WITHOUT_ROWID_ON_SQLITE = {"sqlite_with_rowid": False}


class LogHourTally(Base):
    """As `LogTally`, for one hour: the whole hours of a date range's partial end days."""

    __tablename__ = "notification_log_hour_tallies"
    __table_args__ = WITHOUT_ROWID_ON_SQLITE

    hour: Mapped[int] = mapped_column(Integer, primary_key=True)  # hours since 1970-01-01 UTC
    notification_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    medium: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    recipient_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    ignored_reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    failed_reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class LogAddressTally(Base):
    """How many logs one address (lowered) received on one day, kept exact by triggers like
    `LogTally`: `total` for recipientEmails without other filters."""

    __tablename__ = "notification_log_address_tallies"
    __table_args__ = WITHOUT_ROWID_ON_SQLITE

    recipient_email: Mapped[str] = mapped_column(String(320), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class RunTallyKey:
    """The run filters' columns a run tally counts by (a mixin of both run tallies);
    `delivered` is `delivered_count >= 1`."""

    notification_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    medium: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    ignored_reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    failed_reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivered: Mapped[bool] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class RunTally(RunTallyKey, Base):
    """How many runs share one day and one combination of the run filters' columns, kept
    exact by triggers like `LogTally`."""

    __tablename__ = "notification_run_tallies"
    __table_args__ = WITHOUT_ROWID_ON_SQLITE

    day: Mapped[int] = mapped_column(Integer, primary_key=True)


class RunHourTally(RunTallyKey, Base):
    """As `RunTally`, for one hour."""

    __tablename__ = "notification_run_hour_tallies"
    __table_args__ = WITHOUT_ROWID_ON_SQLITE

    hour: Mapped[int] = mapped_column(Integer, primary_key=True)


class RunSummary(Base):
    """A summary that some run holds, listed once: what `searchQuery` matches in place of
    every run's summary. Database triggers list each summary a run is written with; an entry
    no run holds any more stays until retention prunes it (see `tidings.logs.search`)."""

    __tablename__ = "notification_run_summaries"
    __table_args__ = WITHOUT_ROWID_ON_SQLITE

    summary: Mapped[str] = mapped_column(Text, primary_key=True)
