"""Whom each notification type reaches, and the `why` each log records.

One catalog per module: the team `payments` (Ada, Ben, and Omar, who muted his membership)
owns `payments-api` together with Cora and an outsider who is no user; `ledger-core` is
Dan's and Cora's, and Dan is on call for `payments-api`; Ada is the admin. The table has a row for
each of the 24 types and states the Slack run's logs: who, why, and how each ended.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from tests.support.catalog_builder import (
    channel,
    email_owner,
    initiative,
    member,
    scorecard,
    service,
    shift,
    team,
    team_owner,
    tidings,
    user,
)
from tests.support.engine_harness import (
    Harness,
    entity_ref,
    event,
    initiative_ref,
    open_harness,
    scorecard_ref,
)
from tidings.enums import Medium, NotificationType
from tidings.notification_types import SLACK_ONLY, TYPE_INFO

T = NotificationType
ADA, BEN, OMAR = "ada@example.com", "ben@example.com", "omar@example.com"
CORA, DAN, OUTSIDER = "cora@example.com", "dan@example.com", "outsider@partner.example.net"
CATALOG = (
    team(
        "payments",
        member(ADA),
        member(BEN),
        member(OMAR, enabled=False),
        slack=[channel("team-payments")],
        teams=[channel("Payments Team")],
    ),
    service(
        "payments-api",
        owners=[team_owner("payments"), email_owner(CORA), email_owner(OUTSIDER)],
        slack=[channel("payments-alerts")],
        teams=[channel("Payments Alerts")],
    ),
    service("ledger-core", owners=[email_owner(DAN), email_owner(CORA)]),
    tidings(
        users=[user(ADA, admin=True), user(CORA), user(DAN)],
        scorecards=[scorecard("readiness", score_drop=True)],
        initiatives=[initiative("adopt-slos", "readiness")],
        oncall=[shift("payments-api", DAN, "2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z")],
    ),
)

Expected = tuple[tuple[str, str, str], ...]
THROUGH_TEAM = "owner of service payments-api through team payments"
DELIVERED, NOT_A_SLACK_USER = "DELIVERED", "MEMBER_EMAILS_NOT_FOUND"
ON_CALL = "on call for service payments-api until 2026-12-08 00:00 UTC"


def owners(muted: str = DELIVERED, scope: str = "") -> Expected:
    """The people who own payments-api; Omar's log ends as `muted` says."""
    return (
        (ADA, THROUGH_TEAM + scope, DELIVERED),
        (BEN, THROUGH_TEAM + scope, DELIVERED),
        (OMAR, THROUGH_TEAM + scope, muted),
        (CORA, f"named owner of service payments-api ({CORA}){scope}", DELIVERED),
        (OUTSIDER, f"named owner of service payments-api ({OUTSIDER}){scope}", NOT_A_SLACK_USER),
    )


def channels(outcome: str = DELIVERED) -> Expected:
    """The Slack channels of payments-api and of the team that owns it."""
    return (
        ("#payments-alerts", "Slack channel of service payments-api", outcome),
        ("#team-payments", "Slack channel of team payments, which owns payments-api", outcome),
    )


def scorecard_owners(scope: str) -> Expected:
    """The owners of every service the readiness scorecard applies to."""
    dan = ((DAN, f"named owner of service ledger-core ({DAN}), {scope}", DELIVERED),)
    return owners("CHANNEL_DISABLED", f", {scope}") + dan


def admins(why: str = "workspace admin") -> Expected:
    """Ada, the only admin."""
    return ((ADA, why, DELIVERED),)


@dataclass(frozen=True)
class Row:
    """A type, the event that triggers it, and the Slack logs it must produce."""

    type: NotificationType
    objects: tuple[Mapping[str, str], ...]
    expected: Expected
    recipients: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The event as posted."""
        return event(self.type, *self.objects, recipients=self.recipients, data=self.data)


API = (entity_ref("payments-api"),)
API_AND_CARD = (entity_ref("payments-api"), scorecard_ref("readiness"))
CARD = (scorecard_ref("readiness"),)
SLOS = (initiative_ref("adopt-slos"),)
IN_SLOS = "in initiative Adopt Slos"
CARD_SCOPE = "which scorecard readiness applies to"
RULE = {"rule": "Has SLOs", "activatesOn": "2027-01-15", "daysLeft": 7}

TABLE = [
    Row(T.INITIATIVE_CREATION, SLOS, scorecard_owners(IN_SLOS)),
    Row(T.INITIATIVE_CUSTOM_SCHEDULE, SLOS, scorecard_owners(IN_SLOS)),
    Row(T.INITIATIVE_N_DAYS_LEFT, SLOS, scorecard_owners(IN_SLOS), data={"daysLeft": 7}),
    Row(
        T.SERVICE_REEVALUATED,
        API_AND_CARD,
        owners() + channels(),
        data={"score": 80, "previousScore": 60},
    ),
    Row(
        T.WEEKLY_REPORT,
        (),
        tuple(
            (who, "every user gets it", "CHANNEL_DISABLED" if who == OMAR else DELIVERED)
            for who in (ADA, BEN, OMAR, CORA, DAN)
        ),
        data={"highlights": ["payments-api rose to 80"]},
    ),
    Row(T.BROKEN_OPEN_API_SPEC, API, owners() + channels()),
    Row(T.ENTITLEMENT_EXPIRATION, (), admins()),
    Row(T.ONCALL_ASSISTANT, API, ((DAN, ON_CALL, DELIVERED), *channels())),
    Row(
        T.ONBOARDING_MESSAGE,
        (),
        ((BEN, "a new user of the workspace", DELIVERED),),
        recipients=(BEN,),
    ),
    Row(T.NOTIFY_INVALID_INTEGRATION, (), admins(), data={"integration": "PagerDuty"}),
    Row(T.ONCALL_PERSON_CHANGED, API, owners() + channels()),
    Row(T.ONCALL_STARTS_IN_N_DAYS, API, ((DAN, ON_CALL, DELIVERED),), data={"daysLeft": 7}),
    Row(
        T.TEAM_MEMBER_INVITATION,
        (),
        (("newhire@example.com", "invited to join the workspace", NOT_A_SLACK_USER),),
        recipients=("newhire@example.com",),
    ),
    Row(T.PENDING_RULE_EXEMPTION, API_AND_CARD, owners()),
    Row(
        T.TOKEN_EXPIRES_IN_N_DAYS,
        (),
        admins(),
        data={"keyName": "ci", "daysLeft": 7, "expiresAt": "2026-12-09"},
    ),
    Row(T.SCHEDULED_SCORECARD_RULE_CREATION, CARD, scorecard_owners(CARD_SCOPE), data=RULE),
    Row(T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS, CARD, scorecard_owners(CARD_SCOPE), data=RULE),
    Row(
        T.WORKFLOW_STATUS_UPDATE,
        API,
        owners() + channels(),
        data={"workflow": "deploy", "status": "SUCCEEDED"},
    ),
    Row(T.WORKFLOW_APPROVAL_PENDING, API, owners() + channels(), data={"workflow": "deploy"}),
    Row(T.VERIFICATION_PERIOD_STARTED, API, owners("CHANNEL_DISABLED") + channels("UNSUPPORTED")),
    Row(T.VERIFICATION_PERIOD_REMINDER, API, owners("CHANNEL_DISABLED") + channels("UNSUPPORTED")),
    Row(
        T.AI_ASSISTANT_WELCOME_MESSAGE,
        (),
        ((BEN, "started using the AI Assistant", DELIVERED),),
        recipients=(BEN,),
    ),
    Row(
        T.ENTITY_SCORE_DROPPED,
        API_AND_CARD,
        owners() + channels(),
        data={"score": 60, "previousScore": 80},
    ),
    Row(T.ONBOARDING_WIZARD_STATE_COMPLETED, (), admins()),
]


@pytest.fixture(scope="module")
def harness(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    """The engine over a store holding the module's catalog."""
    with open_harness(module_database_url, tmp_path_factory.mktemp("recipients")) as opened:
        opened.load(*CATALOG)
        yield opened


def slack_logs(harness: Harness, body: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Send the event; its Slack run's logs as (recipient, why, outcome), sorted."""
    answer = harness.send(body)
    run = harness.run_of(answer, Medium.SLACK)
    return sorted((log.who, log.why or "", log.outcome) for log in harness.logs(run.id))


def test_the_table_has_a_row_for_each_of_the_24_types() -> None:
    assert sorted(row.type for row in TABLE) == sorted(NotificationType)


class TestEachTypeReachesItsAudience:
    @pytest.mark.parametrize("row", TABLE, ids=[row.type.value for row in TABLE])
    def test_slack_run_logs_each_recipient_with_why_and_outcome(
        self, harness: Harness, row: Row
    ) -> None:
        assert slack_logs(harness, row.body()) == sorted(row.expected)

    @pytest.mark.parametrize("row", TABLE, ids=[row.type.value for row in TABLE])
    def test_event_creates_one_run_per_medium_the_type_supports(
        self, harness: Harness, row: Row
    ) -> None:
        answer, queued = harness.submit(row.body())
        harness.process(queued)
        expected = (
            [Medium.SLACK]
            if TYPE_INFO[row.type].mediums == SLACK_ONLY
            else [Medium.SLACK, Medium.MICROSOFT_TEAMS, Medium.EMAIL]
        )
        assert [run.medium for run in answer.runs] == expected
        assert queued == [run.id for run in answer.runs]


class TestNamedRecipients:
    @pytest.mark.parametrize(
        ("notification_type", "objects", "data", "why"),
        [
            (
                T.WORKFLOW_APPROVAL_PENDING,
                API,
                {"workflow": "deploy"},
                "asked to approve the workflow",
            ),
            (T.PENDING_RULE_EXEMPTION, API_AND_CARD, {}, "asked to approve the exemption"),
            (
                T.TOKEN_EXPIRES_IN_N_DAYS,
                (),
                {"keyName": "ci", "daysLeft": 1, "expiresAt": "2026-12-03"},
                "owns the API key",
            ),
            (T.ONCALL_STARTS_IN_N_DAYS, API, {"daysLeft": 1}, "on call for service payments-api"),
            (T.ONCALL_ASSISTANT, API, {}, "on call for service payments-api"),
        ],
        ids=lambda value: value.value if isinstance(value, NotificationType) else "",
    )
    def test_people_the_event_names_replace_the_default_audience(
        self,
        harness: Harness,
        notification_type: NotificationType,
        objects: tuple[Mapping[str, str], ...],
        data: Mapping[str, Any],
        why: str,
    ) -> None:
        body = event(notification_type, *objects, recipients=[CORA], data=data)
        people = [log for log in slack_logs(harness, body) if not log[0].startswith("#")]
        assert people == [(CORA, why, DELIVERED)]

    def test_named_addresses_are_reached_once_whatever_their_case_and_spaces(
        self, harness: Harness
    ) -> None:
        body = event(T.TEAM_MEMBER_INVITATION, recipients=["Ben@Example.com", " ben@example.com "])
        assert slack_logs(harness, body) == [(BEN, "invited to join the workspace", DELIVERED)]

    def test_owners_types_ignore_the_recipients_an_event_names(self, harness: Harness) -> None:
        body = event(T.BROKEN_OPEN_API_SPEC, *API, recipients=[DAN])
        assert DAN not in [who for who, _why, _outcome in slack_logs(harness, body)]


class TestOnCall:
    def test_incident_with_nobody_on_call_goes_to_the_channels_only(self, harness: Harness) -> None:
        harness.clock.advance(timedelta(days=30))
        try:
            answer = harness.send(event(T.ONCALL_ASSISTANT, *API))
        finally:
            harness.clock.advance(timedelta(days=-30))
        run = harness.run_of(answer, Medium.SLACK)
        # The channels still hear of the incident; nobody is paged.
        assert [log.who for log in harness.logs(run.id)] == ["#payments-alerts", "#team-payments"]

    def test_on_call_reminder_without_a_shift_now_is_no_recipients(self, harness: Harness) -> None:
        harness.clock.advance(timedelta(days=30))
        try:
            answer = harness.send(event(T.ONCALL_STARTS_IN_N_DAYS, *API, data={"daysLeft": 7}))
        finally:
            harness.clock.advance(timedelta(days=-30))
        run = harness.run_of(answer, Medium.EMAIL)
        assert (run.status, run.ignored_reason, harness.logs(run.id)) == (
            "IGNORED",
            "NO_RECIPIENTS",
            [],
        )


class TestScopes:
    def test_scorecard_type_about_one_entity_reaches_only_its_owners(
        self, harness: Harness
    ) -> None:
        body = event(T.SCHEDULED_SCORECARD_RULE_CREATION, *API_AND_CARD, data=RULE)
        assert DAN not in [who for who, _why, _outcome in slack_logs(harness, body)]

    def test_owner_of_several_entities_in_scope_is_reached_once_for_the_first(
        self, harness: Harness
    ) -> None:
        answer = harness.send(event(T.INITIATIVE_CREATION, *SLOS))
        for run in answer.runs:
            assert [log.why for log in harness.logs(run.id) if log.who == CORA] == [
                f"named owner of service payments-api ({CORA}), {IN_SLOS}"
            ]


class TestRecipientKinds:
    def test_users_carry_their_user_id_and_channels_their_entity(self, harness: Harness) -> None:
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, *API))
        found = {
            log.who: (log.recipient_type, log.user_id is not None, log.entity_id is not None)
            for log in harness.logs(harness.run_of(answer, Medium.SLACK).id)
        }
        assert found == {
            ADA: ("USER", True, False),
            BEN: ("USER", True, False),
            OMAR: ("USER", True, False),
            CORA: ("USER", True, False),
            OUTSIDER: ("USER", False, False),
            "#payments-alerts": ("ENTITY", False, True),
            "#team-payments": ("TEAM", False, True),
        }

    def test_microsoft_teams_run_reaches_teams_channels_by_their_exact_name(
        self, harness: Harness
    ) -> None:
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, *API))
        logs = harness.logs(harness.run_of(answer, Medium.MICROSOFT_TEAMS).id)
        assert [(log.who, log.why) for log in logs if log.recipient_type != "USER"] == [
            ("Payments Alerts", "Microsoft Teams channel of service payments-api"),
            ("Payments Team", "Microsoft Teams channel of team payments, which owns payments-api"),
        ]

    def test_email_run_reaches_people_only(self, harness: Harness) -> None:
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, *API))
        logs = harness.logs(harness.run_of(answer, Medium.EMAIL).id)
        assert sorted((log.who, log.outcome) for log in logs) == [
            (ADA, DELIVERED),
            (BEN, DELIVERED),
            (CORA, DELIVERED),
            (OMAR, DELIVERED),
            (OUTSIDER, DELIVERED),
        ]
