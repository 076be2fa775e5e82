"""Stage 5: hand a run's READY logs to their medium and record how each attempt ended."""

from collections.abc import Mapping

from sqlalchemy import Engine

from tidings.channels.base import Channel, OutgoingMessage, SendResult
from tidings.engine import repository
from tidings.engine.repository import Outcome, ReadyLog, RunRecord
from tidings.enums import FailedReason, LogStatus, Medium
from tidings.kit.clock import Clock

BATCH = 500


def _message(
    run: RunRecord, log: ReadyLog, identities: Mapping[int, tuple[str | None, str | None]]
) -> OutgoingMessage:
    slack_id, teams_id = identities.get(log.recipient_user_id or 0, (None, None))
    return OutgoingMessage(
        log_id=log.id,
        run_id=run.id,
        medium=run.medium,
        recipient_type=log.recipient_type,
        user_id=log.recipient_user_id,
        email=log.recipient_email,
        channel=log.recipient_channel,
        slack_user_id=slack_id,
        teams_user_id=teams_id,
        subject=log.subject or "",
        text=log.text or "",
        body=log.body or "{}",
    )


def _outcome(log_id: int, result: SendResult) -> Outcome:
    if result.delivered:
        return Outcome(log_id, LogStatus.DELIVERED)
    return Outcome(
        log_id,
        LogStatus.FAILED,
        result.failed_reason or FailedReason.CLIENT_ERROR,
        result.error_message,
        result.error_message,
    )


async def _send_all(channel: Channel, messages: list[OutgoingMessage]) -> list[SendResult]:
    if not messages:
        return []
    try:
        return await channel.send_batch(messages)
    except Exception as error:  # a medium's bug must not leave the logs READY forever
        failed = SendResult.failed(FailedReason.CLIENT_ERROR, f"the medium failed: {error}")
        return [failed] * len(messages)


async def deliver_run(
    engine: Engine, run: RunRecord, channels: Mapping[Medium, Channel], clock: Clock
) -> int:
    """Send every READY log of a fully expanded run; returns how many were attempted."""
    channel = channels[run.medium]
    attempted, after = 0, 0
    while True:
        with engine.connect() as connection:
            ready = repository.ready_logs(connection, run.id, after, BATCH)
            identities = repository.chat_identities(
                connection, [log.recipient_user_id for log in ready if log.recipient_user_id]
            )
        if not ready:
            return attempted
        after = ready[-1].id
        sendable = [log for log in ready if log.subject is not None]
        missing = [
            Outcome(
                log.id,
                LogStatus.FAILED,
                FailedReason.MISSING_CONTENT,
                "the message content is no longer stored",
                "the message content is no longer stored",
            )
            for log in ready
            if log.subject is None
        ]
        results = await _send_all(channel, [_message(run, log, identities) for log in sendable])
        outcomes = missing + [
            _outcome(log.id, result) for log, result in zip(sendable, results, strict=True)
        ]
        with engine.begin() as connection:
            repository.record_outcomes(connection, outcomes, clock())
        attempted += len(outcomes)
