"""How long the retention purge takes, and what the API answers while it runs.

Builds a SQLite store whose generated history spans 60 days, so about half of its logs are
past the 30-day retention; serves it with `tidings serve` in a subprocess; then purges in
this process (as the scheduler would, in batches) while a client keeps reading the first
page of logs and of runs. The issue's requirement: purging a million rows does not block
the API. The last line of output is one JSON object with the figures.
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_latency import ApiClient, create_api_key, serving
from tidings.generator.history import HistorySpec, write_history
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import upgrade
from tidings.logs.models import NotificationLog, NotificationRun
from tidings.schedules.retention import purge

TARGETS = (
    "/api/v1/notifications/logs?pageSize=50",
    "/api/v1/notifications/logs/run?pageSize=50&deliveredOnly=false",
)


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(latencies: list[float]) -> dict[str, float]:
    """Median, 99th percentile and maximum, in milliseconds."""
    if not latencies:
        return {"requests": 0}
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
    }


def read_while(client: ApiClient, running: threading.Event, latencies: list[float]) -> int:
    """Read both first pages in turn until `running` is cleared; returns the errors."""
    errors = 0
    index = 0
    while running.is_set():
        try:
            elapsed, _body = client.get(TARGETS[index % len(TARGETS)])
            latencies.append(elapsed)
        except RuntimeError as error:
            errors += 1
            print(f"error: {error}", file=sys.stderr)
        index += 1
    return errors


def main() -> None:
    """Build, serve, purge, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=2_000_000, help="logs over 60 days")
    parser.add_argument("--quick", action="store_true", help="200,000 logs")
    args = parser.parse_args()
    logs = 200_000 if args.quick else args.logs
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="tidings-retention-") as directory:
        url = f"sqlite:///{Path(directory) / 'tidings.db'}"
        engine = create_db_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        write_history(engine, HistorySpec(runs=None, logs=logs, seed=3, end=now, days=60))
        print(f"generated {logs:,} logs over 60 days in {time.perf_counter() - started:.1f} s")
        cutoff = now - timedelta(days=30)
        with engine.connect() as connection:
            old_logs = connection.scalar(
                select(func.count()).where(NotificationLog.date_created < cutoff)
            )
            old_runs = connection.scalar(
                select(func.count()).where(NotificationRun.date_created < cutoff)
            )
        print(f"past retention: {old_logs:,} logs, {old_runs:,} runs")
        with serving(url) as port:
            client = ApiClient(port, create_api_key(engine))
            before: list[float] = []
            for index in range(200):
                before.append(client.get(TARGETS[index % len(TARGETS)])[0])
            during: list[float] = []
            running = threading.Event()
            running.set()
            errors: list[int] = []
            reader = threading.Thread(
                target=lambda: errors.append(read_while(client, running, during))
            )
            reader.start()
            started = time.perf_counter()
            purged = purge(engine, now, timedelta(days=30), timedelta(days=14))
            purge_seconds = time.perf_counter() - started
            running.clear()
            reader.join()
            client.close()
        with engine.connect() as connection:
            left_old = connection.scalar(
                select(func.count()).where(NotificationLog.date_created < cutoff)
            )
        engine.dispose()
    figures = {
        "logs": logs,
        "purged": purged.counts,
        "purged_rows": purged.total,
        "purge_seconds": round(purge_seconds, 1),
        "purged_rows_per_s": round(purged.total / purge_seconds),
        "old_logs_left": left_old,
        "api_before": summary(before),
        "api_during_purge": summary(during),
        "api_errors_during_purge": sum(errors),
    }
    print(f"purged {purged.total:,} rows in {purge_seconds:.1f} s: {purged.counts}")
    print(f"API before the purge: {figures['api_before']}")
    print(f"API during the purge: {figures['api_during_purge']}, errors {sum(errors)}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
