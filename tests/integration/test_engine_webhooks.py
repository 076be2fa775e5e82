"""Webhooks: HTTP endpoints that entities and teams declare (`x-tidings-webhooks`) and that
receive the notifications about them over the WEBHOOK medium.

`payments` owns `payments-api`; each declares a webhook. A WEBHOOK run exists only when some
webhook receives the event, reaches only webhooks, and never shows a webhook's URL.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.catalog import import_paths
from tests.support.catalog_builder import (
    email_owner,
    member,
    service,
    team,
    team_owner,
    tidings,
    user,
    webhook,
    write_documents,
)
from tests.support.engine_harness import Harness, entity_ref, event, open_harness
from tidings.auth.permissions import Permission
from tidings.catalog import repository as catalog
from tidings.engine import flows
from tidings.enums import Medium, NotificationType

T = NotificationType
ADA, CORA = "ada@example.com", "cora@example.com"
API = entity_ref("payments-api")
SECRET_URL = "https://hooks.example.com/services/T0/B0/very-secret"


@pytest.fixture
def harness(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    """The engine over an empty store."""
    with open_harness(database_url, tmp_path) as opened:
        yield opened


def payments(
    *, api_hooks: tuple[dict[str, object], ...] = (), team_hooks: tuple[dict[str, object], ...] = ()
) -> tuple[dict[str, object], ...]:
    """The payments team and its service, with the webhooks given."""
    return (
        team("payments", member(ADA), webhooks=team_hooks),
        service(
            "payments-api",
            owners=[team_owner("payments"), email_owner(CORA)],
            webhooks=api_hooks,
        ),
        tidings(users=[user(ADA), user(CORA)]),
    )


def webhook_logs(harness: Harness, body: dict[str, object]) -> list[tuple[str, str, str, str]]:
    """Send the event; the WEBHOOK run's logs as (webhook, recipient type, outcome, why)."""
    answer = harness.send(body)
    run = harness.run_of(answer, Medium.WEBHOOK)
    return [
        (log.who, log.recipient_type, log.outcome, log.why or "") for log in harness.logs(run.id)
    ]


class TestWhomAWebhookRunReaches:
    def test_the_entity_and_its_owning_team_webhooks_each_get_one_message(
        self, harness: Harness
    ) -> None:
        harness.load(
            *payments(api_hooks=(webhook("payments-api-events"),), team_hooks=(webhook("pay"),))
        )

        assert webhook_logs(harness, event(T.BROKEN_OPEN_API_SPEC, API)) == [
            ("payments-api-events", "ENTITY", "DELIVERED", "webhook of service payments-api"),
            ("pay", "TEAM", "DELIVERED", "webhook of team payments, which owns payments-api"),
        ]
        assert harness.outbox().count(("WEBHOOK", "pay")) == 1

    def test_a_webhook_log_names_its_entity_and_never_its_url(self, harness: Harness) -> None:
        harness.load(*payments(api_hooks=(webhook("events", SECRET_URL),)))
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        [log] = harness.logs(harness.run_of(answer, Medium.WEBHOOK).id)
        with harness.runtime.engine.connect() as connection:
            entity = catalog.entity_by_tag(connection, "payments-api")
        assert entity is not None
        assert (log.entity_id, log.who, log.user_id) == (entity.id, "events", None)
        with harness.serving() as client:
            headers = harness.key(Permission.VIEW_NOTIFICATION_LOGS)
            listed = client.get(
                "/api/v1/notifications/logs", params={"mediums": "WEBHOOK"}, headers=headers
            )
        assert listed.status_code == 200
        assert "very-secret" not in listed.text
        assert listed.json()["logs"][0]["recipientChannel"] == "events"

    def test_the_webhook_receives_the_documented_json_body(self, harness: Harness) -> None:
        harness.load(*payments(api_hooks=(webhook("events"),)))
        harness.send(event(T.BROKEN_OPEN_API_SPEC, API, data={"spec": "openapi.yaml"}))
        with harness.runtime.engine.connect() as connection:
            [body] = connection.execute(
                text("SELECT body FROM notification_outbox WHERE medium = 'WEBHOOK'")
            ).scalars()
        document = json.loads(body)
        assert document["type"] == "BROKEN_OPEN_API_SPEC"
        assert document["data"] == {"spec": "openapi.yaml"}
        assert [obj["tag"] for obj in document["objects"]] == ["payments-api"]
        assert document["subject"]
        assert document["link"].startswith("http")

    def test_people_are_never_reached_over_webhook(self, harness: Harness) -> None:
        harness.load(*payments(api_hooks=(webhook("events"),)))
        outcomes = webhook_logs(harness, event(T.BROKEN_OPEN_API_SPEC, API))
        assert [who for who, *_ in outcomes] == ["events"]

    def test_a_type_that_goes_to_people_only_still_reaches_webhooks(self, harness: Harness) -> None:
        # Verification-period notices never go to chat channels; a webhook asked for them.
        harness.load(*payments(api_hooks=(webhook("events"),)))
        outcomes = webhook_logs(harness, event(T.VERIFICATION_PERIOD_STARTED, API))
        assert [(who, outcome) for who, _, outcome, _ in outcomes] == [("events", "DELIVERED")]

    def test_a_webhook_gets_only_the_types_it_lists(self, harness: Harness) -> None:
        harness.load(
            *payments(
                api_hooks=(
                    webhook("drops", types=["ENTITY_SCORE_DROPPED"]),
                    webhook("specs", types=["BROKEN_OPEN_API_SPEC"]),
                )
            )
        )
        outcomes = webhook_logs(harness, event(T.BROKEN_OPEN_API_SPEC, API))
        assert [who for who, *_ in outcomes] == ["specs"]

    def test_the_same_webhook_reached_twice_in_a_run_is_a_duplicate(self, harness: Harness) -> None:
        # A team that owns itself (odd, but declarable) must not post twice.
        harness.load(
            team(
                "payments", member(ADA), webhooks=(webhook("pay"),), owners=[team_owner("payments")]
            )
        )
        outcomes = webhook_logs(harness, event(T.BROKEN_OPEN_API_SPEC, entity_ref("payments")))
        assert [(who, outcome) for who, _, outcome, _ in outcomes] == [("pay", "DELIVERED")]


class TestWhenThereIsNoWebhookRun:
    @pytest.mark.parametrize(
        ("hooks", "body"),
        [
            pytest.param((), event(T.BROKEN_OPEN_API_SPEC, API), id="no-webhook-declared"),
            pytest.param(
                (webhook("drops", types=["ENTITY_SCORE_DROPPED"]),),
                event(T.BROKEN_OPEN_API_SPEC, API),
                id="no-webhook-wants-the-type",
            ),
            pytest.param(
                (webhook("events"),),
                event(T.ONCALL_ASSISTANT, API),
                id="a-slack-only-type",
            ),
            pytest.param(
                (webhook("events"),),
                event(T.BROKEN_OPEN_API_SPEC, entity_ref("no-such-service")),
                id="the-entity-is-unknown",
            ),
            pytest.param(
                (webhook("events"),),
                event(T.TEAM_MEMBER_INVITATION, recipients=["new@example.com"]),
                id="the-event-is-about-no-entity",
            ),
        ],
    )
    def test_no_webhook_run_is_created(
        self, harness: Harness, hooks: tuple[dict[str, object], ...], body: dict[str, object]
    ) -> None:
        harness.load(*payments(api_hooks=hooks))
        answer = harness.send(body)
        assert Medium.WEBHOOK not in {run.medium for run in answer.runs}
        assert answer.runs, "the other mediums still get their runs"


class TestWebhookSettings:
    def test_a_switched_off_webhook_is_ignored_with_channel_disabled(
        self, harness: Harness
    ) -> None:
        harness.load(*payments(api_hooks=(webhook("events", enabled=False), webhook("audit"))))
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        logs = harness.logs(harness.run_of(answer, Medium.WEBHOOK).id)
        assert [(log.who, log.outcome) for log in logs] == [
            ("events", "CHANNEL_DISABLED"),
            ("audit", "DELIVERED"),
        ]
        assert logs[0].explanation == (
            "the webhook events has notificationsEnabled: false, which withholds "
            "Broken OpenAPI spec notifications"
        )

    def test_every_webhook_switched_off_makes_an_ignored_run(self, harness: Harness) -> None:
        harness.load(*payments(api_hooks=(webhook("events", enabled=False),)))
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        run = harness.run_of(answer, Medium.WEBHOOK)
        assert (run.status, run.ignored_reason) == ("IGNORED", "NO_RECIPIENTS")

    def test_the_workspace_can_switch_the_webhook_medium_off(self, harness: Harness) -> None:
        harness.load(
            *payments(api_hooks=(webhook("events"),)),
            tidings(users=[user(ADA), user(CORA)], workspace={"mediums": {"WEBHOOK": False}}),
        )
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        run = harness.run_of(answer, Medium.WEBHOOK)
        assert (run.status, run.ignored_reason) == ("IGNORED", "WORKSPACE_DISABLED")
        assert harness.outbox().count(("WEBHOOK", "events")) == 0

    def test_the_workspace_channel_type_switch_leaves_webhooks_alone(
        self, harness: Harness
    ) -> None:
        harness.load(
            *payments(api_hooks=(webhook("events"),)),
            tidings(
                users=[user(ADA), user(CORA)],
                workspace={"channelNotificationTypes": {"BROKEN_OPEN_API_SPEC": False}},
            ),
        )
        outcomes = webhook_logs(harness, event(T.BROKEN_OPEN_API_SPEC, API))
        assert [(who, outcome) for who, _, outcome, _ in outcomes] == [("events", "DELIVERED")]


class TestDeclaringWebhooks:
    def test_a_webhook_is_stored_with_its_types_and_switch(
        self, harness: Harness, tmp_path: Path
    ) -> None:
        harness.load(
            *payments(
                api_hooks=(webhook("events", SECRET_URL, enabled=False, types=["WEEKLY_REPORT"]),)
            )
        )
        with harness.runtime.engine.connect() as connection:
            stored = catalog.webhook_named(connection, "events")
        assert stored is not None
        assert (stored.entity_tag, stored.url, stored.notifications_enabled) == (
            "payments-api",
            SECRET_URL,
            False,
        )
        assert stored.types == frozenset({T.WEEKLY_REPORT})

    @pytest.mark.parametrize(
        ("hooks", "message"),
        [
            pytest.param(
                [webhook("events"), webhook("events", "https://other.example.com/x")],
                "x-tidings-webhooks[1]: webhook 'events' is listed twice",
                id="a-name-twice",
            ),
            pytest.param(
                [webhook("a", SECRET_URL), webhook("b", SECRET_URL)],
                "x-tidings-webhooks[1]: webhook 'b' has the same URL as webhook 'a'",
                id="a-url-twice",
            ),
            pytest.param(
                [webhook("events", "ftp://hooks.example.com/x")],
                "a webhook URL starts with https://",
                id="not-http",
            ),
            pytest.param(
                [webhook("events", "https:///no-host")],
                "a webhook URL starts with https://",
                id="no-host",
            ),
            pytest.param(
                [{**webhook("events"), "types": ["NOT_A_TYPE"]}],
                "x-tidings-webhooks[0].types[0]",
                id="an-unknown-type",
            ),
        ],
    )
    def test_a_bad_webhook_is_reported_and_the_file_imports_nothing(
        self, harness: Harness, tmp_path: Path, hooks: list[dict[str, object]], message: str
    ) -> None:
        [path] = write_documents(tmp_path, service("payments-api", webhooks=hooks))
        [outcome] = import_paths(harness.runtime.engine, path)
        assert not outcome.imported
        rendered = "\n".join(error.render(path.name) for error in outcome.errors)
        assert message in rendered
        assert "very-secret" not in rendered
        with harness.runtime.engine.connect() as connection:
            assert catalog.entity_by_tag(connection, "payments-api") is None

    def test_a_name_or_url_another_entity_uses_is_refused_without_showing_the_url(
        self, harness: Harness, tmp_path: Path
    ) -> None:
        harness.load(service("ledger-api", webhooks=[webhook("events", SECRET_URL)]))
        paths = write_documents(
            tmp_path,
            service("payments-api", webhooks=[webhook("events", "https://b.example.com/")]),
            service("billing-api", webhooks=[webhook("billing", SECRET_URL)]),
        )
        outcomes = import_paths(harness.runtime.engine, *paths)
        messages = [error.message for outcome in outcomes for error in outcome.errors]
        assert messages == [
            "webhook 'events' of payments-api: its name is already used by webhook 'events' "
            "of ledger-api",
            "webhook 'billing' of billing-api: its URL is already used by webhook 'events' "
            "of ledger-api",
        ]
        with harness.runtime.engine.connect() as connection:
            assert catalog.entity_by_tag(connection, "payments-api") is None

    def test_reimporting_is_idempotent_and_a_renamed_webhook_keeps_its_url(
        self, harness: Harness, tmp_path: Path
    ) -> None:
        [path] = write_documents(
            tmp_path, service("payments-api", webhooks=[webhook("a", SECRET_URL)])
        )
        import_paths(harness.runtime.engine, path)
        [again] = import_paths(harness.runtime.engine, path)
        assert (again.tally.created, again.tally.updated, again.tally.unchanged) == (0, 0, 1)

        [path] = write_documents(
            tmp_path, service("payments-api", webhooks=[webhook("b", SECRET_URL)])
        )
        [renamed] = import_paths(harness.runtime.engine, path)
        assert renamed.imported
        assert renamed.tally.updated == 1
        with harness.runtime.engine.connect() as connection:
            assert catalog.webhook_named(connection, "a") is None
            stored = catalog.webhook_named(connection, "b")
        assert stored is not None
        assert stored.url == SECRET_URL


class TestPreviewAndRerun:
    def test_preview_shows_the_webhook_run_and_its_webhooks(self, harness: Harness) -> None:
        harness.load(*payments(api_hooks=(webhook("events"), webhook("off", enabled=False))))
        body = event(T.BROKEN_OPEN_API_SPEC, API)
        with harness.serving() as client:
            answer = client.post(
                "/api/v1/notifications/events/preview",
                json=body,
                headers=harness.key(Permission.SEND_NOTIFICATIONS),
            )
        assert answer.status_code == 200, answer.text
        [run] = [run for run in answer.json()["runs"] if run["medium"] == "WEBHOOK"]
        assert [(r["recipientChannel"], r["status"]) for r in run["recipients"]] == [
            ("events", "READY"),
            ("off", "IGNORED"),
        ]
        assert harness.outbox() == []

    def test_a_rerun_of_a_webhook_run_resends_only_what_was_not_delivered(
        self, harness: Harness
    ) -> None:
        harness.load(*payments(api_hooks=(webhook("events"), webhook("audit"))))
        answer, queued = harness.submit(event(T.BROKEN_OPEN_API_SPEC, API))
        [run_id] = [run.id for run in answer.runs if run.medium is Medium.WEBHOOK]
        harness.process(queued)
        harness.execute(
            "UPDATE notification_logs SET status = 'FAILED', failed_reason = 'CLIENT_ERROR' "
            "WHERE run_id = :run AND recipient_channel = 'audit'",
            run=run_id,
        )
        harness.execute(
            "UPDATE notification_runs SET status = 'COMPLETED_WITH_ERRORS' WHERE id = :run",
            run=run_id,
        )
        rerun = flows.rerun(harness.runtime.engine, run_id, harness.clock)
        harness.process([rerun.id])
        assert harness.outcomes(rerun.id) == [("events", "DUPLICATE"), ("audit", "DELIVERED")]
        assert harness.outbox().count(("WEBHOOK", "audit")) == 2
