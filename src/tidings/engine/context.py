"""Stage 1: what an event is about, looked up in the catalog.

A missing object is not bad input (the event may name something deleted since): the runs
fail with CONTEXT_RESOLUTION_ERROR and the sentence says what was missing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection

from tidings.catalog import repository as catalog
from tidings.catalog.enums import EntityOrigin
from tidings.catalog.records import EntityRecord, InitiativeRecord, ScorecardRecord
from tidings.engine.schemas import EventIn, ObjectRef
from tidings.enums import ObjectType


class ContextError(Exception):
    """The event names something the catalog does not hold."""


@dataclass(frozen=True)
class Context:
    """An event with the catalog records it concerns."""

    event: EventIn
    entity: EntityRecord | None
    scorecard: ScorecardRecord | None
    initiative: InitiativeRecord | None
    public_url: str
    backstage_url: str | None = None

    @property
    def missing_backstage_url(self) -> bool:
        """Whether the entity lives in Backstage and no Backstage URL is set to link to it."""
        entity = self.entity
        return (
            entity is not None
            and entity.origin is EntityOrigin.BACKSTAGE
            and not self.backstage_url
        )

    def entity_url(self, entity: EntityRecord) -> str:
        """Where the entity's page is: Backstage's catalog for Backstage entities."""
        if entity.origin is EntityOrigin.BACKSTAGE and self.backstage_url:
            kind = "group" if entity.is_team else "component"
            return f"{self.backstage_url}/catalog/default/{kind}/{entity.tag}"
        return f"{self.public_url}/catalog/{entity.tag}"

    def object_rows(self) -> list[dict[str, Any]]:
        """The run's notification objects, as rows of `notification_objects`, in order."""
        rows: list[dict[str, Any]] = []
        if self.entity is not None:
            rows.append(
                _row(
                    ObjectType.ENTITY,
                    self.entity.id,
                    self.entity.name,
                    self.entity.tag,
                    self.entity.cid,
                    self.entity_url(self.entity),
                )
            )
        if self.scorecard is not None:
            rows.append(
                _row(
                    ObjectType.SCORECARD,
                    self.scorecard.id,
                    self.scorecard.name,
                    self.scorecard.tag,
                    None,
                    f"{self.public_url}/scorecards/{self.scorecard.tag}",
                )
            )
        if self.initiative is not None:
            rows.append(
                _row(
                    ObjectType.INITIATIVE,
                    self.initiative.id,
                    self.initiative.name,
                    self.initiative.tag,
                    self.initiative.cid,
                    f"{self.public_url}/initiatives/{self.initiative.cid}",
                )
            )
        return rows

    def link(self) -> str:
        """Where the message's main link points."""
        rows = self.object_rows()
        return str(rows[0]["url"]) if rows else self.public_url

    def summary(self, display_name: str) -> str:
        """The run's one-line summary: the type's name and what it concerns."""
        about = ", ".join(str(row["name"]) for row in self.object_rows())
        return f"{display_name}: {about}" if about else display_name


def _row(
    object_type: ObjectType, object_id: int, name: str, tag: str, cid: str | None, url: str
) -> dict[str, Any]:
    return {
        "object_type": object_type,
        "object_id": object_id,
        "name": name,
        "tag": tag,
        "cid": cid,
        "url": url,
    }


Found = TypeVar("Found")


def _lookup(
    connection: Connection,
    ref: ObjectRef,
    by_tag: Callable[[Connection, str], Found | None],
    by_id: Callable[[Connection, int], Found | None],
) -> Found:
    found = by_tag(connection, ref.tag) if ref.tag is not None else by_id(connection, ref.id or 0)
    if found is None:
        raise ContextError(f"the {ref.describe()} does not exist in the catalog")
    return found


def resolve_context(
    connection: Connection, event: EventIn, public_url: str, backstage_url: str | None = None
) -> Context:
    """The catalog records the event names; raises ContextError for a missing one."""
    entity = scorecard = initiative = None
    for ref in event.objects:
        if ref.type is ObjectType.ENTITY and entity is None:
            entity = _lookup(connection, ref, catalog.entity_by_tag, catalog.entity_by_id)
        elif ref.type is ObjectType.SCORECARD and scorecard is None:
            scorecard = _lookup(connection, ref, catalog.scorecard_by_tag, catalog.scorecard_by_id)
        elif ref.type is ObjectType.INITIATIVE and initiative is None:
            initiative = _lookup(
                connection, ref, catalog.initiative_by_tag, catalog.initiative_by_id
            )
    if initiative is not None and scorecard is None:
        scorecard = catalog.scorecard_by_tag(connection, initiative.scorecard_tag)
        if scorecard is None:
            raise ContextError(
                f"the initiative {initiative.tag} follows the scorecard "
                f"{initiative.scorecard_tag}, which does not exist in the catalog"
            )
    return Context(
        event,
        entity,
        scorecard,
        initiative,
        public_url.rstrip("/"),
        backstage_url.rstrip("/") if backstage_url else None,
    )
