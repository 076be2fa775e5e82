"""Real delivery through the real engine, against servers that speak each protocol and
misbehave on cue: a 429 storm, a 5xx burst that heals, a receiver that is down for a while,
permanent errors, a receiver slower than the timeout, a retry budget that runs out.

For each: nothing is lost, nothing is FAILED that a retry would have delivered, no receiver
gets one log's message twice, and statuses and reasons are exactly right. One event about
payments-api reaches, over each medium: Ada and Ben (owners through the team payments), the
team's channel, and (over webhooks) the team's webhook. Time moves by the harness's clock
(`Harness.process` jumps to each retry's due time), never by sleeping.
"""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog_builder import (
    load_catalog,
    member,
    service,
    team,
    team_owner,
    tidings,
    user,
)
from tests.support.engine_harness import Harness, LogView, entity_ref, event, open_harness
from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.emulators.faults import FaultRule
from tidings.emulators.slack import SlackChannel, SlackUser
from tidings.emulators.suite import EmulatorSuite
from tidings.enums import Medium, NotificationType
from tidings.runtime import Runtime
from tidings.settings import Settings

ADA, BEN = "ada@example.com", "ben@example.com"
SPEC_BROKEN = event(NotificationType.BROKEN_OPEN_API_SPEC, entity_ref("payments-api"))
SLACK_CHANNEL, TEAMS_CHANNEL, HOOK = "payments-alerts", "Payments Alerts", "payments-events"
RETRY_SETTINGS = {
    "retry_attempts": 8,
    "retry_base_seconds": 1.0,
    "retry_max_delay_seconds": 5.0,
    # Unpaced: these tests are about answers, and a paced channel would wait in real time.
    "slack_per_channel_per_second": 0,
    "teams_per_webhook_per_second": 0,
    "webhook_timeout_seconds": 0.5,
}


@pytest.fixture(scope="module")
def suite() -> Iterator[EmulatorSuite]:
    """The four emulators, with the Slack workspace the catalog below names."""
    with EmulatorSuite(
        slack_channels=[SlackChannel(SLACK_CHANNEL)],
        slack_users=[SlackUser(ADA), SlackUser(BEN)],
    ) as started:
        yield started


@pytest.fixture
def harness(suite: EmulatorSuite, database_url: str, tmp_path: Path) -> Iterator[Harness]:
    """The engine delivering to the emulators, with the payments catalog loaded."""
    suite.reset()
    settings = suite.settings_fields()
    with open_harness(database_url, tmp_path, **settings, **RETRY_SETTINGS) as opened:
        opened.load(
            team(
                "payments",
                member(ADA),
                member(BEN),
                slack=[{"name": SLACK_CHANNEL}],
                teams=[{"name": TEAMS_CHANNEL, "webhookUrl": suite.teams_url("payments")}],
                webhooks=[{"name": HOOK, "url": suite.webhook_url(HOOK)}],
            ),
            service("payments-api", owners=[team_owner("payments")]),
            tidings(users=[user(ADA), user(BEN)]),
        )
        yield opened


def logs_by_medium(harness: Harness, body: dict[str, Any]) -> dict[Medium, list[LogView]]:
    """Send the event and process its runs to the end; each run's logs by medium."""
    answer = harness.send(body)
    return {run.medium: harness.logs(run.id) for run in answer.runs}


def outcomes(logs: list[LogView]) -> dict[str, str]:
    """Each log's recipient and how it ended."""
    return {log.who: log.outcome for log in logs}


def attempt_outcomes(harness: Harness, log_id: int) -> list[str]:
    """The outcome of each try of a log, served by the attempts endpoint."""
    with harness.serving() as client:
        answer = client.get(
            f"/api/v1/notifications/logs/{log_id}/attempts",
            headers=harness.key(Permission.VIEW_NOTIFICATION_LOGS),
        )
    assert answer.status_code == 200, answer.text
    return [attempt["outcome"] for attempt in answer.json()["attempts"]]


def received_once_each(suite: EmulatorSuite) -> None:
    """No receiver got any message twice."""
    slack = Counter(
        item["channel_name"] or item["user_email"] for item in suite.slack.received.items()
    )
    teams = Counter(item["recipient"] or item["webhook"] for item in suite.teams.received.items())
    email = Counter(tuple(item["rcpt_tos"]) for item in suite.smtp.received.items())
    hooks = Counter(item["webhook_id"] for item in suite.webhook.received.items())
    for counts in (slack, teams, email, hooks):
        assert all(count == 1 for count in counts.values()), counts


class TestEveryMediumOverItsProtocol:
    def test_each_recipient_gets_one_message_and_every_run_completes(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        answer = harness.send(SPEC_BROKEN)

        assert {run.medium: harness.run(run.id).status for run in answer.runs} == {
            Medium.SLACK: "COMPLETED",
            Medium.MICROSOFT_TEAMS: "COMPLETED",
            Medium.EMAIL: "COMPLETED",
            Medium.WEBHOOK: "COMPLETED",
        }
        assert sorted(
            item["channel_name"] or item["user_email"] for item in suite.slack.received.items()
        ) == sorted([ADA, BEN, SLACK_CHANNEL])
        assert sorted(
            item["recipient"] or item["webhook"] for item in suite.teams.received.items()
        ) == sorted([ADA, BEN, "payments"])
        assert sorted(item["rcpt_tos"][0] for item in suite.smtp.received.items()) == [ADA, BEN]
        [hook] = suite.webhook.received.items()
        assert hook["signature_valid"]
        received_once_each(suite)

    def test_attempts_keep_the_providers_request_ids(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        logs = logs_by_medium(harness, SPEC_BROKEN)
        [email_to_ada] = [log for log in logs[Medium.EMAIL] if log.who == ADA]
        with harness.serving() as client:
            tries = client.get(
                f"/api/v1/notifications/logs/{email_to_ada.id}/attempts",
                headers=harness.key(Permission.VIEW_NOTIFICATION_LOGS),
            ).json()["attempts"]
        [sent] = [item for item in suite.smtp.received.items() if item["rcpt_tos"] == [ADA]]
        assert [(t["outcome"], t["statusCode"], t["providerRequestId"]) for t in tries] == [
            ("DELIVERED", 250, sent["queue_id"])
        ]
        assert sent["message_id"] == f"<tidings.log.{email_to_ada.id}@localhost>"


class TestTransientFaults:
    def test_a_429_storm_is_waited_out_and_never_counts_as_a_failure(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        suite.slack.faults.add(FaultRule.ratelimited(1, times=12))

        slack = logs_by_medium(harness, SPEC_BROKEN)[Medium.SLACK]

        assert set(outcomes(slack).values()) == {"DELIVERED"}
        tries = [attempt_outcomes(harness, log.id) for log in slack]
        assert sum(t.count("RATE_LIMITED") for t in tries) == 12
        assert all(t[-1] == "DELIVERED" and "RETRY" not in t for t in tries)
        received_once_each(suite)

    def test_a_5xx_burst_that_heals_is_delivered_once(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        suite.webhook.faults.add(FaultRule.status(503, times=3))

        [log] = logs_by_medium(harness, SPEC_BROKEN)[Medium.WEBHOOK]

        assert log.outcome == "DELIVERED"
        assert attempt_outcomes(harness, log.id) == ["RETRY", "RETRY", "RETRY", "DELIVERED"]
        assert suite.webhook.received.total == 1
        received_once_each(suite)

    def test_a_receiver_down_for_a_while_gets_everything_when_it_is_back(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        suite.teams.faults.add(FaultRule.drop(times=5))
        suite.smtp.faults.add(FaultRule.drop(times=3))

        logs = logs_by_medium(harness, SPEC_BROKEN)

        assert set(outcomes(logs[Medium.MICROSOFT_TEAMS]).values()) == {"DELIVERED"}
        assert set(outcomes(logs[Medium.EMAIL]).values()) == {"DELIVERED"}
        assert len(suite.teams.received.items()) == 3
        assert len(suite.smtp.received.items()) == 2
        received_once_each(suite)

    def test_an_smtp_4xx_is_transient(self, harness: Harness, suite: EmulatorSuite) -> None:
        suite.smtp.faults.add(FaultRule.status(451, "4.7.1 try again later", match=ADA, times=2))

        email = logs_by_medium(harness, SPEC_BROKEN)[Medium.EMAIL]

        [to_ada] = [log for log in email if log.who == ADA]
        assert to_ada.outcome == "DELIVERED"
        assert attempt_outcomes(harness, to_ada.id) == ["RETRY", "RETRY", "DELIVERED"]

    def test_a_receiver_slower_than_the_timeout_is_tried_again(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        suite.webhook.faults.add(FaultRule.delay(1.5, times=1))

        [log] = logs_by_medium(harness, SPEC_BROKEN)[Medium.WEBHOOK]

        assert log.outcome == "DELIVERED"
        assert attempt_outcomes(harness, log.id) == ["RETRY", "DELIVERED"]
        received_once_each(suite)


class TestPermanentFaults:
    def test_a_gone_webhook_fails_at_once_with_client_error(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        suite.webhook.faults.add(FaultRule.status(410, times=0))

        answer = harness.send(SPEC_BROKEN)

        run = harness.run_of(answer, Medium.WEBHOOK)
        [log] = harness.logs(run.id)
        assert (run.status, log.outcome) == ("FAILED", "CLIENT_ERROR")
        assert log.error_message == "the receiver answered HTTP 410 Gone"
        assert attempt_outcomes(harness, log.id) == ["FAILED"]

    def test_slack_errors_map_to_the_spec_reasons_and_the_rest_still_go(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        suite.slack.faults.add(FaultRule.slack_error("is_archived", match=SLACK_CHANNEL, times=0))

        answer = harness.send(SPEC_BROKEN)

        run = harness.run_of(answer, Medium.SLACK)
        assert outcomes(harness.logs(run.id)) == {
            ADA: "DELIVERED",
            BEN: "DELIVERED",
            f"#{SLACK_CHANNEL}": "CHANNEL_NOT_FOUND",
        }
        assert (run.status, run.delivered_count) == ("COMPLETED_WITH_ERRORS", 2)

    def test_an_smtp_5xx_fails_that_recipient_only(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        suite.smtp.faults.add(FaultRule.status(550, "5.1.1 no such mailbox", match=BEN, times=0))

        email = logs_by_medium(harness, SPEC_BROKEN)[Medium.EMAIL]

        assert outcomes(email) == {ADA: "DELIVERED", BEN: "CLIENT_ERROR"}
        [to_ben] = [log for log in email if log.who == BEN]
        assert "550" in (to_ben.error_message or "")

    def test_a_budget_that_runs_out_fails_with_the_last_answer(
        self, harness: Harness, suite: EmulatorSuite
    ) -> None:
        suite.webhook.faults.add(FaultRule.status(503, times=0))

        [log] = logs_by_medium(harness, SPEC_BROKEN)[Medium.WEBHOOK]

        assert log.outcome == "CLIENT_ERROR"
        assert log.error_message == "the receiver answered HTTP 503 Service Unavailable"
        assert log.explanation == (
            "gave up after 8 tries; the last answer: the receiver answered HTTP 503 Service "
            "Unavailable"
        )
        assert attempt_outcomes(harness, log.id) == ["RETRY"] * 8
        assert suite.webhook.received.total == 0


class TestTheEmbeddedRunner:
    def test_the_served_runner_takes_a_waiting_run_up_again_when_its_retry_is_due(
        self, suite: EmulatorSuite, database_url: str, tmp_path: Path
    ) -> None:
        # The real clock here: the runner waits (briefly) for each retry's due time.
        suite.reset()
        settings = suite.settings_fields()
        runtime = Runtime.from_settings(
            Settings(
                database_url=database_url,
                **settings,
                **(RETRY_SETTINGS | {"retry_base_seconds": 0.05, "retry_max_delay_seconds": 0.2}),
            )
        )
        try:
            load_catalog(
                runtime.engine,
                tmp_path / "catalog",
                team(
                    "payments",
                    member(ADA),
                    webhooks=[{"name": HOOK, "url": suite.webhook_url(HOOK)}],
                ),
                service("payments-api", owners=[team_owner("payments")]),
            )
            suite.webhook.faults.add(FaultRule.status(503, times=3))
            with TestClient(create_app(runtime)) as client:
                key = _key(runtime)
                posted = client.post("/api/v1/notifications/events", json=SPEC_BROKEN, headers=key)
                assert posted.status_code == 202, posted.text
                assert runtime.runner is not None
                assert runtime.runner.wait_idle(30)
                [run_id] = [r["id"] for r in posted.json()["runs"] if r["medium"] == "WEBHOOK"]
                run = client.get(f"/api/v1/notifications/logs/run/{run_id}", headers=key).json()
        finally:
            runtime.close()
        assert (run["status"], run["deliveredCount"]) == ("COMPLETED", 1)
        assert suite.webhook.received.total == 1


def _key(runtime: Runtime) -> dict[str, str]:
    with runtime.sessions.begin() as session:
        created = keys.create_key(
            session,
            "e2e",
            [Permission.SEND_NOTIFICATIONS, Permission.VIEW_NOTIFICATION_LOGS],
            runtime.clock(),
        )
    return {"Authorization": f"Bearer {created.secret}"}
