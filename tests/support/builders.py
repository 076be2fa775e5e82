"""Put exactly the runs and logs a test describes into a store."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from tidings.enums import (
    LogStatus,
    Medium,
    NotificationType,
    ObjectType,
    RecipientType,
    RunStatus,
)
from tidings.logs import repository
from tidings.logs.repository import NewLog, NewRun, RunObjectLink

BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@dataclass
class RunSpec:
    """A run to store: any NewRun field may be given; logs are dicts of NewLog fields."""

    fields: dict[str, Any] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)


def run_defaults(when: datetime) -> dict[str, Any]:
    """A completed Slack SERVICE_REEVALUATED run at `when`."""
    return {
        "notification_type": NotificationType.SERVICE_REEVALUATED,
        "medium": Medium.SLACK,
        "status": RunStatus.COMPLETED,
        "summary": "Entity evaluation: Payments API",
        "delivered_count": 0,
        "ignored_reason": None,
        "failed_reason": None,
        "error_message": None,
        "original_run_id": None,
        "seq_no": 0,
        "date_created": when,
        "date_updated": when,
    }


def log_defaults(run: dict[str, Any]) -> dict[str, Any]:
    """A delivered USER log of `run`."""
    return {
        "run_id": run["id"],
        "notification_type": run["notification_type"],
        "medium": run["medium"],
        "status": LogStatus.DELIVERED,
        "recipient_type": RecipientType.USER,
        "recipient_user_id": 1001,
        "recipient_email": "ada.berg@example.com",
        "recipient_entity_id": None,
        "recipient_channel": None,
        "ignored_reason": None,
        "failed_reason": None,
        "error_message": None,
        "date_created": run["date_created"],
        "date_updated": run["date_created"],
        "date_delivered": run["date_created"],
    }


def store_runs(engine: Engine, specs: list[RunSpec]) -> list[int]:
    """Insert the runs (with their logs and objects); returns the run ids in order.

    A run's delivered_count defaults to the number of its DELIVERED logs.
    """
    with engine.begin() as connection:
        next_id = repository.reserve_ids(connection).next_run_number
        runs, logs, links = [], [], []
        for offset, spec in enumerate(specs):
            row = run_defaults(BASE_TIME + timedelta(minutes=offset)) | {"id": next_id + offset}
            row |= spec.fields
            made = [log_defaults(row) | given for given in spec.logs]
            if "delivered_count" not in spec.fields:
                row["delivered_count"] = sum(
                    1 for log in made if log["status"] is LogStatus.DELIVERED
                )
            runs.append(NewRun(**row))
            logs += [NewLog(**log) for log in made]
            if spec.objects:
                keys = repository.upsert_objects(connection, spec.objects)
                links += [
                    RunObjectLink(row["id"], keys[(str(o["object_type"]), int(o["object_id"]))], i)
                    for i, o in enumerate(spec.objects)
                ]
        repository.insert_runs(connection, runs)
        repository.link_objects(connection, links)
        repository.insert_logs(connection, logs)
        repository.sync_ids(connection)
    return [run.id for run in runs]


def entity(object_id: int, name: str, tag: str, cid: str | None = None) -> dict[str, Any]:
    """An ENTITY notification object."""
    return {
        "object_type": ObjectType.ENTITY,
        "object_id": object_id,
        "name": name,
        "tag": tag,
        "cid": cid,
        "url": f"https://tidings.example.com/catalog/{tag}",
    }
