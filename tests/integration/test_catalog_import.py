"""Importing a catalog into a real store: what each format writes, defaults, re-imports,
malformed files, references across files, and the `tidings import` command."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from tests.support.catalog import IMPORTED_AT, import_paths, row_counts, write
from tidings.catalog import repository
from tidings.catalog.enums import GroupProvider, OwnerKind, TimeUnit, UserRole
from tidings.catalog.records import ChannelRecord
from tidings.cli import app
from tidings.enums import Medium, NotificationType
from tidings.kit.db import create_db_engine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "catalog"

LEDGER_API = """\
openapi: 3.0.1
info:
  title: Ledger API
  description: Posts and reads ledger entries.
  x-cortex-tag: ledger-api
  x-cortex-type: service
  x-cortex-owners:
    - type: group
      name: ledger-team
      provider: CORTEX
      description: Owning team
    - type: email
      email: priya.n@example.org
    - type: email
      email: auditor@partner.example.net
  x-cortex-slack:
    channels:
      - name: ledger-alerts
      - name: ledger-random
        notificationsEnabled: false
  x-cortex-microsoft-teams:
    - name: Ledger Engineering
"""

LEDGER_TEAM = """\
openapi: 3.0.1
info:
  title: Ledger Team
  x-cortex-tag: ledger-team
  x-cortex-type: team
  x-cortex-team:
    members:
      - name: Priya N
        email: Priya.N@example.org
        role: tech-lead
      - name: Omar K
        email: omar.k@example.org
        notificationsEnabled: false
  x-cortex-slack:
    channels:
      - name: team-ledger
"""

SCORECARDS = """\
kind: tidings/v1
scorecards:
  - {tag: published, name: Published}
  - {tag: draft, name: Draft, draft: true}
  - tag: draft-on
    name: Draft, switched on
    draft: true
    notifications: {enabled: true}
  - tag: published-off
    name: Published, switched off
    notifications: {enabled: false, scoreDropNotificationsEnabled: true}
    appliesTo: {types: [domain], tags: [ledger-api]}
"""


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test store."""
    opened = create_db_engine(database_url)
    yield opened
    opened.dispose()


def _ids(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as connection:
        return {
            table.name: list(connection.scalars(select(table.c.id).order_by(table.c.id)))
            for table in (
                repository.users,
                repository.entities,
                repository.scorecards,
                repository.initiatives_table,
            )
        }


class TestCortexDescriptors:
    def test_a_service_imports_with_its_owners_and_channels(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        (outcome,) = import_paths(engine, write(tmp_path, "ledger-api.yaml", LEDGER_API))

        assert outcome.imported, outcome.errors
        with engine.connect() as connection:
            entity = repository.entity_by_tag(connection, "ledger-api")
            assert entity is not None
            owners = repository.owners_of(connection, entity.id)
            channels = repository.channels_of(connection, entity.id)
        assert (entity.name, entity.entity_type, entity.description) == (
            "Ledger API",
            "service",
            "Posts and reads ledger entries.",
        )
        assert len(entity.cid) == 18
        assert entity.cid.startswith("en")
        assert [(o.kind, o.group_name, o.provider, o.email) for o in owners] == [
            (OwnerKind.GROUP, "ledger-team", GroupProvider.CORTEX, None),
            (OwnerKind.EMAIL, None, None, "priya.n@example.org"),
            (OwnerKind.EMAIL, None, None, "auditor@partner.example.net"),
        ]
        assert [(c.medium, c.name, c.notifications_enabled) for c in channels] == [
            (Medium.SLACK, "ledger-alerts", True),
            (Medium.SLACK, "ledger-random", False),
            (Medium.MICROSOFT_TEAMS, "Ledger Engineering", True),
        ]

    def test_team_members_become_users_with_lower_case_emails(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        import_paths(engine, write(tmp_path, "ledger-team.yaml", LEDGER_TEAM))

        with engine.connect() as connection:
            members = list(repository.team_members(connection, "ledger-team"))
            priya = repository.user_by_email(connection, "PRIYA.N@example.org")
        assert [(m.email, m.name, m.notifications_enabled, m.role) for m in members] == [
            ("omar.k@example.org", "Omar K", False, None),
            ("priya.n@example.org", "Priya N", True, "tech-lead"),
        ]
        assert priya is not None
        assert (priya.name, priya.role, priya.is_cortex_employee) == (
            "Priya N",
            UserRole.MEMBER,
            False,
        )
        assert all(member.user is not None for member in members)

    def test_the_cid_comes_from_the_tag_so_every_store_agrees(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        import_paths(engine, write(tmp_path, "ledger-api.yaml", LEDGER_API))

        with engine.connect() as connection:
            entity = repository.entity_by_tag(connection, "ledger-api")

        assert entity is not None
        assert entity.cid == "en5473bf731e53e769"


class TestBackstage:
    CATALOG_INFO = """\
    apiVersion: backstage.io/v1alpha1
    kind: Group
    metadata:
      name: mobile
      annotations: {slack.com/channel: team-mobile}
    spec: {type: team, children: []}
    ---
    apiVersion: backstage.io/v1alpha1
    kind: Component
    metadata:
      name: push-gateway
      annotations: {microsoft.com/teams-channel: Push Alerts}
    spec: {type: service, owner: "user:jdoe"}
    ---
    apiVersion: backstage.io/v1alpha1
    kind: API
    metadata: {name: push-api}
    spec: {type: openapi, owner: mobile}
    ---
    apiVersion: backstage.io/v1alpha1
    kind: User
    metadata: {name: jdoe}
    spec:
      profile: {displayName: Jane Doe, email: jane.doe@example.com}
      memberOf: [mobile]
    """

    def test_groups_components_and_users_import_and_apis_are_skipped(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        (outcome,) = import_paths(engine, write(tmp_path, "catalog-info.yaml", self.CATALOG_INFO))

        assert (outcome.tally.created, outcome.tally.skipped) == (3, 1)
        with engine.connect() as connection:
            team = repository.entity_by_tag(connection, "mobile")
            gateway = repository.entity_by_tag(connection, "push-gateway")
            assert team is not None
            assert gateway is not None
            team_channels = repository.channels_of(connection, team.id, Medium.SLACK)
            gateway_channels = repository.channels_of(connection, gateway.id)
            members = list(repository.team_members(connection, "mobile"))
        assert (team.entity_type, team.is_team) == ("team", True)
        assert [channel.name for channel in team_channels] == ["team-mobile"]
        assert [(c.medium, c.name) for c in gateway_channels] == [
            (Medium.MICROSOFT_TEAMS, "Push Alerts")
        ]
        assert [(m.email, m.name) for m in members] == [("jane.doe@example.com", "Jane Doe")]

    def test_a_user_owner_resolves_to_that_backstage_user(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        import_paths(engine, write(tmp_path, "catalog-info.yaml", self.CATALOG_INFO))

        with engine.connect() as connection:
            gateway = repository.entity_by_tag(connection, "push-gateway")
            assert gateway is not None
            people = list(repository.owner_people(connection, gateway.id))

        assert [(p.email, p.user is not None, p.owner.kind) for p in people] == [
            ("jane.doe@example.com", True, OwnerKind.USER)
        ]


class TestTidingsFormat:
    def test_users_carry_identities_roles_and_subscriptions(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        text = """\
        kind: tidings/v1
        users:
          - email: ada@example.com
            name: Ada Berg
            slackUserId: U123
            teamsUserId: "29:abc"
            role: ADMIN
            subscriptions:
              - {type: WEEKLY_REPORT, subscribed: false}
          - email: support@cortex.example.com
            name: Cortex Support
            cortexEmployee: true
        """
        import_paths(engine, write(tmp_path, "people.yaml", text))

        with engine.connect() as connection:
            ada = repository.user_by_email(connection, "ada@example.com")
            support = repository.user_by_email(connection, "support@cortex.example.com")
            assert ada is not None
            assert support is not None
            admins = repository.admins(connection)
            subscribed = repository.is_subscribed(
                connection, ada.id, NotificationType.WEEKLY_REPORT, Medium.SLACK
            )
        assert (ada.slack_user_id, ada.teams_user_id, ada.is_admin) == ("U123", "29:abc", True)
        assert support.is_cortex_employee
        assert admins == [ada]
        assert subscribed is False

    @pytest.mark.parametrize(
        ("tag", "notifies"),
        [("published", True), ("draft", False), ("draft-on", True), ("published-off", False)],
    )
    def test_a_scorecard_notifies_unless_switched_off_and_drafts_do_not_by_default(
        self, engine: Engine, tmp_path: Path, tag: str, notifies: bool
    ) -> None:
        import_paths(engine, write(tmp_path, "scorecards.yaml", SCORECARDS))

        with engine.connect() as connection:
            scorecard = repository.scorecard_by_tag(connection, tag)

        assert scorecard is not None
        assert scorecard.effective_notifications_enabled is notifies

    def test_a_scorecard_applies_to_services_unless_told_otherwise(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        import_paths(engine, write(tmp_path, "scorecards.yaml", SCORECARDS))

        with engine.connect() as connection:
            published = repository.scorecard_by_tag(connection, "published")
            narrowed = repository.scorecard_by_tag(connection, "published-off")

        assert published is not None
        assert narrowed is not None
        assert (published.entity_types, published.entity_tags) == (("service",), ())
        assert (
            published.score_drop_notifications_enabled,
            narrowed.score_drop_notifications_enabled,
        ) == (False, True)
        assert (narrowed.entity_types, narrowed.entity_tags) == (("domain",), ("ledger-api",))

    def test_an_initiative_without_a_creation_time_is_created_at_its_first_import(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        text = """\
        kind: tidings/v1
        initiatives:
          - tag: adopt-slos
            name: Adopt SLOs
            scorecard: published
            targetDate: 2027-03-31
            notificationSchedule:
              timeInterval: 2
              timeUnit: WEEK
              replyToEmails: [sre@example.com]
          - {tag: no-schedule, name: Quiet, scorecard: published, targetDate: 2027-01-01}
        """
        path = write(tmp_path, "initiatives.yaml", text)
        import_paths(engine, path)

        with engine.connect() as connection:
            slos = repository.initiative_by_tag(connection, "adopt-slos")
            quiet = repository.initiative_by_tag(connection, "no-schedule")

        assert slos is not None
        assert quiet is not None
        assert slos.created_at == IMPORTED_AT
        assert slos.cid.startswith("in")
        assert len(slos.cid) == 18
        assert slos.schedule is not None
        assert (slos.schedule.time_interval, slos.schedule.time_unit) == (2, TimeUnit.WEEK)
        assert slos.schedule.reply_to_emails == ("sre@example.com",)
        assert (slos.schedule.is_disabled, quiet.schedule) == (False, None)

    def test_workspace_settings_switch_off_only_what_they_name(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        text = """\
        kind: tidings/v1
        workspace:
          mediums: {EMAIL: false, SLACK: true}
          nonCortexUsersEnabled: false
          notificationTypes:
            WEEKLY_REPORT: false
            SERVICE_REEVALUATED: {MICROSOFT_TEAMS: false}
        """
        import_paths(engine, write(tmp_path, "workspace.yaml", text))

        with engine.connect() as connection:
            settings = repository.workspace_settings(connection)

        assert not settings.medium_enabled(Medium.EMAIL)
        assert settings.medium_enabled(Medium.WEBHOOK)
        assert not settings.type_enabled(NotificationType.WEEKLY_REPORT, Medium.SLACK)
        assert not settings.allows(NotificationType.SERVICE_REEVALUATED, Medium.MICROSOFT_TEAMS)
        assert settings.allows(NotificationType.SERVICE_REEVALUATED, Medium.SLACK)
        assert not settings.allows(NotificationType.INITIATIVE_CREATION, Medium.EMAIL)
        assert settings.non_cortex_users_enabled is False
        assert settings.weekly_report.day.value == "MONDAY"
        assert (settings.weekly_report.hour, settings.weekly_report.time_zone) == (
            9,
            "America/Los_Angeles",
        )


ONCALL = """\
oncall:
  - {entity: ledger-api, email: omar.k@example.org,
     startsAt: "2026-12-01T09:00:00Z", endsAt: "2026-12-08T09:00:00Z"}
"""
OPS = (
    """\
kind: tidings/v1
users:
  - email: priya.n@example.org
    name: Priya Natarajan
    subscriptions: [{type: WEEKLY_REPORT, medium: EMAIL, subscribed: false}]
initiatives:
  - {tag: slo, name: SLOs, scorecard: published, targetDate: 2027-03-31}
verificationPeriods:
  - {name: Q1, entityTypes: [service],
     startsAt: "2027-01-04T00:00:00Z", endsAt: "2027-01-31T00:00:00Z"}
workspace:
  mediums: {WEBHOOK: false}
  notificationTypes: {WEEKLY_REPORT: {EMAIL: false}}
"""
    + ONCALL
)


class TestReimport:
    def _catalog(self, directory: Path) -> Path:
        write(directory, "ledger-api.yaml", LEDGER_API)
        write(directory, "ledger-team.yaml", LEDGER_TEAM)
        write(directory, "scorecards.yaml", SCORECARDS)
        write(directory, "ops.yaml", OPS)
        return directory

    def test_importing_the_same_files_again_keeps_ids_and_adds_no_rows(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        catalog = self._catalog(tmp_path)
        first = import_paths(engine, catalog)
        ids, counts = _ids(engine), row_counts(engine)

        again = import_paths(engine, catalog)

        assert all(outcome.imported for outcome in first + again)
        assert (_ids(engine), row_counts(engine)) == (ids, counts)
        assert [(o.tally.created, o.tally.updated, o.tally.removed) for o in again] == [
            (0, 0, 0)
        ] * 4
        assert sum(outcome.tally.unchanged for outcome in again) == sum(
            outcome.tally.created + outcome.tally.updated for outcome in first
        )

    def test_a_changed_descriptor_replaces_its_owners_and_channels(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "ledger-api.yaml", LEDGER_API)
        import_paths(engine, path)
        with engine.connect() as connection:
            before = repository.entity_by_tag(connection, "ledger-api")
        changed = """\
        info:
          title: Ledger API v2
          x-cortex-tag: ledger-api
          x-cortex-owners:
            - {type: email, email: omar.k@example.org}
          x-cortex-slack:
            channels: [{name: ledger-v2}]
        """
        write(tmp_path, "ledger-api.yaml", changed)

        (outcome,) = import_paths(engine, path)

        assert (outcome.tally.created, outcome.tally.updated) == (0, 1)
        with engine.connect() as connection:
            after = repository.entity_by_tag(connection, "ledger-api")
            assert before is not None
            assert after is not None
            owners = repository.owners_of(connection, after.id)
            channels = repository.channels_of(connection, after.id)
        assert (after.id, after.cid, after.name) == (before.id, before.cid, "Ledger API v2")
        assert [owner.email for owner in owners] == ["omar.k@example.org"]
        assert channels == [ChannelRecord(after.id, Medium.SLACK, "ledger-v2", True, None)]

    def test_a_member_taken_off_the_team_file_is_no_longer_a_member(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "ledger-team.yaml", LEDGER_TEAM)
        import_paths(engine, path)
        write(tmp_path, "ledger-team.yaml", LEDGER_TEAM.split("      - name: Omar K")[0])

        (outcome,) = import_paths(engine, path)

        assert outcome.tally.updated == 1
        with engine.connect() as connection:
            members = [m.email for m in repository.team_members(connection, "ledger-team")]
            omar = repository.user_by_email(connection, "omar.k@example.org")
        assert members == ["priya.n@example.org"]
        assert omar is not None  # users are never deleted: their ids may be in logs

    def test_shifts_taken_out_of_the_file_are_removed(self, engine: Engine, tmp_path: Path) -> None:
        catalog = self._catalog(tmp_path)
        import_paths(engine, catalog)
        write(tmp_path, "ops.yaml", OPS.replace(ONCALL, ""))

        (outcome,) = import_paths(engine, catalog / "ops.yaml")

        assert outcome.imported, outcome.errors
        assert outcome.tally.removed == 1
        assert row_counts(engine)["catalog_oncall_shifts"] == 0

    def test_a_team_file_never_renames_a_user_declared_in_their_own_right(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        catalog = self._catalog(tmp_path)

        import_paths(engine, catalog / "ledger-team.yaml", catalog / "ops.yaml")
        import_paths(engine, catalog / "ledger-team.yaml")

        with engine.connect() as connection:
            priya = repository.user_by_email(connection, "priya.n@example.org")
        assert priya is not None
        assert priya.name == "Priya Natarajan"


# A good first document, then a second one with one kind of problem: the line is the bad one's.
GOOD_FIRST = "kind: tidings/v1\nusers:\n  - {email: fine@example.com, name: Fine}\n---\n"
BROKEN_SECOND = [
    pytest.param(
        "info: title: T\n", 5, "invalid YAML: mapping values are not allowed", id="bad-yaml"
    ),
    pytest.param("info: {title: T}\n", 5, "info.x-cortex-tag: is required", id="missing-field"),
    pytest.param(
        "kind: tidings/v1\nscorecards:\n  - {tag: s, name: S, draft: maybe}\n",
        7,
        "scorecards[0].draft: Input should be a valid boolean",
        id="wrong-type",
    ),
    pytest.param(
        "kind: tidings/v1\nusers:\n  - {email: b@example.com, name: B, role: OWNER}\n",
        7,
        "users[0].role: Input should be 'ADMIN' or 'MEMBER'",
        id="unknown-enum-value",
    ),
    pytest.param(
        "apiVersion: backstage.io/v1alpha1\nkind: Service\nmetadata: {name: x}\n",
        6,
        "kind: unknown Backstage kind 'Service'",
        id="unknown-kind",
    ),
]


class TestMalformedFiles:
    @pytest.mark.parametrize(("broken", "line", "message"), BROKEN_SECOND)
    def test_a_malformed_file_imports_nothing_and_the_other_files_import(
        self, engine: Engine, tmp_path: Path, broken: str, line: int, message: str
    ) -> None:
        write(tmp_path, "a-good.yaml", LEDGER_TEAM)
        write(tmp_path, "b-bad.yaml", GOOD_FIRST + broken)
        write(tmp_path, "c-good.yaml", LEDGER_API)

        outcomes = import_paths(engine, tmp_path)

        assert [outcome.imported for outcome in outcomes] == [True, False, True]
        (error,) = outcomes[1].errors
        assert error.render("b-bad.yaml").startswith(f"b-bad.yaml:{line}: {message}")
        with engine.connect() as connection:
            assert repository.user_by_email(connection, "fine@example.com") is None
            assert repository.entity_by_tag(connection, "ledger-api") is not None
            assert repository.entity_by_tag(connection, "ledger-team") is not None
        assert row_counts(engine)["catalog_scorecards"] == 0

    def test_a_file_broken_after_a_good_import_keeps_what_was_imported(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "ledger-team.yaml", LEDGER_TEAM)
        import_paths(engine, path)
        write(tmp_path, "ledger-team.yaml", LEDGER_TEAM.replace("role: tech-lead", "role: [x]"))

        (outcome,) = import_paths(engine, path)

        assert [error.line for error in outcome.errors] == [10]
        with engine.connect() as connection:
            members = list(repository.team_members(connection, "ledger-team"))
        assert [member.role for member in members] == [None, "tech-lead"]

    def test_a_file_the_store_refuses_imports_nothing(self, engine: Engine, tmp_path: Path) -> None:
        first = write(tmp_path, "a.yaml", _backstage_user("jdoe", "jane@example.com"))
        second = write(tmp_path, "b.yaml", _backstage_user("jdoe", "john@example.com"))

        outcomes = import_paths(engine, first, second)

        assert [outcome.imported for outcome in outcomes] == [True, False]
        (error,) = outcomes[1].errors
        assert error.line is None
        assert error.message.startswith("not stored:")
        with engine.connect() as connection:
            assert repository.user_by_email(connection, "john@example.com") is None


def _backstage_user(name: str, email: str) -> str:
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {{name: {name}}}\n"
        f"spec: {{profile: {{email: {email}}}, memberOf: [mobile]}}\n"
    )


class TestReferencesAcrossFiles:
    OPS = """\
    kind: tidings/v1
    scorecards:
      - {tag: readiness, name: Readiness}
    initiatives:
      - {tag: slo, name: SLOs, scorecard: readiness, targetDate: 2027-03-31}
    oncall:
      - {entity: ledger-api, email: omar.k@example.org,
         startsAt: "2026-12-01T09:00:00Z", endsAt: "2026-12-08T09:00:00Z"}
    """

    @pytest.mark.parametrize("order", ["referrers first", "referred first"])
    def test_references_resolve_whatever_the_import_order(
        self, engine: Engine, tmp_path: Path, order: str
    ) -> None:
        service = write(tmp_path, "ledger-api.yaml", LEDGER_API)
        team = write(tmp_path, "ledger-team.yaml", LEDGER_TEAM)
        ops = write(tmp_path, "ops.yaml", self.OPS)
        paths = [service, ops, team] if order == "referrers first" else [team, ops, service]

        import_paths(engine, *paths)

        with engine.connect() as connection:
            entity = repository.entity_by_tag(connection, "ledger-api")
            assert entity is not None
            people = list(repository.owner_people(connection, entity.id))
            initiative = repository.initiative_by_tag(connection, "slo")
            assert initiative is not None
            scorecard = repository.scorecard_by_tag(connection, initiative.scorecard_tag)
            (shift,) = repository.oncall_shifts_starting(
                connection, IMPORTED_AT, IMPORTED_AT.replace(year=2027)
            )
        assert [(p.email, p.team_tag, p.notifications_enabled) for p in people] == [
            ("omar.k@example.org", "ledger-team", False),
            ("priya.n@example.org", "ledger-team", True),
            ("priya.n@example.org", None, True),
            ("auditor@partner.example.net", None, True),
        ]
        assert scorecard is not None
        assert scorecard.tag == "readiness"
        assert shift.entity == entity
        assert shift.user is not None
        assert shift.user.name == "Omar K"


runner = CliRunner()


class TestImportCommand:
    @pytest.fixture
    def store(self, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
        """The command's store, chosen as an operator chooses it."""
        monkeypatch.setenv("TIDINGS_DATABASE_URL", database_url)
        return database_url

    def test_prints_a_line_per_file_and_a_total_and_exits_0(
        self, store: str, tmp_path: Path
    ) -> None:
        write(tmp_path, "ledger-api.yaml", LEDGER_API)
        write(tmp_path, "teams/ledger-team.yml", LEDGER_TEAM)

        first = runner.invoke(app, ["import", str(tmp_path)])
        again = runner.invoke(app, ["import", str(tmp_path)])

        assert first.exit_code == 0, first.output
        assert first.stdout.splitlines() == [
            f"{tmp_path}/ledger-api.yaml: 1 created, 0 updated, 0 unchanged",
            f"{tmp_path}/teams/ledger-team.yml: 1 created, 0 updated, 0 unchanged",
            "imported 2 of 2 files: 2 created, 0 updated, 0 unchanged",
        ]
        assert again.exit_code == 0
        assert again.stdout.splitlines()[-1] == (
            "imported 2 of 2 files: 0 created, 0 updated, 2 unchanged"
        )

    def test_a_failed_file_is_reported_as_path_line_message_and_exits_1(
        self, store: str, tmp_path: Path
    ) -> None:
        good = write(tmp_path, "good.yaml", LEDGER_API)
        bad = write(tmp_path, "bad.yaml", "info:\n  title: Broken\n")

        result = runner.invoke(app, ["import", str(good), str(bad)])

        assert result.exit_code == 1
        assert result.stderr.splitlines() == [f"{bad}:1: info.x-cortex-tag: is required"]
        assert result.stdout.splitlines()[-1] == (
            "imported 1 of 2 files: 1 created, 0 updated, 0 unchanged; 1 failed"
        )

    def test_a_missing_path_is_a_failed_file(self, store: str, tmp_path: Path) -> None:
        result = runner.invoke(app, ["import", str(tmp_path / "nope.yaml")])

        assert result.exit_code == 1
        assert "nope.yaml: cannot read" in result.stderr

    def test_a_directory_without_catalog_files_is_an_error(
        self, store: str, tmp_path: Path
    ) -> None:
        write(tmp_path, "README.md", "# not a catalog\n")

        result = runner.invoke(app, ["import", str(tmp_path)])

        assert result.exit_code == 2
        assert "no catalog files" in result.stderr


class TestExampleCatalog:
    def test_the_example_catalog_imports_entirely_and_again_unchanged(self, engine: Engine) -> None:
        first = import_paths(engine, EXAMPLES)
        again = import_paths(engine, EXAMPLES)

        assert [o.errors for o in first if not o.imported] == []
        assert all(o.tally.created == o.tally.updated == 0 for o in again)
        with engine.connect() as connection:
            users = list(repository.all_users(connection))
            teams = list(repository.entities_matching(connection, ["team"], []))
            services = list(repository.entities_matching(connection, ["service"], []))
        assert len(users) >= 100
        assert 6 <= len(teams) <= 8
        assert 30 <= len(services) <= 40
