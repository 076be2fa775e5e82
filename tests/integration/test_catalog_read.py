"""The catalog as the engine reads it: owners resolved to people, channels, subscriptions,
settings, schedules. One catalog per module, read by every test."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from tests.support.catalog import import_paths, write
from tidings.catalog import repository
from tidings.catalog.enums import GroupProvider, OwnerKind
from tidings.catalog.records import EntityRecord, WorkspaceSettings
from tidings.enums import Medium, NotificationType
from tidings.kit.db import create_db_engine

TEAM = """\
info:
  title: Payments
  x-cortex-tag: payments
  x-cortex-type: team
  x-cortex-team:
    members:
      - {name: Ada Berg, email: ada@example.com}
      - {name: Omar Khalil, email: omar@example.com, notificationsEnabled: false}
  x-cortex-slack:
    channels: [{name: team-payments}]
  x-cortex-microsoft-teams:
    - {name: Payments, notificationsEnabled: false}
"""
EMPTY_TEAM = "info: {title: Nobody, x-cortex-tag: nobody, x-cortex-type: team}\n"
SERVICE = """\
info:
  title: Payments API
  x-cortex-tag: payments-api
  x-cortex-owners:
    - {type: group, name: payments, provider: CORTEX}
    - {type: email, email: ada@example.com}
    - {type: email, email: outsider@partner.example.net}
    - {type: group, name: acme/payments, provider: GITHUB}
    - {type: group, name: ghost-team, provider: CORTEX}
    - {type: group, name: nobody, provider: CORTEX}
"""
BACKSTAGE = """\
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: omar}
spec:
  profile: {displayName: Omar K., email: omar@example.com}
  memberOf: [payments, mobile]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: lena}
spec:
  profile: {displayName: Lena Moreau, email: lena@example.com}
  memberOf: [payments]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: bff}
spec: {type: service, owner: "user:lena"}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: orphan}
spec: {type: library, owner: "user:nobody-knows"}
"""
TIDINGS = """\
kind: tidings/v1
users:
  - email: ada@example.com
    name: Ada Berg
    role: ADMIN
    subscriptions:
      - {type: WEEKLY_REPORT, subscribed: false}
      - {type: WEEKLY_REPORT, medium: SLACK, subscribed: true}
      - {type: SERVICE_REEVALUATED, medium: EMAIL, subscribed: false}
  - {email: zed@example.com, name: Zed}
scorecards:
  - tag: readiness
    name: Readiness
    appliesTo: {types: [library], tags: [payments-api]}
    rules:
      - {name: Docs, expression: docs != null}
      - {name: SLOs, expression: slos != null, activatesOn: 2027-01-15}
      - {name: Alerts, expression: alerts != null, activatesOn: 2027-02-01}
initiatives:
  - {tag: b-second, name: B, scorecard: readiness, targetDate: 2027-03-31}
  - {tag: a-first, name: A, scorecard: readiness, targetDate: 2027-01-31}
oncall:
  - {entity: payments-api, email: ada@example.com,
     startsAt: "2026-12-01T09:00:00Z", endsAt: "2026-12-08T09:00:00Z"}
  - {entity: payments-api, email: omar@example.com,
     startsAt: "2026-12-08T09:00:00Z", endsAt: "2026-12-15T09:00:00Z"}
  - {entity: unknown-service, email: nobody@example.com,
     startsAt: "2026-12-10T09:00:00Z", endsAt: "2026-12-11T09:00:00Z"}
verificationPeriods:
  - {name: Later, entityTypes: [service], startsAt: "2027-04-01T00:00:00Z",
     endsAt: "2027-04-30T00:00:00Z", reminderEveryDays: 3}
  - {name: Sooner, entityTags: [bff], startsAt: "2027-01-04T00:00:00Z",
     endsAt: "2027-01-31T00:00:00Z"}
"""


def at(day: int, hour: int = 9) -> datetime:
    """An instant in December 2026."""
    return datetime(2026, 12, day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A store holding the catalog above, imported once for the module."""
    directory: Path = tmp_path_factory.mktemp("catalog")
    for name, text in [
        ("team.yaml", TEAM),
        ("empty-team.yaml", EMPTY_TEAM),
        ("service.yaml", SERVICE),
        ("catalog-info.yaml", BACKSTAGE),
        ("tidings.yaml", TIDINGS),
    ]:
        write(directory, name, text)
    engine = create_db_engine(module_database_url)
    outcomes = import_paths(engine, directory)
    assert [outcome.errors for outcome in outcomes if not outcome.imported] == []
    yield engine
    engine.dispose()


@pytest.fixture
def connection(catalog: Engine) -> Iterator[Connection]:
    """A connection to the module's catalog."""
    with catalog.connect() as opened:
        yield opened


def entity(connection: Connection, tag: str) -> EntityRecord:
    """The entity with `tag`, which the test expects to exist."""
    found = repository.entity_by_tag(connection, tag)
    assert found is not None
    return found


class TestOwners:
    def test_a_team_owner_reaches_each_member_with_their_switch_and_the_team(
        self, connection: Connection
    ) -> None:
        service = entity(connection, "payments-api")

        people = list(repository.owner_people(connection, service.id))

        via_team = [p for p in people if p.team_tag == "payments"]
        assert [(p.email, p.notifications_enabled) for p in via_team] == [
            ("ada@example.com", True),
            ("lena@example.com", True),
            ("omar@example.com", False),
        ]
        assert {p.team for p in via_team} == {entity(connection, "payments")}
        assert all(p.user is not None for p in via_team)

    def test_an_email_owner_is_the_user_with_that_email_or_just_the_address(
        self, connection: Connection
    ) -> None:
        service = entity(connection, "payments-api")

        direct = [
            (p.email, p.user.name if p.user else None)
            for p in repository.owner_people(connection, service.id)
            if p.owner.kind is OwnerKind.EMAIL
        ]

        assert direct == [("ada@example.com", "Ada Berg"), ("outsider@partner.example.net", None)]

    def test_a_backstage_user_owner_is_that_user(self, connection: Connection) -> None:
        bff = entity(connection, "bff")

        people = list(repository.owner_people(connection, bff.id))

        assert [(p.email, p.team_tag) for p in people] == [("lena@example.com", None)]

    def test_owners_that_reach_nobody_are_listed_as_unresolved(
        self, connection: Connection
    ) -> None:
        service, orphan = entity(connection, "payments-api"), entity(connection, "orphan")

        unresolved = repository.unresolved_owners(connection, service.id)
        orphaned = repository.unresolved_owners(connection, orphan.id)

        assert [(o.group_name, o.provider) for o in unresolved] == [
            ("acme/payments", GroupProvider.GITHUB),
            ("ghost-team", GroupProvider.CORTEX),
            ("nobody", GroupProvider.CORTEX),
        ]
        assert [o.user_ref for o in orphaned] == ["nobody-knows"]

    def test_owner_teams_are_the_team_entities_among_the_owners(
        self, connection: Connection
    ) -> None:
        service = entity(connection, "payments-api")

        teams = repository.owner_teams(connection, service.id)

        assert [team.tag for team in teams] == ["payments", "nobody"]


class TestTeams:
    def test_the_team_file_wins_over_a_backstage_membership_of_the_same_person(
        self, connection: Connection
    ) -> None:
        members = {m.email: m for m in repository.team_members(connection, "payments")}

        assert sorted(members) == ["ada@example.com", "lena@example.com", "omar@example.com"]
        assert members["omar@example.com"].notifications_enabled is False
        assert members["omar@example.com"].name == "Omar Khalil"

    def test_a_team_known_only_from_memberships_still_has_members(
        self, connection: Connection
    ) -> None:
        members = [m.email for m in repository.team_members(connection, "mobile")]

        assert members == ["omar@example.com"]
        assert repository.team_tags_of(connection, "Omar@Example.com") == ["mobile", "payments"]

    def test_channels_of_one_medium_or_all(self, connection: Connection) -> None:
        team = entity(connection, "payments")

        every = repository.channels_of(connection, team.id)
        teams = repository.channels_of(connection, team.id, Medium.MICROSOFT_TEAMS)

        assert [(c.medium, c.name) for c in every] == [
            (Medium.SLACK, "team-payments"),
            (Medium.MICROSOFT_TEAMS, "Payments"),
        ]
        assert [(c.name, c.notifications_enabled) for c in teams] == [("Payments", False)]


class TestPeople:
    def test_users_by_id_email_role_and_all_of_them(self, connection: Connection) -> None:
        ada = repository.user_by_email(connection, "ADA@example.com")
        assert ada is not None

        assert repository.user_by_id(connection, ada.id) == ada
        assert repository.admins(connection) == [ada]
        assert sorted(user.email for user in repository.all_users(connection)) == [
            "ada@example.com",
            "lena@example.com",
            "omar@example.com",
            "zed@example.com",
        ]
        assert repository.user_by_id(connection, 10**9) is None

    @pytest.mark.parametrize(
        ("notification_type", "medium", "subscribed"),
        [
            (NotificationType.WEEKLY_REPORT, Medium.EMAIL, False),
            (NotificationType.WEEKLY_REPORT, Medium.SLACK, True),
            (NotificationType.SERVICE_REEVALUATED, Medium.EMAIL, False),
            (NotificationType.SERVICE_REEVALUATED, Medium.SLACK, True),
            (NotificationType.INITIATIVE_CREATION, Medium.EMAIL, True),
        ],
    )
    def test_a_choice_for_a_medium_beats_one_for_every_medium_and_no_choice_is_subscribed(
        self,
        connection: Connection,
        notification_type: NotificationType,
        medium: Medium,
        subscribed: bool,
    ) -> None:
        ada = repository.user_by_email(connection, "ada@example.com")
        assert ada is not None

        assert repository.is_subscribed(connection, ada.id, notification_type, medium) is subscribed
        opted_out = repository.unsubscribed_user_ids(connection, notification_type, medium)
        assert (ada.id in opted_out) is not subscribed


class TestScorecardsAndInitiatives:
    def test_a_scorecard_applies_to_its_types_and_its_tags(self, connection: Connection) -> None:
        scorecard = repository.scorecard_by_tag(connection, "readiness")
        assert scorecard is not None

        tags = [e.tag for e in repository.scorecard_entities(connection, scorecard)]

        assert sorted(tags) == ["orphan", "payments-api"]
        assert repository.scorecard_by_id(connection, scorecard.id) == scorecard

    def test_rules_activating_in_a_window_of_days(self, connection: Connection) -> None:
        found = repository.rules_activating(connection, date(2027, 1, 1), date(2027, 1, 15))

        assert [(rule.name, rule.activates_on) for rule in found] == [("SLOs", date(2027, 1, 15))]

    def test_initiatives_in_import_order_with_lookups_by_tag_and_id(
        self, connection: Connection
    ) -> None:
        listed = repository.initiatives(connection)

        assert [initiative.tag for initiative in listed] == ["b-second", "a-first"]
        assert repository.initiative_by_id(connection, listed[1].id) == listed[1]
        assert repository.initiative_by_tag(connection, "missing") is None


class TestSchedules:
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            (at(1), at(8), ["ada@example.com"]),
            (at(1, 10), at(8, 10), ["omar@example.com"]),
            (at(1), at(31), ["ada@example.com", "omar@example.com", "nobody@example.com"]),
        ],
    )
    def test_shifts_starting_in_a_window_include_its_start_and_exclude_its_end(
        self, connection: Connection, start: datetime, end: datetime, expected: list[str]
    ) -> None:
        shifts = repository.oncall_shifts_starting(connection, start, end)

        assert [shift.user_email for shift in shifts] == expected

    def test_a_shift_names_its_entity_and_user_when_they_exist(
        self, connection: Connection
    ) -> None:
        shifts = repository.oncall_shifts_starting(connection, at(1), at(31))

        assert [(s.entity is not None, s.user is not None) for s in shifts] == [
            (True, True),
            (True, True),
            (False, False),
        ]

    def test_who_is_on_call_at_a_moment(self, connection: Connection) -> None:
        on_call = repository.oncall_at(connection, "payments-api", at(8))

        assert [shift.user_email for shift in on_call] == ["omar@example.com"]

    def test_verification_periods_earliest_first(self, connection: Connection) -> None:
        periods = repository.verification_periods(connection)

        assert [
            (p.name, p.entity_types, p.entity_tags, p.reminder_every_days) for p in periods
        ] == [
            ("Sooner", (), ("bff",), 7),
            ("Later", ("service",), (), 3),
        ]


class TestWorkspaceDefaults:
    def test_with_nothing_imported_every_medium_and_type_is_on(self, database_url: str) -> None:
        engine = create_db_engine(database_url)
        with engine.connect() as connection:
            settings = repository.workspace_settings(connection)
        engine.dispose()

        assert settings == WorkspaceSettings()
        assert settings.enabled_pair_count() == len(NotificationType) * len(Medium)
        assert settings.non_cortex_users_enabled is True
        assert (settings.weekly_report.day.value, settings.weekly_report.hour) == ("MONDAY", 9)
        assert settings.weekly_report.time_zone == "America/Los_Angeles"
