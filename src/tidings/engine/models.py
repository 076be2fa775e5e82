"""What the engine keeps beside runs and logs: events, rendered contents, the outbox."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from tidings.enums import AttemptOutcome, Medium, NotificationType
from tidings.kit.orm import (
    Base,
    BigIntId,
    UtcDateTime,
    enum_check,
    enum_column_type,
    sqlite_only_foreign_key,
)


class NotificationEvent(Base):
    """Something that happened in the platform, as it was accepted, and the first answer."""

    __tablename__ = "notification_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    notification_type: Mapped[NotificationType] = mapped_column(
        enum_column_type(NotificationType, "notification_type")
    )
    # Unique while remembered; a key older than the idempotency window is released (set to
    # NULL) when the same key arrives again.
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    payload: Mapped[str] = mapped_column(Text)  # the event as JSON
    answer: Mapped[str | None] = mapped_column(Text)  # the first response as JSON
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        enum_check("notification_type", NotificationType),
        Index("ix_events_received", "received_at"),
    )


class NotificationContent(Base):
    """The message rendered for one log, kept for re-runs and the admin page until purged."""

    __tablename__ = "notification_contents"

    log_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the medium's structured form, as JSON
    date_created: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        sqlite_only_foreign_key("log_id", "notification_logs.id", ondelete="CASCADE"),
        Index("ix_contents_created", "date_created"),
    )


# The destinations a run has reached so far: claiming one twice is a DUPLICATE. Kept in the
# database so a run of a hundred thousand recipients needs no set of them in memory.
run_destinations = Table(
    "notification_run_destinations",
    Base.metadata,
    Column("run_id", BigInteger, primary_key=True),
    Column("destination", String(600), primary_key=True),
    sqlite_only_foreign_key("run_id", "notification_runs.id", ondelete="CASCADE"),
)


class OutboxMessage(Base):
    """A message the outbox medium "sent": what a real provider would have received."""

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    log_id: Mapped[int] = mapped_column(BigInteger)
    medium: Mapped[Medium] = mapped_column(enum_column_type(Medium, "medium"))
    destination: Mapped[str] = mapped_column(String(600))
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    date_sent: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        enum_check("medium", Medium),
        sqlite_only_foreign_key("log_id", "notification_logs.id", ondelete="CASCADE"),
        Index("ix_outbox_log", "log_id"),
        Index("ix_outbox_sent", "date_sent"),
    )


class Delivery(Base):
    """Where sending a READY log stands once a try has not settled it: how many tries, how
    many of them counted against the retry budget, and when to try next."""

    __tablename__ = "notification_deliveries"

    log_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        sqlite_only_foreign_key("log_id", "notification_logs.id", ondelete="CASCADE"),
        Index("ix_deliveries_run_next", "run_id", "next_attempt_at"),
    )


class DeliveryAttempt(Base):
    """One try to hand a log's message to its provider, as the provider answered it."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    log_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    latency_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[AttemptOutcome] = mapped_column(
        enum_column_type(AttemptOutcome, "attempt_outcome")
    )
    # The HTTP status, or the SMTP reply code.
    status_code: Mapped[int | None] = mapped_column(Integer)
    # x-slack-req-id, the SMTP queue id, a request id header...
    provider_request_id: Mapped[str | None] = mapped_column(String(255))
    error_message: Mapped[str | None] = mapped_column(Text)
    # The start of the provider's answer, with anything secret-looking masked.
    response_excerpt: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        enum_check("outcome", AttemptOutcome),
        sqlite_only_foreign_key("log_id", "notification_logs.id", ondelete="CASCADE"),
        Index("ix_attempts_log", "log_id", "number"),
    )
