"""A catalog stated in a few lines: Cortex descriptors and tidings/v1 documents as data.

Each builder returns one YAML document (a dict); `load_catalog` writes them to files and
imports them through the catalog service, the way `tidings import` does.
"""

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from tests.support.catalog import import_paths

Document = dict[str, Any]


def member(email: str, *, enabled: bool = True, name: str | None = None) -> dict[str, Any]:
    """A member of a Cortex team, with their `notificationsEnabled`."""
    return {
        "name": name or email.split("@")[0].title(),
        "email": email,
        "notificationsEnabled": enabled,
    }


def channel(name: str, *, enabled: bool = True) -> dict[str, Any]:
    """A Slack or Microsoft Teams channel, with its `notificationsEnabled`."""
    return {"name": name, "notificationsEnabled": enabled}


def webhook(
    name: str,
    url: str | None = None,
    *,
    enabled: bool = True,
    types: Iterable[str] = (),
) -> dict[str, Any]:
    """An entry of `x-tidings-webhooks` (its URL made from the name unless given)."""
    declared: dict[str, Any] = {
        "name": name,
        "url": url or f"https://hooks.example.com/{name}?token=s3cr3t-{name}",
        "notificationsEnabled": enabled,
    }
    if types:
        declared["types"] = list(types)
    return declared


def team_owner(tag: str) -> dict[str, Any]:
    """An owner that is the tidings team with this tag."""
    return {"type": "group", "name": tag, "provider": "CORTEX"}


def email_owner(email: str) -> dict[str, Any]:
    """An owner named by email address (a user or not)."""
    return {"type": "email", "email": email}


def _descriptor(
    tag: str,
    entity_type: str,
    *,
    owners: Iterable[Mapping[str, Any]] = (),
    slack: Iterable[Mapping[str, Any]] = (),
    teams: Iterable[Mapping[str, Any]] = (),
    members: Iterable[Mapping[str, Any]] = (),
    webhooks: Iterable[Mapping[str, Any]] = (),
    name: str | None = None,
) -> Document:
    info: dict[str, Any] = {
        "title": name or tag.replace("-", " ").title(),
        "x-cortex-tag": tag,
        "x-cortex-type": entity_type,
    }
    if owners:
        info["x-cortex-owners"] = [dict(owner) for owner in owners]
    if slack:
        info["x-cortex-slack"] = {"channels": [dict(item) for item in slack]}
    if teams:
        info["x-cortex-microsoft-teams"] = [dict(item) for item in teams]
    if members:
        info["x-cortex-team"] = {"members": [dict(item) for item in members]}
    if webhooks:
        info["x-tidings-webhooks"] = [dict(item) for item in webhooks]
    return {"openapi": "3.0.1", "info": info}


def team(
    tag: str,
    *members: Mapping[str, Any],
    slack: Iterable[Mapping[str, Any]] = (),
    teams: Iterable[Mapping[str, Any]] = (),
    owners: Iterable[Mapping[str, Any]] = (),
    webhooks: Iterable[Mapping[str, Any]] = (),
) -> Document:
    """A Cortex team descriptor with its members, channels and webhooks."""
    return _descriptor(
        tag,
        "team",
        owners=owners,
        slack=slack,
        teams=teams,
        members=members,
        webhooks=webhooks,
    )


def service(
    tag: str,
    *,
    owners: Iterable[Mapping[str, Any]] = (),
    slack: Iterable[Mapping[str, Any]] = (),
    teams: Iterable[Mapping[str, Any]] = (),
    webhooks: Iterable[Mapping[str, Any]] = (),
    entity_type: str = "service",
    name: str | None = None,
) -> Document:
    """A Cortex entity descriptor (a service unless told otherwise)."""
    return _descriptor(
        tag,
        entity_type,
        owners=owners,
        slack=slack,
        teams=teams,
        webhooks=webhooks,
        name=name,
    )


def user(
    email: str,
    *,
    name: str | None = None,
    admin: bool = False,
    cortex_employee: bool = False,
    slack_user_id: str | None = None,
    subscriptions: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A tidings user."""
    declared: dict[str, Any] = {"email": email, "name": name or email.split("@")[0].title()}
    if admin:
        declared["role"] = "ADMIN"
    if cortex_employee:
        declared["cortexEmployee"] = True
    if slack_user_id is not None:
        declared["slackUserId"] = slack_user_id
    if subscriptions:
        declared["subscriptions"] = [dict(item) for item in subscriptions]
    return declared


def unsubscribed(notification_type: str, medium: str | None = None) -> dict[str, Any]:
    """A personal choice not to get a type (over one medium, or every medium)."""
    choice: dict[str, Any] = {"type": notification_type, "subscribed": False}
    if medium is not None:
        choice["medium"] = medium
    return choice


def subscribed(notification_type: str, medium: str | None = None) -> dict[str, Any]:
    """A personal choice to get a type (over one medium, or every medium)."""
    return unsubscribed(notification_type, medium) | {"subscribed": True}


def scorecard(
    tag: str,
    *,
    draft: bool = False,
    enabled: bool | None = None,
    score_drop: bool = False,
    types: Iterable[str] = ("service",),
    tags: Iterable[str] = (),
) -> dict[str, Any]:
    """A scorecard of the tidings format, applying to entities of `types` or `tags`."""
    notifications: dict[str, Any] = {"scoreDropNotificationsEnabled": score_drop}
    if enabled is not None:
        notifications["enabled"] = enabled
    applies: dict[str, Any] = {"types": list(types)}
    if tags:
        applies["tags"] = list(tags)
    return {
        "tag": tag,
        "name": tag.replace("-", " ").title(),
        "draft": draft,
        "notifications": notifications,
        "appliesTo": applies,
        "rules": [{"name": "Has docs", "expression": "docs != null"}],
    }


def initiative(
    tag: str,
    scorecard_tag: str,
    *,
    target_date: str = "2027-03-31",
    schedule_disabled: bool | None = None,
) -> dict[str, Any]:
    """An initiative of the tidings format (with a weekly schedule when told its switch)."""
    declared: dict[str, Any] = {
        "tag": tag,
        "name": tag.replace("-", " ").title(),
        "scorecard": scorecard_tag,
        "targetDate": target_date,
    }
    if schedule_disabled is not None:
        declared["notificationSchedule"] = {
            "isDisabled": schedule_disabled,
            "timeInterval": 1,
            "timeUnit": "WEEK",
        }
    return declared


def shift(entity: str, email: str, starts_at: str, ends_at: str) -> dict[str, Any]:
    """An on-call shift of the tidings format."""
    return {"entity": entity, "email": email, "startsAt": starts_at, "endsAt": ends_at}


def tidings(**sections: Any) -> Document:
    """A tidings/v1 document: `users`, `scorecards`, `initiatives`, `oncall`, `workspace`..."""
    return {"kind": "tidings/v1", **sections}


def write_documents(directory: Path, *documents: Document) -> list[Path]:
    """Write each document to a new file of its own under `directory`, numbered in order."""
    directory.mkdir(parents=True, exist_ok=True)
    start = len(list(directory.glob("*.yaml")))
    paths = []
    for offset, document in enumerate(documents):
        path = directory / f"{start + offset:03d}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        paths.append(path)
    return paths


def load_catalog(engine: Engine, directory: Path, *documents: Document) -> None:
    """Write each document to its own file under `directory` and import them all, in order;
    fails the test when any file is refused."""
    paths = write_documents(directory, *documents)
    refused = [outcome for outcome in import_paths(engine, *paths) if not outcome.imported]
    assert not refused, [(outcome.path.name, outcome.errors) for outcome in refused]
