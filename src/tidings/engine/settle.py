"""How a run's final status follows from its logs (docs/decisions: "Run status")."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tidings.enums import LogStatus, RunIgnoredReason, RunStatus


@dataclass(frozen=True)
class Settlement:
    """A run's status, its ignored reason if any, and how many of its logs were delivered."""

    status: RunStatus
    ignored_reason: RunIgnoredReason | None
    delivered_count: int


def settle(statuses: Iterable[LogStatus]) -> Settlement:
    """The run outcome for logs with these statuses (see `settle_counts`)."""
    counts = dict.fromkeys(LogStatus, 0)
    for status in statuses:
        counts[status] += 1
    return settle_counts(counts)


def settle_counts(counts: Mapping[LogStatus, int]) -> Settlement:
    """The run outcome for logs with these statuses.

    CREATED while any log is READY; IGNORED / NO_RECIPIENTS when every log was ignored (or
    there were none); COMPLETED when every log that was sent was delivered;
    COMPLETED_WITH_ERRORS when some were delivered and some failed; FAILED when none was
    delivered and at least one failed.
    """
    delivered, failed = counts.get(LogStatus.DELIVERED, 0), counts.get(LogStatus.FAILED, 0)
    if counts.get(LogStatus.READY, 0):
        return Settlement(RunStatus.CREATED, None, delivered)
    if not delivered and not failed:
        return Settlement(RunStatus.IGNORED, RunIgnoredReason.NO_RECIPIENTS, 0)
    if not failed:
        return Settlement(RunStatus.COMPLETED, None, delivered)
    if delivered:
        return Settlement(RunStatus.COMPLETED_WITH_ERRORS, None, delivered)
    return Settlement(RunStatus.FAILED, None, 0)
