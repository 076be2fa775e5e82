"""A run's status follows from its logs, as the "Run status" decision states it."""

import pytest

from tidings.engine.settle import Settlement, settle
from tidings.enums import LogStatus, RunIgnoredReason, RunStatus

READY, DELIVERED, FAILED, IGNORED = (
    LogStatus.READY,
    LogStatus.DELIVERED,
    LogStatus.FAILED,
    LogStatus.IGNORED,
)
NO_RECIPIENTS = RunIgnoredReason.NO_RECIPIENTS


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        # CREATED until its logs are settled (a retry in progress is still READY).
        pytest.param([READY], Settlement(RunStatus.CREATED, None, 0), id="one ready"),
        pytest.param(
            [DELIVERED, READY, FAILED], Settlement(RunStatus.CREATED, None, 1), id="one still ready"
        ),
        pytest.param(
            [IGNORED, READY], Settlement(RunStatus.CREATED, None, 0), id="ready beside ignored"
        ),
        # All non-ignored logs delivered: COMPLETED.
        pytest.param([DELIVERED], Settlement(RunStatus.COMPLETED, None, 1), id="one delivered"),
        pytest.param([DELIVERED] * 3, Settlement(RunStatus.COMPLETED, None, 3), id="all delivered"),
        pytest.param(
            [IGNORED, DELIVERED, IGNORED],
            Settlement(RunStatus.COMPLETED, None, 1),
            id="delivered beside ignored",
        ),
        # Some delivered and some failed: COMPLETED_WITH_ERRORS.
        pytest.param(
            [DELIVERED, FAILED],
            Settlement(RunStatus.COMPLETED_WITH_ERRORS, None, 1),
            id="delivered and failed",
        ),
        pytest.param(
            [FAILED, DELIVERED, IGNORED, DELIVERED, FAILED],
            Settlement(RunStatus.COMPLETED_WITH_ERRORS, None, 2),
            id="delivered, failed and ignored",
        ),
        # None delivered and at least one failed: FAILED.
        pytest.param([FAILED], Settlement(RunStatus.FAILED, None, 0), id="one failed"),
        pytest.param(
            [FAILED, IGNORED, FAILED],
            Settlement(RunStatus.FAILED, None, 0),
            id="failed beside ignored",
        ),
        # All logs ignored: IGNORED with NO_RECIPIENTS.
        pytest.param([IGNORED], Settlement(RunStatus.IGNORED, NO_RECIPIENTS, 0), id="one ignored"),
        pytest.param(
            [IGNORED] * 4, Settlement(RunStatus.IGNORED, NO_RECIPIENTS, 0), id="all ignored"
        ),
        pytest.param([], Settlement(RunStatus.IGNORED, NO_RECIPIENTS, 0), id="no logs at all"),
    ],
)
def test_run_status_follows_from_its_logs(statuses: list[LogStatus], expected: Settlement) -> None:
    assert settle(statuses) == expected


@pytest.mark.parametrize(
    "statuses",
    [
        [DELIVERED] * 5,
        [DELIVERED, FAILED, DELIVERED, IGNORED],
        [READY, DELIVERED, DELIVERED],
        [FAILED, IGNORED],
        [],
    ],
)
def test_delivered_count_is_the_number_of_delivered_logs(statuses: list[LogStatus]) -> None:
    assert settle(statuses).delivered_count == statuses.count(DELIVERED)


def test_order_of_the_logs_does_not_matter() -> None:
    statuses = [FAILED, IGNORED, DELIVERED, DELIVERED, FAILED]

    assert settle(statuses) == settle(reversed(statuses)) == settle(sorted(statuses))


def test_any_iterable_of_statuses_is_accepted() -> None:
    assert settle(iter([DELIVERED, FAILED])).status is RunStatus.COMPLETED_WITH_ERRORS
