"""Reading catalog files: every format's fields, and every problem reported at its line."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.support.catalog import write
from tidings.catalog.declarations import ChannelDeclaration, OwnerDeclaration
from tidings.catalog.enums import DayOfWeek, GroupProvider, OwnerKind, TimeUnit, UserRole
from tidings.catalog.importers.files import catalog_files, read_catalog_file
from tidings.catalog.importers.source import InvalidSourceError, line_at, load_documents
from tidings.enums import Medium, NotificationType

SERVICE = """\
openapi: 3.0.1
info:
  title: Ledger API
  x-cortex-tag: ledger-api
  x-cortex-owners:
    - type: group
      name: ledger-team
      provider: CORTEX
    - type: email
      email: Priya.N@Example.org
      description: Tech lead
    - type: slack
      channel: "#ledger-legacy"
      notificationsEnabled: false
  x-cortex-slack:
    channels:
      - name: "#ledger-alerts"
      - name: ledger-random
        notificationsEnabled: false
  x-cortex-microsoft-teams:
    - name: Ledger Engineering
"""


def _errors(tmp_path: Path, text: str, name: str = "catalog.yaml") -> list[tuple[int | None, str]]:
    with pytest.raises(InvalidSourceError) as raised:
        read_catalog_file(write(tmp_path, name, text))
    return [(error.line, error.message) for error in raised.value.errors]


class TestYamlKeepsLines:
    def test_every_key_and_item_knows_its_line(self) -> None:
        (document,) = load_documents("a:\n  b:\n    - x\n    - y: 1\n      z: 2\n")

        assert line_at(document.value, ["a"], 1) == 1
        assert line_at(document.value, ["a", "b", 1], 1) == 4
        assert line_at(document.value, ["a", "b", 1, "z"], 1) == 5

    def test_a_path_that_does_not_exist_stops_at_the_deepest_node_that_does(self) -> None:
        (document,) = load_documents("a:\n  b:\n    c: 1\n")

        assert line_at(document.value, ["a", "b", "missing", "deeper"], 1) == 2

    def test_each_document_of_a_stream_starts_on_its_own_line(self) -> None:
        documents = load_documents("a: 1\n---\nb: 2\n---\n")

        assert [document.line for document in documents if document.value] == [1, 3]

    def test_a_merge_key_is_not_a_duplicate_of_the_keys_it_merges(self) -> None:
        (document,) = load_documents("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n")

        assert document.value["c"] == {"x": 1, "y": 3}

    def test_a_json_file_reads_like_yaml(self, tmp_path: Path) -> None:
        text = '{"info": {"title": "Fx", "x-cortex-tag": "fx-rates"}}'

        declared = read_catalog_file(write(tmp_path, "fx.json", text))

        assert [entity.tag for entity in declared.entities] == ["fx-rates"]


class TestCortexDescriptor:
    def test_owners_are_groups_and_emails_in_order(self, tmp_path: Path) -> None:
        (entity,) = read_catalog_file(write(tmp_path, "s.yaml", SERVICE)).entities

        assert entity.owners == (
            OwnerDeclaration(OwnerKind.GROUP, "ledger-team", GroupProvider.CORTEX),
            OwnerDeclaration(OwnerKind.EMAIL, email="priya.n@example.org", description="Tech lead"),
        )

    def test_channels_lose_their_hash_and_the_deprecated_slack_owner_is_a_channel(
        self, tmp_path: Path
    ) -> None:
        (entity,) = read_catalog_file(write(tmp_path, "s.yaml", SERVICE)).entities

        assert entity.channels == (
            ChannelDeclaration(Medium.SLACK, "ledger-alerts", True),
            ChannelDeclaration(Medium.SLACK, "ledger-random", False),
            ChannelDeclaration(Medium.SLACK, "ledger-legacy", False),
            ChannelDeclaration(Medium.MICROSOFT_TEAMS, "Ledger Engineering", True),
        )

    def test_type_defaults_to_service_and_name_is_the_title(self, tmp_path: Path) -> None:
        (entity,) = read_catalog_file(write(tmp_path, "s.yaml", SERVICE)).entities

        assert (entity.entity_type, entity.name, entity.line) == ("service", "Ledger API", 4)

    def test_an_identity_provider_group_may_have_spaces_in_its_name(self, tmp_path: Path) -> None:
        text = """\
        info:
          title: T
          x-cortex-tag: t
          x-cortex-owners:
            - {type: GROUP, name: Payments Engineers, provider: ACTIVE_DIRECTORY}
        """
        (entity,) = read_catalog_file(write(tmp_path, "t.yaml", text)).entities

        assert entity.owners == (
            OwnerDeclaration(OwnerKind.GROUP, "Payments Engineers", GroupProvider.ACTIVE_DIRECTORY),
        )

    def test_team_members_default_to_notifications_enabled(self, tmp_path: Path) -> None:
        text = """\
        info:
          title: Ledger Team
          x-cortex-tag: ledger-team
          x-cortex-type: team
          x-cortex-team:
            members:
              - {name: Priya N, email: priya.n@example.org, role: tech-lead}
              - {name: Omar K, email: omar.k@example.org, notificationsEnabled: false}
            groups:
              - {name: ledger-eng, provider: OKTA}
        """
        (team,) = read_catalog_file(write(tmp_path, "t.yaml", text)).entities

        assert [(m.email, m.notifications_enabled, m.role) for m in team.members] == [
            ("priya.n@example.org", True, "tech-lead"),
            ("omar.k@example.org", False, None),
        ]


class TestBackstage:
    def test_owner_references_become_group_or_user_owners(self, tmp_path: Path) -> None:
        documents = [
            ("a", "payments", OwnerDeclaration(OwnerKind.GROUP, "payments", GroupProvider.CORTEX)),
            (
                "b",
                "group:default/payments",
                OwnerDeclaration(OwnerKind.GROUP, "payments", GroupProvider.CORTEX),
            ),
            (
                "c",
                "Group:ops/sre",
                OwnerDeclaration(OwnerKind.GROUP, "ops.sre", GroupProvider.CORTEX),
            ),
            ("d", "user:jdoe", OwnerDeclaration(OwnerKind.USER, user_ref="jdoe")),
        ]
        text = "---\n".join(
            f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: {name}}}\n"
            f"spec: {{type: service, owner: '{owner}'}}\n"
            for name, owner, _ in documents
        )

        declared = read_catalog_file(write(tmp_path, "catalog-info.yaml", text))

        assert [entity.owners for entity in declared.entities] == [
            (expected,) for _, _, expected in documents
        ]

    def test_kinds_map_to_entity_types(self, tmp_path: Path) -> None:
        text = """\
        apiVersion: backstage.io/v1alpha1
        kind: System
        metadata: {name: checkout}
        spec: {owner: payments}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Group
        metadata: {name: payments}
        spec: {type: team, profile: {displayName: Payments Team}, children: []}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Domain
        metadata: {name: money}
        spec: {owner: payments}
        """
        declared = read_catalog_file(write(tmp_path, "catalog-info.yaml", text))

        assert [(e.tag, e.entity_type, e.name) for e in declared.entities] == [
            ("checkout", "system", "checkout"),
            ("payments", "team", "Payments Team"),
            ("money", "domain", "money"),
        ]

    def test_channel_annotations(self, tmp_path: Path) -> None:
        text = """\
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: bff
          annotations:
            slack.com/channel: "#bff-alerts, bff-deploys"
            microsoft.com/teams-channel: Mobile Backend
        spec: {type: service, owner: mobile}
        """
        (entity,) = read_catalog_file(write(tmp_path, "catalog-info.yaml", text)).entities

        assert entity.channels == (
            ChannelDeclaration(Medium.SLACK, "bff-alerts"),
            ChannelDeclaration(Medium.SLACK, "bff-deploys"),
            ChannelDeclaration(Medium.MICROSOFT_TEAMS, "Mobile Backend"),
        )

    def test_a_user_is_a_member_of_each_group_it_names(self, tmp_path: Path) -> None:
        text = """\
        apiVersion: backstage.io/v1alpha1
        kind: User
        metadata: {name: jdoe}
        spec:
          profile: {displayName: Jane Doe, email: Jane.Doe@example.com}
          memberOf: [mobile, "group:default/platform"]
        """
        (user,) = read_catalog_file(write(tmp_path, "catalog-info.yaml", text)).users

        assert (user.email, user.name, user.backstage_name) == (
            "jane.doe@example.com",
            "Jane Doe",
            "jdoe",
        )
        assert [(m.team_tag, m.email, m.line) for m in user.memberships] == [
            ("mobile", "jane.doe@example.com", 6),
            ("platform", "jane.doe@example.com", 6),
        ]

    def test_apis_locations_resources_and_templates_are_skipped(self, tmp_path: Path) -> None:
        text = "---\n".join(
            f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata: {{name: x{index}}}\n"
            for index, kind in enumerate(["API", "Location", "Resource", "Template"])
        )

        declared = read_catalog_file(write(tmp_path, "catalog-info.yaml", text))

        assert (declared.skipped, declared.entities) == (4, [])


class TestTidingsFormat:
    def test_every_section(self, tmp_path: Path) -> None:
        text = """\
        kind: tidings/v1
        users:
          - email: Ada@Example.com
            name: Ada Berg
            slackUserId: U123
            role: ADMIN
            subscriptions:
              - {type: WEEKLY_REPORT, subscribed: false}
              - {type: SERVICE_REEVALUATED, medium: EMAIL, subscribed: false}
        scorecards:
          - tag: prod
            name: Production readiness
            draft: true
            rules:
              - {name: Has docs, expression: docs != null, activatesOn: 2027-01-15}
        initiatives:
          - tag: slo
            name: Adopt SLOs
            scorecard: prod
            targetDate: "2027-03-31"
            notificationSchedule: {timeInterval: 2, timeUnit: WEEK}
        oncall:
          - entity: ledger-api
            email: ada@example.com
            startsAt: 2026-12-01T09:00:00+02:00
            endsAt: 2026-12-08 07:00:00
        verificationPeriods:
          - name: Q1
            entityTags: [ledger-api]
            startsAt: 2027-01-04T00:00:00Z
            endsAt: 2027-01-31T00:00:00Z
        workspace:
          mediums: {WEBHOOK: false}
          nonCortexUsersEnabled: false
          notificationTypes:
            WEEKLY_REPORT: false
            SERVICE_REEVALUATED: {EMAIL: false}
          weeklyReport: {dayOfWeek: FRIDAY, hour: 16, timeZone: Europe/Paris}
        """
        declared = read_catalog_file(write(tmp_path, "tidings.yaml", text))

        (user,) = declared.users
        assert (user.email, user.profile and user.profile.role) == (
            "ada@example.com",
            UserRole.ADMIN,
        )
        assert user.profile is not None
        assert len(user.profile.subscriptions) == 2
        (scorecard,) = declared.scorecards
        assert (scorecard.entity_types, scorecard.notifications_enabled) == (("service",), None)
        assert scorecard.rules[0].activates_on == date(2027, 1, 15)
        (initiative,) = declared.initiatives
        assert initiative.schedule is not None
        assert initiative.schedule.time_unit is TimeUnit.WEEK
        assert initiative.schedule.is_disabled is False
        (shift,) = declared.shifts
        assert (shift.starts_at, shift.ends_at) == (
            datetime(2026, 12, 1, 7, 0, tzinfo=UTC),
            datetime(2026, 12, 8, 7, 0, tzinfo=UTC),
        )
        (period,) = declared.periods
        assert (period.entity_tags, period.reminder_every_days) == (("ledger-api",), 7)
        (workspace,) = declared.workspaces
        assert workspace.mediums == {Medium.WEBHOOK: False}
        assert workspace.types[(NotificationType.WEEKLY_REPORT, Medium.SLACK)] is False
        assert workspace.types[(NotificationType.SERVICE_REEVALUATED, Medium.EMAIL)] is False
        assert (NotificationType.SERVICE_REEVALUATED, Medium.SLACK) not in workspace.types
        assert (workspace.weekly_report_day, workspace.weekly_report_hour) == (
            DayOfWeek.FRIDAY,
            16,
        )


BAD_YAML = "info:\n  title: [unclosed\n  x-cortex-tag: x\n"
MALFORMED = [
    pytest.param(BAD_YAML, 3, "invalid YAML", id="yaml-syntax"),
    pytest.param(
        "info:\n  title: T\n  x-cortex-type: service\n",
        1,
        "info.x-cortex-tag: is required",
        id="missing-required-field",
    ),
    pytest.param(
        "info:\n  title: T\n  x-cortex-tag: t\n  x-cortex-slack:\n    channels:\n"
        "      - name: a\n        notificationsEnabled: 'yes'\n",
        7,
        "info.x-cortex-slack.channels[0].notificationsEnabled: Input should be a valid boolean",
        id="wrong-type",
    ),
    pytest.param(
        "info:\n  title: T\n  x-cortex-tag: t\n  x-cortex-owners:\n    - type: group\n"
        "      name: payments\n      provider: AZURE\n",
        7,
        "info.x-cortex-owners[0].provider: Input should be 'ACTIVE_DIRECTORY'",
        id="unknown-enum-value",
    ),
    pytest.param(
        "info:\n  title: T\n  x-cortex-tag: t\n  x-cortex-owners:\n    - type: group\n"
        "      name: payments\n",
        5,
        "info.x-cortex-owners[0]: an owner of type group needs provider",
        id="group-owner-without-provider",
    ),
    pytest.param(
        "info:\n  title: T\n  x-cortex-tag: t\n  x-cortex-owners:\n    - type: team\n",
        5,
        "info.x-cortex-owners[0].type: Input should be 'group', 'email' or 'slack'",
        id="unknown-owner-type",
    ),
    pytest.param(
        "info:\n  title: T\n  x-cortex-tag: t\n  x-cortex-slack:\n    channels:\n"
        "      - name: alerts\n      - name: '#alerts'\n",
        7,
        "info.x-cortex-slack.channels[1]: channel 'alerts' is listed twice (first on line 6)",
        id="repeated-channel",
    ),
    pytest.param(
        "info:\n  title: T\n  x-cortex-tag: t\n  x-cortex-team:\n    members: []\n",
        4,
        "info.x-cortex-team: only read on entities of x-cortex-type team, not service",
        id="team-block-on-a-service",
    ),
    pytest.param(
        "apiVersion: backstage.io/v1alpha1\nkind: Componnent\nmetadata: {name: x}\n",
        2,
        "kind: unknown Backstage kind 'Componnent'",
        id="unknown-backstage-kind",
    ),
    pytest.param(
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: jdoe}\n"
        "spec:\n  profile:\n    displayName: J\n",
        5,
        "spec.profile.email: is required",
        id="backstage-user-without-email",
    ),
    pytest.param(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
        "spec:\n  type: service\n  owner: system:core\n",
        6,
        "spec.owner: 'system:core' is neither a group nor a user",
        id="backstage-owner-of-another-kind",
    ),
    pytest.param(
        "kind: tidings/v2\n", 1, "kind: Input should be 'tidings/v1'", id="unknown-version"
    ),
    pytest.param("name: something\n", 1, "not a catalog document", id="unrecognised-document"),
    pytest.param("- info: {}\n", 1, "not a catalog document", id="document-is-a-list"),
    pytest.param(
        "kind: tidings/v1\nusers:\n  - email: a@example.com\n    name: A\n    slackId: U1\n",
        5,
        "users[0].slackId: is not a field of this format",
        id="unknown-field-in-tidings-format",
    ),
    pytest.param(
        "kind: tidings/v1\nusers:\n  - email: not-an-address\n    name: A\n",
        3,
        "users[0].email: 'not-an-address' is not an email address",
        id="bad-email",
    ),
    pytest.param(
        "kind: tidings/v1\nusers:\n  - email: a@example.com\n    name: A\n    subscriptions:\n"
        "      - {type: WEEKLY_DIGEST, subscribed: false}\n",
        6,
        "users[0].subscriptions[0].type: Input should be 'INITIATIVE_CREATION'",
        id="unknown-notification-type",
    ),
    pytest.param(
        "kind: tidings/v1\ninitiatives:\n  - tag: i\n    name: I\n    scorecard: s\n"
        "    targetDate: 2027-01-01\n    notificationSchedule:\n      timeInterval: 2\n"
        "      timeUnit: FORTNIGHT\n",
        9,
        "initiatives[0].notificationSchedule.timeUnit: Input should be 'DAY', 'WEEK' or 'MONTH'",
        id="unknown-time-unit",
    ),
    pytest.param(
        "kind: tidings/v1\noncall:\n  - entity: e\n    email: a@example.com\n"
        "    startsAt: 2026-12-08T09:00:00Z\n    endsAt: 2026-12-01T09:00:00Z\n",
        3,
        "oncall[0]: endsAt must be after startsAt",
        id="shift-ends-before-it-starts",
    ),
    pytest.param(
        "kind: tidings/v1\noncall:\n  - entity: e\n    email: a@example.com\n"
        "    startsAt: 2026-12-08\n    endsAt: 2026-12-09T09:00:00Z\n",
        5,
        "oncall[0].startsAt: 2026-12-08 is a date; give an instant",
        id="instant-without-a-time",
    ),
    pytest.param(
        "kind: tidings/v1\nworkspace:\n  weeklyReport:\n    timeZone: Mars/Olympus\n",
        4,
        "workspace.weeklyReport.timeZone: 'Mars/Olympus' is not a time zone",
        id="unknown-time-zone",
    ),
    pytest.param(
        "kind: tidings/v1\nworkspace:\n  mediums:\n    FAX: false\n",
        4,
        "workspace.mediums.FAX: Input should be 'SLACK'",
        id="unknown-medium-key",
    ),
    pytest.param(
        "kind: tidings/v1\nscorecards:\n  - {tag: s, name: S}\n  - {tag: s, name: S again}\n",
        4,
        "scorecard 's' is declared twice (first on line 3)",
        id="repeated-scorecard",
    ),
    pytest.param(
        "info: {title: A, x-cortex-tag: a}\n---\ninfo: {title: B, x-cortex-tag: a}\n",
        3,
        "entity 'a' is declared twice (first on line 1)",
        id="repeated-entity-across-documents",
    ),
    pytest.param("info:\n  title: A\n  title: B\n", 3, "duplicate key 'title'", id="duplicate-key"),
    pytest.param(
        "kind: tidings/v1\nscorecards:\n  - tag: s\n    name: S\n    rules:\n"
        "      - {name: Docs, expression: a}\n      - {name: Docs, expression: b}\n",
        7,
        "scorecards[0].rules[1]: rule 'Docs' is listed twice (first on line 6)",
        id="repeated-rule",
    ),
    pytest.param(
        "kind: tidings/v1\nusers:\n  - email: a@example.com\n    name: A\n    subscriptions:\n"
        "      - {type: WEEKLY_REPORT, subscribed: false}\n"
        "      - {type: WEEKLY_REPORT, subscribed: true}\n",
        7,
        "a choice for WEEKLY_REPORT over every medium is listed twice (first on line 6)",
        id="repeated-subscription",
    ),
]


class TestMalformedFiles:
    @pytest.mark.parametrize(("text", "line", "message"), MALFORMED)
    def test_the_problem_is_reported_at_its_line(
        self, tmp_path: Path, text: str, line: int, message: str
    ) -> None:
        errors = _errors(tmp_path, text)

        assert errors[0][0] == line, errors
        assert message in errors[0][1], errors

    def test_every_problem_of_a_file_is_reported(self, tmp_path: Path) -> None:
        text = """\
        kind: tidings/v1
        users:
          - email: a@example.com
          - email: b@example.com
            name: B
            role: OWNER
        """
        errors = _errors(tmp_path, text)

        assert errors == [
            (3, "users[0].name: is required"),
            (6, "users[1].role: Input should be 'ADMIN' or 'MEMBER'"),
        ]

    def test_problems_render_as_path_line_message(self, tmp_path: Path) -> None:
        path = write(tmp_path, "bad.yaml", "kind: tidings/v2\n")

        with pytest.raises(InvalidSourceError) as raised:
            read_catalog_file(path)

        assert raised.value.errors[0].render("bad.yaml") == (
            "bad.yaml:1: kind: Input should be 'tidings/v1'"
        )

    def test_a_file_that_cannot_be_read_has_no_line(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidSourceError) as raised:
            read_catalog_file(tmp_path / "missing.yaml")

        assert raised.value.errors[0].render("missing.yaml").startswith("missing.yaml: cannot read")


class TestFinding:
    def test_directories_are_walked_for_yaml_yml_and_json_but_not_hidden_files(
        self, tmp_path: Path
    ) -> None:
        names = ["a.yaml", "sub/b.yml", "sub/deeper/c.json", "notes.txt", "d.YAML"]
        for name in [*names, ".github/workflows/ci.yml", "sub/.hidden.yaml"]:
            write(tmp_path, name, "")

        found = [path.relative_to(tmp_path).as_posix() for path in catalog_files([tmp_path])]

        assert found == ["a.yaml", "d.YAML", "sub/b.yml", "sub/deeper/c.json"]

    def test_a_file_given_by_name_is_read_whatever_its_suffix(self, tmp_path: Path) -> None:
        path = write(tmp_path, "catalog.txt", "")

        assert list(catalog_files([path])) == [path]
