"""Each setting the engine honours, seen as the exact ignored reason and its sentence.

Log level: DUPLICATE, CORTEX_EMPLOYEE, NON_CORTEX_USERS_DISABLED, WORKSPACE_DISABLED (entity
and team channels), CHANNEL_DISABLED (channels, muted team members), USER_UNSUBSCRIBED.
Run level: WORKSPACE_DISABLED (a medium, a type over a medium) and SCORECARD_DISABLED.
Each test states its own small catalog.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.catalog_builder import (
    Document,
    channel,
    email_owner,
    initiative,
    member,
    scorecard,
    service,
    subscribed,
    team,
    team_owner,
    tidings,
    unsubscribed,
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
from tidings.notification_types import TYPE_INFO

T = NotificationType
ADA, BEN, OMAR = "ada@example.com", "ben@example.com", "omar@example.com"
OUTSIDER = "outsider@partner.example.net"
API = entity_ref("payments-api")
MEDIUMS = (Medium.SLACK, Medium.MICROSOFT_TEAMS, Medium.EMAIL)


@pytest.fixture
def harness(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    """The engine over an empty store."""
    with open_harness(database_url, tmp_path) as opened:
        yield opened


def owned_by(*owners: dict[str, Any], slack: tuple[dict[str, Any], ...] = ()) -> Document:
    """payments-api, owned as given."""
    return service("payments-api", owners=owners, slack=slack)


def by_medium(harness: Harness, body: dict[str, Any]) -> dict[Medium, list[tuple[str, str]]]:
    """Send the event; each run's logs as (recipient, outcome), by medium."""
    answer = harness.send(body)
    return {run.medium: harness.outcomes(run.id) for run in answer.runs}


def only_log(harness: Harness, body: dict[str, Any], medium: Medium, who: str) -> Any:
    """Send the event; the one log of `who` in the run for `medium`."""
    answer = harness.send(body)
    [found] = [log for log in harness.logs(harness.run_of(answer, medium).id) if log.who == who]
    return found


class TestDuplicate:
    def test_owner_directly_and_through_a_team_gets_one_message_and_a_duplicate_log(
        self, harness: Harness
    ) -> None:
        harness.load(
            team("payments", member(ADA)), owned_by(team_owner("payments"), email_owner(ADA))
        )
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        logs = harness.logs(harness.run_of(answer, Medium.EMAIL).id)
        assert [(log.who, log.status, log.reason) for log in logs] == [
            (ADA, "DELIVERED", None),
            (ADA, "IGNORED", "DUPLICATE"),
        ]
        assert logs[1].explanation == f"{ADA} was already reached in this run"
        assert logs[1].why == f"named owner of service payments-api ({ADA})"
        assert harness.outbox().count(("EMAIL", ADA)) == 1

    def test_channel_of_the_entity_and_of_its_owning_team_is_posted_once(
        self, harness: Harness
    ) -> None:
        harness.load(
            team("payments", member(ADA), slack=[channel("payments")]),
            owned_by(team_owner("payments"), slack=(channel("payments"),)),
        )
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        logs = harness.logs(harness.run_of(answer, Medium.SLACK).id)
        channels = [(log.who, log.outcome, log.explanation) for log in logs if log.who[0] == "#"]
        assert channels == [
            ("#payments", "DELIVERED", None),
            ("#payments", "DUPLICATE", "the channel #payments was already reached in this run"),
        ]
        assert harness.outbox().count(("SLACK", "#payments")) == 1

    def test_muted_membership_does_not_keep_the_direct_owner_from_their_message(
        self, harness: Harness
    ) -> None:
        harness.load(
            team("payments", member(OMAR, enabled=False)),
            owned_by(team_owner("payments"), email_owner(OMAR)),
        )
        logs = by_medium(harness, event(T.VERIFICATION_PERIOD_STARTED, API))
        assert logs[Medium.EMAIL] == [(OMAR, "CHANNEL_DISABLED"), (OMAR, "DELIVERED")]


class TestCortexEmployee:
    @pytest.mark.parametrize(
        "body",
        [
            event(T.BROKEN_OPEN_API_SPEC, API),
            event(T.WEEKLY_REPORT, data={"highlights": ["a"]}),
            event(T.TEAM_MEMBER_INVITATION, recipients=["support@cortex.io"]),
        ],
        ids=["owner", "everyone", "named"],
    )
    def test_vendor_support_account_is_ignored_with_cortex_employee(
        self, harness: Harness, body: dict[str, Any]
    ) -> None:
        harness.load(
            owned_by(email_owner("support@cortex.io")),
            tidings(users=[user("support@cortex.io", cortex_employee=True)]),
        )
        log = only_log(harness, body, Medium.EMAIL, "support@cortex.io")
        assert (log.status, log.reason, log.explanation) == (
            "IGNORED",
            "CORTEX_EMPLOYEE",
            "support@cortex.io is a support account of the vendor, which never gets notifications",
        )


class TestNonCortexUsers:
    def test_owner_email_without_a_user_is_notified_by_default(self, harness: Harness) -> None:
        harness.load(owned_by(email_owner(OUTSIDER)))
        assert by_medium(harness, event(T.BROKEN_OPEN_API_SPEC, API))[Medium.EMAIL] == [
            (OUTSIDER, "DELIVERED")
        ]

    @pytest.mark.parametrize("medium", MEDIUMS, ids=str)
    def test_owner_email_without_a_user_is_ignored_when_the_workspace_says_so(
        self, harness: Harness, medium: Medium
    ) -> None:
        harness.load(
            owned_by(email_owner(OUTSIDER), email_owner(ADA)),
            tidings(users=[user(ADA)], workspace={"nonCortexUsersEnabled": False}),
        )
        log = only_log(harness, event(T.BROKEN_OPEN_API_SPEC, API), medium, OUTSIDER)
        assert (log.status, log.reason, log.explanation) == (
            "IGNORED",
            "NON_CORTEX_USERS_DISABLED",
            f"{OUTSIDER} is not a user of the workspace, and notifications for people who are "
            "not users are switched off",
        )
        assert harness.outcomes(log.run_id)[-1] == (ADA, "DELIVERED")

    def test_invitation_reaches_the_invitee_whatever_the_non_users_switch(
        self, harness: Harness
    ) -> None:
        harness.load(tidings(workspace={"nonCortexUsersEnabled": False}))
        body = event(T.TEAM_MEMBER_INVITATION, recipients=["newhire@example.com"])
        assert by_medium(harness, body)[Medium.EMAIL] == [("newhire@example.com", "DELIVERED")]


class TestChannelTypesDisabledInTheWorkspace:
    """`workspace.channelNotificationTypes` keeps types out of entity and team channels."""

    def test_channels_are_ignored_with_workspace_disabled_and_people_still_get_it(
        self, harness: Harness
    ) -> None:
        harness.load(
            team("payments", member(ADA), slack=[channel("team-payments")]),
            owned_by(team_owner("payments"), slack=(channel("payments-alerts"),)),
            tidings(workspace={"channelNotificationTypes": {"BROKEN_OPEN_API_SPEC": False}}),
        )
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        logs = harness.logs(harness.run_of(answer, Medium.SLACK).id)
        sentence = (
            "the workspace does not send Broken OpenAPI spec notifications to entity and team "
            "channels"
        )
        assert [(log.who, log.outcome, log.explanation) for log in logs] == [
            (ADA, "DELIVERED", None),
            ("#payments-alerts", "WORKSPACE_DISABLED", sentence),
            ("#team-payments", "WORKSPACE_DISABLED", sentence),
        ]


CHANNEL_TYPES = [kind for kind, info in TYPE_INFO.items() if info.to_channels]
CHANNEL_DATA: dict[NotificationType, dict[str, Any]] = {
    T.SERVICE_REEVALUATED: {"score": 2, "previousScore": 1},
    T.ENTITY_SCORE_DROPPED: {"score": 1, "previousScore": 2},
    T.WORKFLOW_STATUS_UPDATE: {"workflow": "deploy", "status": "DONE"},
    T.WORKFLOW_APPROVAL_PENDING: {"workflow": "deploy"},
}
OWNER_TYPES = [
    T.VERIFICATION_PERIOD_STARTED,
    T.VERIFICATION_PERIOD_REMINDER,
    T.BROKEN_OPEN_API_SPEC,
    T.ONCALL_PERSON_CHANGED,
    T.WORKFLOW_STATUS_UPDATE,
    T.SERVICE_REEVALUATED,
]


class TestChannelDisabled:
    @pytest.mark.parametrize("notification_type", CHANNEL_TYPES, ids=str)
    def test_muted_channel_withholds_exactly_the_types_with_the_channel_switch(
        self, harness: Harness, notification_type: NotificationType
    ) -> None:
        harness.load(
            owned_by(email_owner(ADA), slack=(channel("alerts", enabled=False),)),
            tidings(users=[user(ADA)], scorecards=[scorecard("readiness", score_drop=True)]),
        )
        body = event(
            notification_type,
            API,
            scorecard_ref("readiness"),
            data=CHANNEL_DATA.get(notification_type, {}),
        )
        log = only_log(harness, body, Medium.SLACK, "#alerts")
        if TYPE_INFO[notification_type].channel_switch:
            name = TYPE_INFO[notification_type].display_name
            assert (log.reason, log.explanation) == (
                "CHANNEL_DISABLED",
                f"the channel #alerts has notificationsEnabled: false, which withholds {name} "
                "notifications",
            )
        else:
            assert log.outcome == "DELIVERED"

    @pytest.mark.parametrize("notification_type", OWNER_TYPES, ids=str)
    def test_muted_team_member_is_withheld_exactly_the_types_with_the_member_switch(
        self, harness: Harness, notification_type: NotificationType
    ) -> None:
        harness.load(
            team("payments", member(ADA), member(OMAR, enabled=False)),
            owned_by(team_owner("payments")),
            tidings(scorecards=[scorecard("readiness")]),
        )
        body = event(
            notification_type,
            API,
            scorecard_ref("readiness"),
            data=CHANNEL_DATA.get(notification_type, {}),
        )
        log = only_log(harness, body, Medium.EMAIL, OMAR)
        if TYPE_INFO[notification_type].member_switch:
            name = TYPE_INFO[notification_type].display_name
            assert (log.reason, log.explanation) == (
                "CHANNEL_DISABLED",
                f"{OMAR} has notificationsEnabled: false on their team membership, which "
                f"withholds {name} notifications",
            )
        else:
            assert log.outcome == "DELIVERED"

    def test_muted_member_still_gets_the_weekly_report_of_another_kind_of_audience(
        self, harness: Harness
    ) -> None:
        harness.load(team("payments", member(ADA), member(OMAR, enabled=False)))
        logs = by_medium(harness, event(T.WEEKLY_REPORT, data={"highlights": ["a"]}))
        assert logs[Medium.EMAIL] == [(ADA, "DELIVERED"), (OMAR, "CHANNEL_DISABLED")]


class TestUserUnsubscribed:
    @pytest.mark.parametrize(
        ("choices", "expected"),
        [
            ([unsubscribed("BROKEN_OPEN_API_SPEC")], ("UNSUB", "UNSUB", "UNSUB")),
            ([unsubscribed("BROKEN_OPEN_API_SPEC", "EMAIL")], ("SENT", "SENT", "UNSUB")),
            (
                [unsubscribed("BROKEN_OPEN_API_SPEC"), subscribed("BROKEN_OPEN_API_SPEC", "SLACK")],
                ("SENT", "UNSUB", "UNSUB"),
            ),
            ([unsubscribed("WEEKLY_REPORT")], ("SENT", "SENT", "SENT")),
        ],
        ids=["every-medium", "email-only", "all-but-slack", "another-type"],
    )
    def test_personal_choices_per_type_and_medium(
        self, harness: Harness, choices: list[dict[str, Any]], expected: tuple[str, ...]
    ) -> None:
        harness.load(owned_by(email_owner(BEN)), tidings(users=[user(BEN, subscriptions=choices)]))
        logs = by_medium(harness, event(T.BROKEN_OPEN_API_SPEC, API))
        outcome = {"SENT": "DELIVERED", "UNSUB": "USER_UNSUBSCRIBED"}
        assert [logs[medium] for medium in MEDIUMS] == [[(BEN, outcome[word])] for word in expected]

    def test_unsubscribed_log_says_which_type_and_medium(self, harness: Harness) -> None:
        choices = [unsubscribed("BROKEN_OPEN_API_SPEC", "EMAIL")]
        harness.load(owned_by(email_owner(BEN)), tidings(users=[user(BEN, subscriptions=choices)]))
        log = only_log(harness, event(T.BROKEN_OPEN_API_SPEC, API), Medium.EMAIL, BEN)
        assert (log.status, log.reason, log.explanation) == (
            "IGNORED",
            "USER_UNSUBSCRIBED",
            f"{BEN} unsubscribed from Broken OpenAPI spec notifications over EMAIL",
        )
        assert harness.outbox() == [("SLACK", BEN), ("MICROSOFT_TEAMS", BEN)]


class TestRunsIgnoredByTheWorkspace:
    @pytest.mark.parametrize(
        ("workspace", "ignored", "sentence"),
        [
            (
                {"mediums": {"EMAIL": False}},
                [Medium.EMAIL],
                "the workspace does not send over EMAIL",
            ),
            (
                {"notificationTypes": {"BROKEN_OPEN_API_SPEC": {"SLACK": False}}},
                [Medium.SLACK],
                "the workspace switched Broken OpenAPI spec off over SLACK",
            ),
            (
                {"notificationTypes": {"BROKEN_OPEN_API_SPEC": False}},
                list(MEDIUMS),
                "the workspace switched Broken OpenAPI spec off over {medium}",
            ),
        ],
        ids=["medium-off", "type-off-over-slack", "type-off-everywhere"],
    )
    def test_switched_off_runs_are_ignored_at_once_with_workspace_disabled(
        self,
        harness: Harness,
        workspace: dict[str, Any],
        ignored: list[Medium],
        sentence: str,
    ) -> None:
        harness.load(owned_by(email_owner(ADA)), tidings(workspace=workspace))
        answer, queued = harness.submit(event(T.BROKEN_OPEN_API_SPEC, API))
        for run in answer.runs:
            if run.medium in ignored:
                assert (run.status, run.ignored_reason, run.error_message) == (
                    "IGNORED",
                    "WORKSPACE_DISABLED",
                    sentence.format(medium=run.medium.value),
                )
                assert run.id not in queued
            else:
                assert (run.status, run.id in queued) == ("CREATED", True)
        harness.process(queued)
        assert {
            run.id: harness.run(run.id).status for run in answer.runs if run.id not in queued
        } == {run.id: "IGNORED" for run in answer.runs if run.medium in ignored}
        assert all(harness.logs(run.id) == [] for run in answer.runs if run.medium in ignored)

    def test_other_types_still_go_when_one_type_is_switched_off(self, harness: Harness) -> None:
        harness.load(
            owned_by(email_owner(ADA)),
            tidings(
                users=[user(ADA)],
                workspace={"notificationTypes": {"BROKEN_OPEN_API_SPEC": False}},
            ),
        )
        answer = harness.send(event(T.ONCALL_PERSON_CHANGED, API))
        assert [harness.run(run.id).status for run in answer.runs] == ["COMPLETED"] * 3

    def test_workspace_switch_is_decided_before_a_missing_object(self, harness: Harness) -> None:
        harness.load(tidings(workspace={"mediums": {"EMAIL": False}}))
        answer, _queued = harness.submit(event(T.BROKEN_OPEN_API_SPEC, entity_ref("nope")))
        assert [(run.medium, run.status) for run in answer.runs] == [
            (Medium.SLACK, "FAILED"),
            (Medium.MICROSOFT_TEAMS, "FAILED"),
            (Medium.EMAIL, "IGNORED"),
        ]


class TestScorecardDisabled:
    @pytest.mark.parametrize(
        ("card", "notification_type", "sentence"),
        [
            (
                scorecard("readiness", draft=True),
                T.SERVICE_REEVALUATED,
                "scorecard readiness has notifications disabled (a draft)",
            ),
            (
                scorecard("readiness", enabled=False),
                T.SERVICE_REEVALUATED,
                "scorecard readiness has notifications disabled (set so)",
            ),
            (
                scorecard("readiness", score_drop=False),
                T.ENTITY_SCORE_DROPPED,
                "scorecard readiness does not send score-drop notifications",
            ),
        ],
        ids=["draft", "switched-off", "no-score-drops"],
    )
    def test_runs_about_a_silent_scorecard_are_ignored_at_once(
        self,
        harness: Harness,
        card: dict[str, Any],
        notification_type: NotificationType,
        sentence: str,
    ) -> None:
        harness.load(owned_by(email_owner(ADA)), tidings(scorecards=[card]))
        body = event(
            notification_type,
            API,
            scorecard_ref("readiness"),
            data={"score": 1, "previousScore": 2},
        )
        answer, queued = harness.submit(body)
        assert queued == []
        assert [(r.status, r.ignored_reason, r.error_message) for r in answer.runs] == [
            ("IGNORED", "SCORECARD_DISABLED", sentence)
        ] * 3

    @pytest.mark.parametrize(
        ("card", "notification_type"),
        [
            (scorecard("readiness", draft=True, enabled=True), T.SERVICE_REEVALUATED),
            (scorecard("readiness", score_drop=True), T.ENTITY_SCORE_DROPPED),
        ],
        ids=["draft-switched-on", "score-drops-on"],
    )
    def test_runs_about_a_scorecard_that_notifies_are_sent(
        self, harness: Harness, card: dict[str, Any], notification_type: NotificationType
    ) -> None:
        harness.load(owned_by(email_owner(ADA)), tidings(users=[user(ADA)], scorecards=[card]))
        body = event(
            notification_type,
            API,
            scorecard_ref("readiness"),
            data={"score": 1, "previousScore": 2},
        )
        answer = harness.send(body)
        assert [harness.run(run.id).status for run in answer.runs] == ["COMPLETED"] * 3

    def test_initiative_on_a_draft_scorecard_is_ignored(self, harness: Harness) -> None:
        harness.load(
            owned_by(email_owner(ADA)),
            tidings(
                scorecards=[scorecard("readiness", draft=True)],
                initiatives=[initiative("adopt-slos", "readiness")],
            ),
        )
        answer, _queued = harness.submit(event(T.INITIATIVE_CREATION, initiative_ref("adopt-slos")))
        assert {(run.status, run.ignored_reason) for run in answer.runs} == {
            ("IGNORED", "SCORECARD_DISABLED")
        }

    @pytest.mark.parametrize(
        ("notification_type", "status"),
        [
            (T.INITIATIVE_CUSTOM_SCHEDULE, "IGNORED"),
            (T.INITIATIVE_N_DAYS_LEFT, "IGNORED"),
            (T.INITIATIVE_CREATION, "CREATED"),
        ],
        ids=str,
    )
    def test_disabled_initiative_schedule_silences_its_reminders_but_not_its_creation(
        self, harness: Harness, notification_type: NotificationType, status: str
    ) -> None:
        harness.load(
            owned_by(email_owner(ADA)),
            tidings(
                scorecards=[scorecard("readiness")],
                initiatives=[initiative("adopt-slos", "readiness", schedule_disabled=True)],
            ),
        )
        body = event(notification_type, initiative_ref("adopt-slos"), data={"daysLeft": 7})
        answer, _queued = harness.submit(body)
        for run in answer.runs:
            assert run.status == status
            if status == "IGNORED":
                assert (run.ignored_reason, run.error_message) == (
                    "SCORECARD_DISABLED",
                    "initiative adopt-slos has its notification schedule disabled",
                )
