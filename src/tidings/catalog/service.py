"""Importing catalog files: each file read and checked whole, then written in one transaction.

A file with any problem writes nothing and the others still import. Writing is by natural
key (tag, email), so ids never change across re-imports and an unchanged file writes
nothing. What a file declares replaces what the same file declared before: owners, channels,
members, rules, subscriptions, shifts, verification periods. Records are never deleted
because their declaration disappeared (their ids may be in notification logs).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from tidings.catalog import repository
from tidings.catalog.declarations import FileDeclarations
from tidings.catalog.importers.files import catalog_files, read_catalog_file
from tidings.catalog.importers.source import InvalidSourceError, SourceError
from tidings.kit.clock import Clock, system_clock


@dataclass
class Tally:
    """How many declarations of a file were new, changed, already stored, or taken away."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0

    def count(self, created: bool, changed: bool) -> None:
        """Count one declaration written by key."""
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1

    def count_sync(self, synced: repository.Synced) -> None:
        """Count the rows of a file-wide list (shifts, periods) as declarations."""
        self.created += len(synced.inserted)
        self.updated += len(synced.updated)
        self.unchanged += len(synced.unchanged)
        self.removed += len(synced.deleted)

    def add(self, other: "Tally") -> None:
        """Add another file's counts to these."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed
        self.skipped += other.skipped

    def describe(self) -> str:
        """`3 created, 1 updated, 40 unchanged` (removed and skipped only when there are any)."""
        counts = [(self.created, "created"), (self.updated, "updated")]
        counts += [
            (self.unchanged, "unchanged"),
            (self.removed, "removed"),
            (self.skipped, "skipped"),
        ]
        return ", ".join(
            f"{count} {word}" for index, (count, word) in enumerate(counts) if count or index < 3
        )


@dataclass(frozen=True)
class FileOutcome:
    """What importing one file did: its counts, or the problems that kept it out."""

    path: Path
    tally: Tally = field(default_factory=Tally)
    errors: tuple[SourceError, ...] = ()

    @property
    def imported(self) -> bool:
        """Whether the file was written."""
        return not self.errors


def import_catalog(
    engine: Engine, paths: Iterable[Path], clock: Clock = system_clock
) -> Iterator[FileOutcome]:
    """Import every catalog file given or found under the directories given, one by one."""
    for path in catalog_files(paths):
        yield import_file(engine, path, clock)


def import_file(engine: Engine, path: Path, clock: Clock = system_clock) -> FileOutcome:
    """Read and check one file whole, then write it in one transaction (or not at all)."""
    try:
        declarations = read_catalog_file(path)
    except InvalidSourceError as error:
        return FileOutcome(path, errors=error.errors)
    try:
        with engine.begin() as connection:
            tally = write_declarations(connection, declarations, source_of(path), clock())
    except InvalidSourceError as error:
        return FileOutcome(path, errors=error.errors)
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        first_line = str(reason).strip().splitlines()[0]
        return FileOutcome(path, errors=(SourceError(None, f"not stored: {first_line}"),))
    return FileOutcome(path, tally)


def source_of(path: Path) -> str:
    """How records remember the file they came from: its absolute path."""
    return path.resolve().as_posix()


def write_declarations(
    connection: Connection, declared: FileDeclarations, source: str, now: datetime
) -> Tally:
    """Write everything one file declares; returns what was created, updated and unchanged."""
    tally = Tally(skipped=declared.skipped)
    members = repository.save_team_members(connection, source, declared.members())
    changed_members = members.changed_keys()
    renamed = _ensure_member_users(connection, declared, source)

    _refuse_taken_webhooks(connection, declared)
    for entity in declared.entities:
        saved = repository.save_entity(connection, entity, source)
        touched = any(team == entity.tag for team, _ in changed_members) or any(
            member.email in renamed for member in entity.members
        )
        tally.count(saved.created, saved.changed or touched)
    for user in declared.users:
        saved = repository.save_user(connection, user, source)
        touched = any(email == user.email for _, email in changed_members)
        tally.count(saved.created, saved.changed or touched)
    tally.removed += len(_unclaimed(members.deleted, declared))

    for scorecard in declared.scorecards:
        saved = repository.save_scorecard(connection, scorecard, source)
        tally.count(saved.created, saved.changed)
    for initiative in declared.initiatives:
        saved = repository.save_initiative(connection, initiative, source, now)
        tally.count(saved.created, saved.changed)
    tally.count_sync(repository.save_shifts(connection, source, declared.shifts))
    tally.count_sync(repository.save_periods(connection, source, declared.periods))
    for settings in declared.workspaces:
        saved = repository.save_workspace(connection, settings, source)
        tally.count(saved.created, saved.changed)
    return tally


def _refuse_taken_webhooks(connection: Connection, declared: FileDeclarations) -> None:
    """A webhook whose name or URL another entity already uses (the URL is not shown: it
    may hold a secret)."""
    errors = []
    for entity in declared.entities:
        for webhook in entity.webhooks:
            for taken in repository.webhooks_named_or_at(connection, webhook.name, webhook.url):
                if taken.entity_tag == entity.tag:
                    continue
                what = "name" if taken.name == webhook.name else "URL"
                errors.append(
                    SourceError(
                        entity.line,
                        f"webhook '{webhook.name}' of {entity.tag}: its {what} is already used "
                        f"by webhook '{taken.name}' of {taken.entity_tag}",
                    )
                )
    if errors:
        raise InvalidSourceError(errors)


def _ensure_member_users(
    connection: Connection, declared: FileDeclarations, source: str
) -> set[str]:
    """Create a user for each team member not known yet; the emails created or renamed.

    A person declared in this same file is written as declared instead; a person listed by
    several teams of the file takes the name of the first listing.
    """
    declared_emails = {user.email for user in declared.users}
    names: dict[str, str] = {}
    for entity in declared.entities:
        for member in entity.members:
            if member.email not in declared_emails:
                names.setdefault(member.email, member.name)
    return repository.ensure_member_users(connection, names, source)


def _unclaimed(
    keys: Iterable[tuple[Any, ...]], declared: FileDeclarations
) -> list[tuple[Any, ...]]:
    """Membership keys that no team or user of the file accounts for any more."""
    tags = {entity.tag for entity in declared.entities}
    emails = {user.email for user in declared.users}
    return [(team, email) for team, email in keys if team not in tags and email not in emails]
