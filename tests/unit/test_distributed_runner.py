"""The distributed runner's pure parts: cron lines for periods, the libpq URL, and how long
the reconciler lets a failing run wait."""

from datetime import timedelta

import pytest

from tidings.runner.distributed import (
    REQUEUE_BACKOFF_FIRST_S,
    REQUEUE_BACKOFF_MAX_S,
    conninfo_of,
    every_seconds_cron,
    requeue_delay,
    run_lock,
)

MINUTE = timedelta(seconds=REQUEUE_BACKOFF_FIRST_S)


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        pytest.param(1, "* * * * * */1", id="every second"),
        pytest.param(15, "* * * * * */15", id="divides a minute"),
        pytest.param(60, "*/1 * * * *", id="a minute"),
        pytest.param(300, "*/5 * * * *", id="divides an hour"),
        pytest.param(3600, "*/60 * * * *", id="an hour"),
    ],
)
def test_a_period_that_fits_a_cron_line_becomes_one(seconds: float, cron: str) -> None:
    assert every_seconds_cron(seconds) == cron


@pytest.mark.parametrize(
    ("seconds", "reason"),
    [
        pytest.param(45, "does not divide a minute or an hour", id="45 s"),
        pytest.param(90, "does not divide a minute or an hour", id="90 s"),
        pytest.param(7200, "does not divide a minute or an hour", id="two hours"),
        pytest.param(2.5, "not a whole number of seconds", id="a fraction"),
        pytest.param(0.5, "not a whole number of seconds", id="under a second"),
    ],
)
def test_a_period_that_fits_no_cron_line_is_refused(seconds: float, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        every_seconds_cron(seconds)


def test_the_connection_string_keeps_the_password_and_drops_the_driver() -> None:
    url = "postgresql+psycopg://tidings:s3cret@db.internal:5432/tidings"

    assert conninfo_of(url) == "postgresql://tidings:s3cret@db.internal:5432/tidings"


def test_sqlite_has_no_distributed_runner() -> None:
    with pytest.raises(ValueError, match="needs PostgreSQL"):
        conninfo_of("sqlite:///tidings.db")


def test_every_job_of_a_run_shares_one_lock() -> None:
    assert run_lock(42) == "tidings.run:42"


@pytest.mark.parametrize(
    ("failed_jobs", "delay"),
    [
        pytest.param(0, timedelta(0), id="never failed: at once"),
        pytest.param(1, MINUTE, id="one failure: a minute"),
        pytest.param(2, 2 * MINUTE, id="two: doubled"),
        pytest.param(4, 8 * MINUTE, id="four: doubled twice more"),
        pytest.param(7, timedelta(seconds=REQUEUE_BACKOFF_MAX_S), id="seven: the cap"),
        pytest.param(10_000, timedelta(seconds=REQUEUE_BACKOFF_MAX_S), id="very many: the cap"),
    ],
)
def test_a_run_waits_longer_the_more_of_its_jobs_failed(failed_jobs: int, delay: timedelta) -> None:
    assert requeue_delay(failed_jobs) == delay
