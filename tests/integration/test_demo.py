"""The demo replays plausible events over the example catalog, and every run status shows."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.catalog import import_paths
from tidings.demo import backfill, demo_event, read_catalog
from tidings.enums import RunStatus
from tidings.logs.models import NotificationLog, NotificationRun
from tidings.runtime import Runtime
from tidings.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "catalog"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def demo_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A migrated SQLite store with the example catalog imported."""
    from tidings.kit.migrate import upgrade

    settings = Settings(database_url=f"sqlite:///{tmp_path}/demo.db")
    runtime = Runtime.from_settings(settings, clock=lambda: NOW)
    upgrade(runtime.engine)
    assert all(outcome.imported for outcome in import_paths(runtime.engine, EXAMPLES))
    yield runtime
    runtime.close()


def test_demo_events_are_reproducible_for_a_seed(demo_runtime: Runtime) -> None:
    import random

    world = read_catalog(demo_runtime.engine)
    first = [demo_event(random.Random(5), world) for _ in range(3)]
    again = [demo_event(random.Random(5), world) for _ in range(3)]

    assert first == again


@pytest.mark.slow
def test_a_backfill_shows_every_settled_run_status_and_many_reasons(
    demo_runtime: Runtime,
) -> None:
    made = backfill(demo_runtime, events=150, days=14)

    with demo_runtime.engine.connect() as connection:
        runs = Counter(
            dict(
                connection.execute(
                    select(NotificationRun.status, func.count()).group_by(NotificationRun.status)
                ).all()
            )
        )
        log_reasons = {
            reason
            for column in (NotificationLog.ignored_reason, NotificationLog.failed_reason)
            for reason in connection.scalars(select(column).distinct())
            if reason is not None
        }
        dates = connection.execute(
            select(func.min(NotificationRun.date_created), func.max(NotificationRun.date_created))
        ).one()

    assert sum(runs.values()) == made
    assert {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.IGNORED} <= set(runs)
    assert RunStatus.CREATED not in runs
    assert len(log_reasons) >= 5
    first, last = dates
    assert (last - first).days >= 12


def test_the_demo_delivers_over_every_medium_to_its_emulators(tmp_path: Path) -> None:
    from tidings.demo import delivery_settings, seed_slack, start_emulators
    from tidings.kit.migrate import upgrade

    # The fixed ports `make demo` uses, which the example catalog's Teams and webhook URLs
    # name: this fails (saying so) while a demo or `tidings emulators` runs on this machine.
    suite = start_emulators()
    try:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path}/demo.db", **delivery_settings(suite)
        )
        runtime = Runtime.from_settings(settings, clock=lambda: NOW)
        try:
            upgrade(runtime.engine)
            assert all(outcome.imported for outcome in import_paths(runtime.engine, EXAMPLES))
            seed_slack(suite, runtime.engine)
            backfill(runtime, events=60, days=14)
        finally:
            runtime.close()
        received = {name: emulator.received.total for name, emulator in suite.emulators.items()}
        hooks = suite.webhook.received.items()
    finally:
        suite.stop()
    assert all(count > 0 for count in received.values()), received
    assert all(hook["signature_valid"] for hook in hooks)
