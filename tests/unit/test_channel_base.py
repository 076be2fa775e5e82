"""What every medium shares: masked excerpts, one reading of an HTTP answer, Retry-After, and
per-destination pacing (driven by a hand-moved clock, never by waiting)."""

import asyncio
import secrets
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from multidict import CIMultiDict

from tidings.channels import base, http
from tidings.channels.base import (
    EXCERPT_CHARS,
    Attempt,
    NetworkChannel,
    OutgoingMessage,
    Pacer,
    redact,
)
from tidings.channels.http import (
    DEFAULT_RETRY_AFTER_S,
    MAX_RETRY_AFTER_S,
    judge_answer,
    retry_after_seconds,
)
from tidings.enums import AttemptOutcome, FailedReason, Medium, RecipientType

NOW = 1_800_000_000  # the wall clock's "now", in Unix seconds, where a test fixes it
STARTED_AT = datetime(2027, 1, 15, 9, 30, tzinfo=UTC)
DELIVERED, RETRY, RATE_LIMITED, FAILED = (
    AttemptOutcome.DELIVERED,
    AttemptOutcome.RETRY,
    AttemptOutcome.RATE_LIMITED,
    AttemptOutcome.FAILED,
)


def http_date(unix_seconds: float) -> str:
    """An HTTP date (`Wed, 15 Jan 2027 09:30:00 GMT`) for a Unix time."""
    return format_datetime(datetime.fromtimestamp(unix_seconds, UTC), usegmt=True)


@pytest.fixture
def wall_clock_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry-After's HTTP-date form is read against a wall clock that stands at NOW."""
    monkeypatch.setattr(http, "time", lambda: float(NOW))


# Masked excerpts --------------------------------------------------------------------------------

SECRET_HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


class TestRedact:
    @pytest.mark.parametrize(
        ("answer", "excerpt"),
        [
            pytest.param('{"token": "abcd1234secret"}', '{"token": "***"}', id="json-token"),
            pytest.param(
                "{'ok': False, 'secret': 'hush'}", "{'ok': False, 'secret': '***'}", id="py-secret"
            ),
            pytest.param("password=hunter2&user=ada", "password=***&user=ada", id="password-param"),
            pytest.param("api_key: 12345 rejected", "api_key: *** rejected", id="key-colon"),
            pytest.param(
                "Authorization=Bearer-abc123", "Authorization=***", id="authorization-param"
            ),
            pytest.param("bad token xoxb-1234-5678-AbCdEf", "bad token ***", id="slack-bot-token"),
            pytest.param("user token xoxp-99-Zz", "user token ***", id="slack-user-token"),
            pytest.param(
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1,***=", id="base64-signature"
            ),
            pytest.param(f"id {SECRET_HEX} seen", "id *** seen", id="long-hex-run"),
            pytest.param(
                "upstream down for maintenance", "upstream down for maintenance", id="plain-words"
            ),
            pytest.param(
                "keyboard tokens monkeys", "keyboard tokens monkeys", id="words-holding-keywords"
            ),
            pytest.param("request req-7f3a failed", "request req-7f3a failed", id="short-id"),
            pytest.param("a" * 31, "a" * 31, id="31-char-run-kept"),
            pytest.param("a" * 32, "***", id="32-char-run-masked"),
            pytest.param("", "", id="empty"),
        ],
    )
    def test_secret_looking_values_are_masked_and_words_kept(
        self, answer: str, excerpt: str
    ) -> None:
        assert redact(answer) == excerpt

    def test_excerpt_is_limited_to_500_characters(self) -> None:
        excerpt = redact("the receiver is very sorry " * 100)

        assert len(excerpt) == EXCERPT_CHARS == 500
        assert excerpt.startswith("the receiver is very sorry")

    def test_a_smaller_limit_can_be_asked_for(self) -> None:
        assert redact("upstream down for maintenance", limit=8) == "upstream"

    def test_a_secret_across_the_limit_is_masked_not_cut(self) -> None:
        answer = "word " * 98 + SECRET_HEX

        excerpt = redact(answer)

        assert excerpt == "word " * 98 + "***"
        assert SECRET_HEX[:8] not in excerpt

    def test_a_secret_cut_where_reading_stops_shows_no_part_of_it(self) -> None:
        # Masks shrink the text, so what lies 1,000 characters in can reach the excerpt.
        masked_lines = (secrets.token_hex(50) + " ") * 9  # 909 characters, nine masks
        answer = masked_lines + "x" * 80 + " " + SECRET_HEX  # the secret starts at 990

        excerpt = redact(answer)

        assert excerpt.startswith("*** " * 9 + "***")
        assert SECRET_HEX[:10] not in excerpt


# Reading an HTTP answer -------------------------------------------------------------------------


class TestJudgeAnswer:
    @pytest.mark.parametrize(
        ("status", "outcome", "reason"),
        [
            pytest.param(200, DELIVERED, None, id="200"),
            pytest.param(201, DELIVERED, None, id="201"),
            pytest.param(202, DELIVERED, None, id="202"),
            pytest.param(204, DELIVERED, None, id="204"),
            pytest.param(408, RETRY, None, id="408-request-timeout"),
            pytest.param(425, RETRY, None, id="425-too-early"),
            pytest.param(500, RETRY, None, id="500"),
            pytest.param(502, RETRY, None, id="502"),
            pytest.param(503, RETRY, None, id="503"),
            pytest.param(504, RETRY, None, id="504"),
            pytest.param(507, RETRY, None, id="507-insufficient-storage"),
            pytest.param(522, RETRY, None, id="522-proxy-timed-out"),
            pytest.param(429, RATE_LIMITED, None, id="429"),
            pytest.param(400, FAILED, FailedReason.CLIENT_ERROR, id="400"),
            pytest.param(401, FAILED, FailedReason.CLIENT_ERROR, id="401"),
            pytest.param(403, FAILED, FailedReason.CLIENT_ERROR, id="403"),
            pytest.param(404, FAILED, FailedReason.CLIENT_ERROR, id="404"),
            pytest.param(410, FAILED, FailedReason.CLIENT_ERROR, id="410"),
            pytest.param(413, FAILED, FailedReason.CLIENT_ERROR, id="413"),
            pytest.param(422, FAILED, FailedReason.CLIENT_ERROR, id="422"),
        ],
    )
    def test_status_decides_the_outcome(
        self, status: int, outcome: AttemptOutcome, reason: FailedReason | None
    ) -> None:
        attempt = judge_answer(status, CIMultiDict(), "", "receiver")

        assert (attempt.outcome, attempt.failed_reason) == (outcome, reason)
        assert attempt.status_code == status

    @pytest.mark.parametrize(
        ("status", "words"),
        [
            pytest.param(503, "the receiver answered HTTP 503 Service Unavailable", id="503"),
            pytest.param(404, "the receiver answered HTTP 404 Not Found", id="404"),
            pytest.param(599, "the receiver answered HTTP 599", id="unnamed-status"),
        ],
    )
    def test_a_refusal_says_what_the_receiver_answered(self, status: int, words: str) -> None:
        assert judge_answer(status, CIMultiDict(), "", "receiver").error_message == words

    def test_a_delivered_answer_says_nothing_is_wrong(self) -> None:
        attempt = judge_answer(202, CIMultiDict(), "", "Teams webhook")

        assert attempt.error_message is None
        assert attempt.response_excerpt is None

    def test_the_answer_is_kept_masked_as_the_excerpt(self) -> None:
        attempt = judge_answer(400, CIMultiDict(), '{"token": "abcd1234secret"}', "receiver")

        assert attempt.response_excerpt == '{"token": "***"}'

    def test_429_waits_the_retry_after_seconds(self) -> None:
        attempt = judge_answer(429, CIMultiDict({"Retry-After": "120"}), "", "receiver")

        assert attempt.outcome is RATE_LIMITED
        assert attempt.retry_after == 120
        assert attempt.error_message == (
            "the receiver answered HTTP 429 Too Many Requests; retrying after 120 s"
        )

    @pytest.mark.usefixtures("wall_clock_fixed")
    def test_429_waits_until_the_retry_after_http_date(self) -> None:
        headers = CIMultiDict({"retry-after": http_date(NOW + 90)})

        assert judge_answer(429, headers, "", "receiver").retry_after == 90

    def test_429_without_retry_after_waits_the_default(self) -> None:
        attempt = judge_answer(429, CIMultiDict(), "", "receiver")

        assert attempt.retry_after == DEFAULT_RETRY_AFTER_S == 30

    @pytest.mark.parametrize(
        "header",
        ["x-request-id", "request-id", "x-ms-request-id", "x-amzn-requestid", "X-Request-ID"],
    )
    def test_the_receivers_request_id_is_kept(self, header: str) -> None:
        for status in (200, 503, 404):
            attempt = judge_answer(status, CIMultiDict({header: "req-7f3a"}), "", "receiver")

            assert attempt.provider_request_id == "req-7f3a"

    def test_no_request_id_header_keeps_none(self) -> None:
        headers = CIMultiDict({"content-type": "text/plain"})

        assert judge_answer(200, headers, "", "receiver").provider_request_id is None


@pytest.mark.usefixtures("wall_clock_fixed")
class TestRetryAfterSeconds:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            pytest.param(None, DEFAULT_RETRY_AFTER_S, id="absent"),
            pytest.param("", DEFAULT_RETRY_AFTER_S, id="empty"),
            pytest.param("0", 0, id="zero"),
            pytest.param("7", 7, id="seconds"),
            pytest.param(" 7 ", 7, id="padded"),
            pytest.param("1.5", 1.5, id="fraction"),
            pytest.param("-5", 0, id="negative-is-now"),
            pytest.param("soon", DEFAULT_RETRY_AFTER_S, id="words"),
            pytest.param("inf", DEFAULT_RETRY_AFTER_S, id="infinity"),
            pytest.param("nan", DEFAULT_RETRY_AFTER_S, id="not-a-number"),
            pytest.param("1e12", MAX_RETRY_AFTER_S, id="huge-is-capped"),
            pytest.param(http_date(NOW + 90), 90, id="http-date"),
            pytest.param(http_date(NOW - 90), 0, id="http-date-past"),
            pytest.param("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER_S, id="http-date-far"),
            pytest.param("Fri, 31 Feb 2027 25:00:00 GMT", DEFAULT_RETRY_AFTER_S, id="bad-date"),
        ],
    )
    def test_retry_after_header_in_seconds(self, value: str | None, seconds: float) -> None:
        assert retry_after_seconds(value) == seconds

    def test_the_cap_is_a_day(self) -> None:
        assert MAX_RETRY_AFTER_S == 24 * 3600
        assert retry_after_seconds("86401") == MAX_RETRY_AFTER_S


# Pacing -----------------------------------------------------------------------------------------


class ManualTime:
    """Stands in for `time` and `asyncio.sleep` in channels.base: time moves only when a test
    moves it, and a sleep is recorded rather than waited."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


class AsyncioSleepingByHand:
    """asyncio as channels.base sees it, but for `sleep`, which the manual time records."""

    def __init__(self, manual: ManualTime) -> None:
        self.sleep = manual.sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@pytest.fixture
def manual_time(monkeypatch: pytest.MonkeyPatch) -> ManualTime:
    """channels.base on a hand-moved clock, its sleeps recorded."""
    manual = ManualTime()
    monkeypatch.setattr(base, "time", manual)
    monkeypatch.setattr(base, "asyncio", AsyncioSleepingByHand(manual))
    return manual


def take_turns(pacer: Pacer, *destinations: str) -> None:
    """Take one turn for each destination, in order, at the clock's current instant."""

    async def turns() -> None:
        for destination in destinations:
            await pacer.wait_turn(destination)

    asyncio.run(turns())


class TestPacer:
    def test_first_turn_for_a_destination_does_not_wait(self, manual_time: ManualTime) -> None:
        take_turns(Pacer(20), "#alerts")

        assert manual_time.slept == []

    def test_turns_to_one_destination_are_spaced_one_interval_apart(
        self, manual_time: ManualTime
    ) -> None:
        take_turns(Pacer(20), "#alerts", "#alerts", "#alerts")

        assert manual_time.slept == pytest.approx([0.05, 0.10])

    def test_another_destination_does_not_wait_for_a_busy_one(
        self, manual_time: ManualTime
    ) -> None:
        take_turns(Pacer(1), "#alerts", "#alerts", "#deploys", "ada@example.com")

        assert manual_time.slept == [1.0]

    def test_a_turn_once_the_interval_has_passed_does_not_wait(
        self, manual_time: ManualTime
    ) -> None:
        pacer = Pacer(4)
        take_turns(pacer, "#alerts")
        manual_time.now += 0.25

        take_turns(pacer, "#alerts")

        assert manual_time.slept == []

    def test_a_turn_part_way_through_the_interval_waits_the_rest(
        self, manual_time: ManualTime
    ) -> None:
        pacer = Pacer(4)
        take_turns(pacer, "#alerts")
        manual_time.now += 0.1

        take_turns(pacer, "#alerts")

        assert manual_time.slept == pytest.approx([0.15])

    def test_a_pace_of_zero_never_waits(self, manual_time: ManualTime) -> None:
        take_turns(Pacer(0), *["#alerts"] * 5)

        assert manual_time.slept == []

    def test_a_paused_destination_waits_out_the_pause(self, manual_time: ManualTime) -> None:
        pacer = Pacer(20)
        pacer.pause("#alerts", 30)

        take_turns(pacer, "#alerts", "#deploys")

        assert manual_time.slept == [30]

    def test_a_shorter_pause_does_not_cut_a_longer_one(self, manual_time: ManualTime) -> None:
        pacer = Pacer(20)
        pacer.pause("#alerts", 30)
        pacer.pause("#alerts", 5)

        take_turns(pacer, "#alerts")

        assert manual_time.slept == [30]


# The network medium's frame ---------------------------------------------------------------------


def message(log_id: int, destination: str) -> OutgoingMessage:
    return OutgoingMessage(
        log_id=log_id,
        run_id=1,
        medium=Medium.WEBHOOK,
        recipient_type=RecipientType.ENTITY,
        user_id=None,
        email=None,
        channel=destination,
        slack_user_id=None,
        teams_user_id=None,
        subject="Broken OpenAPI spec",
        text="The spec no longer parses.",
        body="{}",
    )


class ScriptedChannel(NetworkChannel):
    """A medium whose provider answers each log as scripted, taking 12 ms of hand-moved time."""

    medium = Medium.WEBHOOK

    def __init__(
        self, answers: dict[int, Attempt | Exception], manual: ManualTime, concurrency: int = 16
    ) -> None:
        super().__init__(lambda: STARTED_AT, pace=0, concurrency=concurrency)
        self.answers, self.manual = answers, manual
        self.sent: list[int] = []

    def pacing_key(self, message: OutgoingMessage) -> str:
        return message.channel or ""

    async def send_one(self, message: OutgoingMessage) -> Attempt:
        self.sent.append(message.log_id)
        self.manual.now += 0.012
        answer = self.answers.get(message.log_id, Attempt.delivered(200))
        if isinstance(answer, Exception):
            raise answer
        return answer


def send(channel: NetworkChannel, messages: Sequence[OutgoingMessage]) -> list[Attempt]:
    return asyncio.run(channel.send_batch(messages))


class TestNetworkChannel:
    def test_a_batch_gets_one_attempt_per_message_in_order(self, manual_time: ManualTime) -> None:
        channel = ScriptedChannel({2: Attempt.retry("down", 503)}, manual_time)

        attempts = send(channel, [message(1, "a"), message(2, "b"), message(3, "c")])

        assert [attempt.outcome for attempt in attempts] == [DELIVERED, RETRY, DELIVERED]

    def test_every_attempt_carries_its_start_and_latency(self, manual_time: ManualTime) -> None:
        [attempt] = send(ScriptedChannel({}, manual_time), [message(1, "a")])

        assert attempt.started_at == STARTED_AT
        assert attempt.latency_ms == pytest.approx(12.0)

    def test_a_medium_that_raises_is_a_retry_naming_the_error(
        self, manual_time: ManualTime
    ) -> None:
        channel = ScriptedChannel({1: KeyError("channel")}, manual_time)

        [attempt] = send(channel, [message(1, "a")])

        assert attempt.outcome is RETRY
        assert attempt.error_message == "KeyError: 'channel'"

    def test_a_rate_limited_answer_pauses_its_destination(self, manual_time: ManualTime) -> None:
        channel = ScriptedChannel({1: Attempt.rate_limited(30, "slow down")}, manual_time)
        send(channel, [message(1, "a")])

        send(channel, [message(2, "a"), message(3, "b")])

        assert manual_time.slept == [30]

    def test_each_answer_is_told_as_it_comes_with_its_index(self, manual_time: ManualTime) -> None:
        channel = ScriptedChannel({2: Attempt.retry("down", 503)}, manual_time)
        told: list[tuple[int, AttemptOutcome]] = []

        def answered(index: int, attempt: Attempt) -> None:
            told.append((index, attempt.outcome))

        asyncio.run(channel.send_batch([message(1, "a"), message(2, "b")], answered))

        assert sorted(told) == [(0, DELIVERED), (1, RETRY)]

    def test_nothing_more_is_sent_while_the_listener_holds_the_medium(
        self, manual_time: ManualTime
    ) -> None:
        channel = ScriptedChannel({}, manual_time, concurrency=1)  # one worker, sending in turn
        sent_while_held: list[int] = []

        async def scenario() -> None:
            store_caught_up = asyncio.Event()

            def answered(index: int, attempt: Attempt) -> Awaitable[object] | None:
                return store_caught_up.wait() if index == 0 else None

            async def release_later() -> None:
                await asyncio.sleep(0)
                sent_while_held.append(len(channel.sent))
                store_caught_up.set()

            await asyncio.gather(
                channel.send_batch([message(1, "a"), message(2, "b")], answered),
                release_later(),
            )

        asyncio.run(scenario())

        assert sent_while_held == [1]
        assert channel.sent == [1, 2]
