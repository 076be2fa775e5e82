"""The demo: a plausible stream of platform events over the example catalog.

Events are drawn from what the catalog holds (services, scorecards, initiatives, people),
with the occasional mistake a real platform makes (an entity deleted since, an event
missing a fact its message needs, a weekly report with nothing to say), so a newcomer sees
every run status and the reasons behind them. A backfill replays days of such events
through the real engine with a moving clock, so the first page is not empty.
"""

import asyncio
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from tidings.catalog import repository as catalog
from tidings.catalog.models import Scorecard
from tidings.emulators.slack import SlackChannel
from tidings.emulators.suite import EmulatorSuite
from tidings.engine import flows
from tidings.engine.schemas import EventIn, ObjectRef
from tidings.enums import Medium, NotificationType, ObjectType
from tidings.runtime import Runtime

log = logging.getLogger(__name__)
T = NotificationType
# The ports `tidings emulators` uses by default; the example catalog's Teams and webhook URLs
# point at them.
SLACK_PORT, TEAMS_PORT, SMTP_CONTROL_PORT, WEBHOOK_PORT, SMTP_PORT = 8801, 8802, 8803, 8804, 8825
# A Slack channel of the example catalog that the demo's Slack workspace has archived, so
# CHANNEL_NOT_FOUND shows up as it does in real workspaces.
ARCHIVED_DEMO_CHANNEL = "warehouse-loader-alerts"


def start_emulators() -> EmulatorSuite:
    """The protocol emulators the demo delivers to (any Slack user exists on first use)."""
    return EmulatorSuite(
        slack_port=SLACK_PORT,
        teams_port=TEAMS_PORT,
        smtp_control_port=SMTP_CONTROL_PORT,
        webhook_port=WEBHOOK_PORT,
        smtp_port=SMTP_PORT,
        slack_open_workspace=True,
    ).start()


def delivery_settings(suite: EmulatorSuite) -> dict[str, Any]:
    """Settings that deliver to the emulators, unpaced (the backfill replays two weeks of
    messages in a minute; pacing would stretch it to hours)."""
    settings: dict[str, Any] = suite.settings_fields()
    settings["slack_per_channel_per_second"] = 0
    settings["teams_per_webhook_per_second"] = 0
    return settings


def seed_slack(suite: EmulatorSuite, engine: Engine) -> None:
    """Give the emulated Slack workspace the catalog's channels (one of them archived)."""
    with engine.connect() as connection:
        names = catalog.channel_names(connection, Medium.SLACK)
    suite.slack.workspace.add(
        [SlackChannel(name, is_archived=name == ARCHIVED_DEMO_CHANNEL) for name in names]
    )


@dataclass(frozen=True)
class DemoCatalog:
    """What the demo's events can be about."""

    services: tuple[str, ...]
    scorecards: tuple[str, ...]  # those that notify
    quiet_scorecards: tuple[str, ...]  # drafts and those with notifications off
    initiatives: tuple[str, ...]
    people: tuple[str, ...]


def read_catalog(engine: Engine) -> DemoCatalog:
    """The tags and emails the demo draws from."""
    with engine.connect() as connection:
        services = tuple(e.tag for e in catalog.entities_matching(connection, ["service"], []))
        scorecards = [
            catalog.scorecard_by_tag(connection, tag)
            for tag in connection.scalars(select(Scorecard.tag).order_by(Scorecard.tag))
        ]
        initiatives = tuple(i.tag for i in catalog.initiatives(connection))
        people = tuple(user.email for user in catalog.all_users(connection))
    loud = tuple(s.tag for s in scorecards if s and s.effective_notifications_enabled)
    quiet = tuple(s.tag for s in scorecards if s and not s.effective_notifications_enabled)
    return DemoCatalog(services, loud or quiet, quiet, initiatives, people)


def _entity(tag: str) -> ObjectRef:
    return ObjectRef(type=ObjectType.ENTITY, tag=tag)


def _scorecard(tag: str) -> ObjectRef:
    return ObjectRef(type=ObjectType.SCORECARD, tag=tag)


def _score_change(rng: random.Random, dropped: bool) -> dict[str, Any]:
    before = rng.randint(40, 95)
    after = (
        max(0, before - rng.randint(3, 20)) if dropped else min(100, before + rng.randint(-10, 12))
    )
    return {"score": after, "previousScore": before if after != before else before - 1}


def demo_event(rng: random.Random, world: DemoCatalog) -> EventIn:
    """One plausible event (about one in fifteen is flawed on purpose)."""
    service = rng.choice(world.services)
    quiet = world.quiet_scorecards and rng.random() < 0.05
    scorecard = rng.choice(world.quiet_scorecards if quiet else world.scorecards)
    person = rng.choice(world.people)
    draw = rng.random()
    if draw < 0.03:  # an entity deleted since the platform raised the event
        return EventIn(type=T.BROKEN_OPEN_API_SPEC, objects=[_entity(f"{service}-legacy")])
    if draw < 0.05:  # an event without the score its message shows
        return EventIn(
            type=T.SERVICE_REEVALUATED, objects=[_entity(service), _scorecard(scorecard)]
        )
    if draw < 0.055:  # a quiet week: nothing to report
        return EventIn(type=T.WEEKLY_REPORT)
    kinds: list[tuple[float, Callable[[], EventIn]]] = [
        (
            30,
            lambda: EventIn(
                type=T.SERVICE_REEVALUATED,
                objects=[_entity(service), _scorecard(scorecard)],
                data=_score_change(rng, False),
            ),
        ),
        (
            10,
            lambda: EventIn(
                type=T.ENTITY_SCORE_DROPPED,
                objects=[_entity(service), _scorecard(scorecard)],
                data=_score_change(rng, True),
            ),
        ),
        (
            10,
            lambda: EventIn(
                type=T.WORKFLOW_STATUS_UPDATE,
                objects=[_entity(service)],
                data={
                    "workflow": rng.choice(["deploy", "rollback", "db-migrate"]),
                    "status": rng.choice(["SUCCEEDED", "FAILED", "RUNNING"]),
                },
            ),
        ),
        (
            5,
            lambda: EventIn(
                type=T.WORKFLOW_APPROVAL_PENDING,
                objects=[_entity(service)],
                data={"workflow": "deploy-production"},
            ),
        ),
        (
            5,
            lambda: EventIn(
                type=T.BROKEN_OPEN_API_SPEC,
                objects=[_entity(service)],
                data={"error": "paths./v1/payments.post.responses is empty"},
            ),
        ),
        (
            5,
            lambda: EventIn(
                type=T.ONCALL_PERSON_CHANGED, objects=[_entity(service)], data={"person": person}
            ),
        ),
        (
            4,
            lambda: EventIn(
                type=T.PENDING_RULE_EXEMPTION,
                objects=[_entity(service), _scorecard(scorecard)],
                data={"rule": "Has a runbook", "requestedBy": person},
            ),
        ),
        (4, lambda: EventIn(type=T.VERIFICATION_PERIOD_STARTED, objects=[_entity(service)])),
        (
            4,
            lambda: EventIn(
                type=T.TEAM_MEMBER_INVITATION,
                recipients=[f"new.hire{rng.randint(1, 999)}@example.com"],
                data={"invitedBy": person},
            ),
        ),
        (4, lambda: EventIn(type=T.ONBOARDING_MESSAGE, recipients=[person])),
        (3, lambda: EventIn(type=T.AI_ASSISTANT_WELCOME_MESSAGE, recipients=[person])),
        (
            3,
            lambda: EventIn(
                type=T.NOTIFY_INVALID_INTEGRATION,
                data={"integration": rng.choice(["GitHub", "PagerDuty", "Jira"])},
            ),
        ),
        (
            2,
            lambda: EventIn(
                type=T.WEEKLY_REPORT,
                data={
                    "highlights": [
                        f"{rng.randint(2, 40)} entity evaluations",
                        f"{rng.randint(1, 9)} score drops",
                    ]
                },
            ),
        ),
        (
            1,
            lambda: EventIn(
                type=T.ENTITLEMENT_EXPIRATION,
                data={"entitlement": "The AI Assistant add-on", "expiresOn": "2027-01-31"},
            ),
        ),
    ]
    if world.initiatives:
        initiative = rng.choice(world.initiatives)
        kinds.append(
            (
                2,
                lambda: EventIn(
                    type=T.INITIATIVE_CREATION,
                    objects=[ObjectRef(type=ObjectType.INITIATIVE, tag=initiative)],
                ),
            )
        )
    weights = [weight for weight, _ in kinds]
    return rng.choices([make for _, make in kinds], weights)[0]()


def backfill(runtime: Runtime, events: int, days: int, seed: int = 1) -> int:
    """Replay `events` demo events through the engine, spread over the last `days` days;
    returns the number of runs they made."""
    return asyncio.run(_replay(runtime, events, days, seed))


async def _replay(runtime: Runtime, events: int, days: int, seed: int) -> int:
    world = read_catalog(runtime.engine)
    rng = random.Random(seed)
    end = runtime.clock()
    start = end - timedelta(days=days)
    made = 0
    try:
        for index in range(events):
            offset = (end - start) * (index / events) + timedelta(seconds=rng.randint(0, 600))
            clock = _fixed(min(start + offset, end))
            answer, run_ids = flows.submit_event(
                runtime.engine, demo_event(rng, world), runtime.settings.public_url, clock
            )
            made += len(answer.runs)
            for run_id in run_ids:
                # A message a provider asked to retry later stays READY: the runner of
                # `tidings serve` takes its run up again when it starts.
                await flows.process_run(
                    runtime.engine,
                    run_id,
                    runtime.channels,
                    runtime.settings.public_url,
                    clock,
                    backstage_url=runtime.settings.backstage_base_url,
                    retry_policy=runtime.retry_policy,
                )
    finally:
        await runtime.close_channels()
    return made


def _fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


class EventStream:
    """Emits a demo event every `interval` seconds while the demo serves."""

    def __init__(self, runtime: Runtime, interval: float, seed: int = 2) -> None:
        self._runtime = runtime
        self._interval = interval
        self._rng = random.Random(seed)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tidings-demo", daemon=True)

    def start(self) -> None:
        """Start emitting."""
        self._thread.start()

    def stop(self) -> None:
        """Stop emitting."""
        self._stopping.set()
        self._thread.join()

    def _loop(self) -> None:
        world = read_catalog(self._runtime.engine)
        runtime = self._runtime
        while not self._stopping.wait(self._interval):
            try:
                _answer, run_ids = flows.submit_event(
                    runtime.engine,
                    demo_event(self._rng, world),
                    runtime.settings.public_url,
                    runtime.clock,
                )
                if runtime.runner is not None:
                    runtime.runner.submit_runs(run_ids)
            except Exception:  # a demo event must never take the server down
                log.exception("the demo event could not be submitted")
