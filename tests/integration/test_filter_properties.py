"""Filters, paging and order of both list endpoints, stated as laws over a generated store.

Each backend gets one store for the whole module: a generated month of history, plus three
hand-made runs whose logs were all created in the same millisecond (so that only the id can
order them), with a mixed-case email address and `%`, `_` and non-ASCII letters in their
texts. Hypothesis varies every filter of both endpoints; the expected answer is computed
from the rows read straight from the store, with the semantics of decisions.md and
docs/api.md: arrays match any of their values (repeated keys, commas or both), enum values
and `recipientEmails` are case-insensitive, `general` also finds `#general`, both dates are
inclusive instants on dateCreated, `searchQuery` is a case-insensitive substring of the
summary or of an object's name, tag or cid (blank: no filter), and `deliveredOnly` defaults
to true.
"""

import math
import operator
import string
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from tests.support.builders import RunSpec, entity, store_runs
from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)
from tidings.generator.history import HistorySpec, write_history
from tidings.kit.db import create_db_engine
from tidings.logs.models import run_objects
from tidings.logs.repository import logs, objects, runs
from tidings.runtime import Runtime
from tidings.settings import Settings

END = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
RUNS = 150
SEED = 23
# Inside the generated month, at an instant no generated row has.
SHARED_INSTANT = datetime(2026, 11, 3, 17, 45, 12, 345_000, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
# Paging through a result takes at most this many requests (plus the page past the end).
MAX_PAGES = 25
ZONES = (
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
)
LAWS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PATHS = {"logs": "/api/v1/notifications/logs", "runs": "/api/v1/notifications/logs/run"}
KINDS = list(PATHS)

T = TypeVar("T")
Params = list[tuple[str, str]]


# The store, read back ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredLog:
    """A log as the store holds it: what the log filters look at."""

    id: int
    run_id: int
    notification_type: NotificationType
    medium: Medium
    status: LogStatus
    recipient_type: RecipientType
    recipient_email: str | None
    recipient_entity_id: int | None
    recipient_channel: str | None
    ignored_reason: IgnoredReason | None
    failed_reason: FailedReason | None
    date_created: datetime


@dataclass(frozen=True)
class StoredRun:
    """A run as the store holds it, with the texts `searchQuery` looks into."""

    id: int
    notification_type: NotificationType
    medium: Medium
    status: RunStatus
    ignored_reason: RunIgnoredReason | None
    failed_reason: RunFailedReason | None
    delivered_count: int
    date_created: datetime
    searchable: tuple[str, ...]


@dataclass(frozen=True, repr=False)
class Truth:
    """Every log and run of the store."""

    logs: tuple[StoredLog, ...]
    runs: tuple[StoredRun, ...]

    def __repr__(self) -> str:
        return f"Truth({len(self.logs)} logs, {len(self.runs)} runs)"


def read_truth(engine: Engine) -> Truth:
    """All rows of the store, through the same column types the service reads them with."""
    log_columns = [logs.c[name] for name in StoredLog.__dataclass_fields__]
    with engine.connect() as connection:
        stored_logs = tuple(
            StoredLog(**row) for row in connection.execute(select(*log_columns)).mappings()
        )
        texts: dict[int, list[str]] = defaultdict(list)
        linked = select(run_objects.c.run_id, objects.c.name, objects.c.tag, objects.c.cid).join(
            objects, objects.c.pk == run_objects.c.object_pk
        )
        for run_id, *words in connection.execute(linked):
            texts[run_id] += [word for word in words if word]
        run_fields = [name for name in StoredRun.__dataclass_fields__ if name != "searchable"]
        stored_runs = [
            StoredRun(
                **{name: row[name] for name in run_fields},
                searchable=(row["summary"], *texts[row["id"]]),
            )
            for row in connection.execute(
                select(*[runs.c[name] for name in run_fields], runs.c.summary)
            ).mappings()
        ]
    return Truth(stored_logs, tuple(stored_runs))


def runs_sharing_one_instant() -> list[RunSpec]:
    """Three runs whose logs were all created in one millisecond: only the id orders them."""
    at = {"date_created": SHARED_INSTANT, "date_updated": SHARED_INSTANT}
    return [
        RunSpec(
            fields={**at, "summary": "Uptime report: Probe 100%_up in Zürich"},
            logs=[
                {},
                {
                    "status": LogStatus.FAILED,
                    "failed_reason": FailedReason.CLIENT_ERROR,
                    "error_message": "Slack answered invalid_auth",
                    "recipient_user_id": 1002,
                    "recipient_email": "Bo.Tie@Example.COM",
                    "date_delivered": None,
                },
                {
                    "recipient_type": RecipientType.ENTITY,
                    "recipient_user_id": None,
                    "recipient_email": None,
                    "recipient_entity_id": 9_900_001,
                    "recipient_channel": "#general",
                },
            ],
            objects=[entity(9_900_001, "Café Ødegaard 100%_up", "probe_up", "en00000000000tie01")],
        ),
        RunSpec(
            fields={
                **at,
                "notification_type": NotificationType.WEEKLY_REPORT,
                "medium": Medium.EMAIL,
                "status": RunStatus.IGNORED,
                "ignored_reason": RunIgnoredReason.NO_RECIPIENTS,
                "summary": "Weekly report",
            },
            logs=[
                {
                    "status": LogStatus.IGNORED,
                    "ignored_reason": IgnoredReason.USER_UNSUBSCRIBED,
                    "date_delivered": None,
                }
            ],
        ),
        RunSpec(
            fields={**at, "medium": Medium.MICROSOFT_TEAMS},
            logs=[
                {
                    "recipient_type": RecipientType.TEAM,
                    "recipient_user_id": None,
                    "recipient_email": None,
                    "recipient_entity_id": 9_900_002,
                    "recipient_channel": "General Engineering",
                },
                {"recipient_user_id": 1003, "recipient_email": "cy.tie@example.com"},
            ],
        ),
    ]


@dataclass
class Store:
    """The API over the module's store, and what the store holds."""

    client: TestClient
    headers: dict[str, str]
    truth: Truth

    def get(self, kind: str, params: Params) -> httpx.Response:
        """A GET of the `kind` endpoint ("logs" or "runs")."""
        response: httpx.Response = self.client.get(PATHS[kind], params=params, headers=self.headers)
        return response

    def page(self, kind: str, params: Params, page: int, page_size: int) -> dict[str, Any]:
        """One page of a successful GET."""
        paged = [*params, ("page", str(page)), ("pageSize", str(page_size))]
        response = self.get(kind, paged)
        assert response.status_code == 200, (paged, response.text)
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def store(module_database_url: str) -> Iterator[Store]:
    """A generated month and the shared-instant runs, served by the app (one per backend)."""
    engine = create_db_engine(module_database_url)
    write_history(engine, HistorySpec(runs=RUNS, logs=None, seed=SEED, end=END))
    store_runs(engine, runs_sharing_one_instant())
    truth = read_truth(engine)
    engine.dispose()
    runtime = Runtime.from_settings(
        Settings(database_url=module_database_url, rate_limit_per_minute=1_000_000_000)
    )
    with runtime.sessions.begin() as session:
        secret = keys.create_key(
            session, "filter laws", [Permission.VIEW_NOTIFICATION_LOGS], datetime.now(UTC)
        ).secret
    try:
        with TestClient(create_app(runtime)) as client:
            yield Store(client, {"Authorization": f"Bearer {secret}"}, truth)
    finally:
        runtime.close()


# Queries: how they are spelled on the wire, and which rows they select --------------------


def allows(value: T | None, allowed: frozenset[T]) -> bool:
    """An empty filter lets everything through; otherwise the value must be one it names."""
    return not allowed or value in allowed


def allows_channel(channel: str | None, allowed: frozenset[str]) -> bool:
    """Like `allows`, where `general` also finds `#general`."""
    bare = channel[1:] if channel is not None and channel.startswith("#") else None
    return allows(channel, allowed) or bare in allowed


@dataclass(frozen=True)
class Window:
    """fromDate and untilDate: both inclusive, both optional."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, moment: datetime) -> bool:
        """Whether `moment` lies inside the window."""
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment <= self.end
        )


@dataclass(frozen=True)
class Order:
    """orderBy: by dateCreated, then id, newest first unless ascending was asked for."""

    descending: bool = True

    def sort(self, rows: Sequence["Row"]) -> list["Row"]:
        """`rows` in this order."""
        return sorted(rows, key=lambda row: (row.date_created, row.id), reverse=self.descending)


class Row(Protocol):
    """What logs and runs share: an id and a creation instant."""

    @property
    def id(self) -> int: ...

    @property
    def date_created(self) -> datetime: ...


@dataclass(frozen=True)
class LogQuery:
    """A drawn log query: its wire parameters and the filters they mean."""

    params: tuple[tuple[str, str], ...]
    order: Order
    window: Window
    run_ids: frozenset[int]
    types: frozenset[NotificationType]
    statuses: frozenset[LogStatus]
    recipient_types: frozenset[RecipientType]
    emails: frozenset[str]
    entity_ids: frozenset[int]
    channels: frozenset[str]
    mediums: frozenset[Medium]
    ignored_reasons: frozenset[IgnoredReason]
    failed_reasons: frozenset[FailedReason]

    def matches(self, log: StoredLog) -> bool:
        """Whether the query selects `log`: every filter must let it through."""
        return (
            self.window.holds(log.date_created)
            and allows(log.run_id, self.run_ids)
            and allows(log.notification_type, self.types)
            and allows(log.status, self.statuses)
            and allows(log.recipient_type, self.recipient_types)
            and allows(log.recipient_email and log.recipient_email.lower(), self.emails)
            and allows(log.recipient_entity_id, self.entity_ids)
            and allows_channel(log.recipient_channel, self.channels)
            and allows(log.medium, self.mediums)
            and allows(log.ignored_reason, self.ignored_reasons)
            and allows(log.failed_reason, self.failed_reasons)
        )


@dataclass(frozen=True)
class RunQuery:
    """A drawn run query: its wire parameters and the filters they mean."""

    params: tuple[tuple[str, str], ...]
    order: Order
    window: Window
    types: frozenset[NotificationType]
    statuses: frozenset[RunStatus]
    mediums: frozenset[Medium]
    ignored_reasons: frozenset[RunIgnoredReason]
    failed_reasons: frozenset[RunFailedReason]
    search: str | None
    delivered_only: bool
    include_objects: bool

    def matches(self, run: StoredRun) -> bool:
        """Whether the query selects `run`: every filter must let it through."""
        return (
            self.window.holds(run.date_created)
            and allows(run.notification_type, self.types)
            and allows(run.status, self.statuses)
            and allows(run.medium, self.mediums)
            and allows(run.ignored_reason, self.ignored_reasons)
            and allows(run.failed_reason, self.failed_reasons)
            and (not self.delivered_only or run.delivered_count >= 1)
            and (self.search is None or any(self.search in text.lower() for text in run.searchable))
        )


Query = LogQuery | RunQuery
Draw = Callable[[st.SearchStrategy[Any]], Any]
Sent = tuple[Any, str]  # a filter value, and how it is written in the query string


def one_of_these(values: Sequence[T]) -> st.SearchStrategy[T]:
    """Any of `values` (drawn by index, which keeps the strategy's repr short)."""
    return st.integers(0, len(values) - 1).map(lambda index: values[index])


def in_any_case(text: str) -> st.SearchStrategy[str]:
    """`text` upper-cased, lower-cased or with alternating case."""
    alternating = "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))
    return st.sampled_from([text.upper(), text.lower(), alternating])


def as_number(value: int) -> st.SearchStrategy[Sent]:
    """Ids are sent in decimal."""
    return st.just((value, str(value)))


def as_member(member: StrEnum) -> st.SearchStrategy[Sent]:
    """Enum values are case-insensitive."""
    return in_any_case(member.value).map(lambda text: (member, text))


def as_email(email: str) -> st.SearchStrategy[Sent]:
    """recipientEmails is matched case-insensitively."""
    return in_any_case(email).map(lambda text: (email.lower(), text))


def as_channel(channel: str) -> st.SearchStrategy[Sent]:
    """`general` also finds `#general`."""
    spellings = [channel, channel[1:]] if channel.startswith("#") else [channel]
    return st.sampled_from(spellings).map(lambda text: (text, text))


@dataclass(frozen=True)
class ArrayFilter:
    """An array filter: where its values go in a query, and which values to try."""

    name: str  # in the query string
    field: str  # of LogQuery / RunQuery
    of_row: Callable[[Any], Any]  # the row's own value, which the filter then matches
    others: st.SearchStrategy[Any]  # more values, many of which match nothing
    spell: Callable[[Any], st.SearchStrategy[Sent]]


def enum_filter(name: str, field: str, column: str, enum: type[StrEnum]) -> ArrayFilter:
    """A filter on the enum `column` of the rows."""
    return ArrayFilter(
        name, field, operator.attrgetter(column), st.sampled_from(list(enum)), as_member
    )


def draw_filters(
    draw: Draw, filters: Sequence[ArrayFilter], rows: Sequence[Any], params: Params
) -> tuple[dict[str, frozenset[Any]], Any]:
    """Up to three of `filters` and an anchor row that has a value for each of them; each
    filter takes 1 to 3 values (the anchor's own and others, many of which match nothing),
    sent as repeated keys, commas or a mix of both. Sometimes one more filter takes only
    values other than the anchor's. Returns each filter's values (empty: no filter) and the
    anchor, around which the rest of the query is drawn so that most queries match a few
    rows."""
    active = draw(st.lists(st.sampled_from(filters), max_size=3, unique=True))
    fitting = [row for row in rows if all(spec.of_row(row) is not None for spec in active)]
    fitting = fitting or list(rows)
    # The hand-made rows, a few among hundreds, are the anchor one time in four.
    hand_made = [row for row in fitting if row.date_created == SHARED_INSTANT] or fitting
    anchor = draw(st.sampled_from([fitting, fitting, fitting, hand_made]).flatmap(one_of_these))
    inactive = [spec for spec in filters if spec not in active]
    with_extra = inactive and draw(st.sampled_from([False, False, False, False, True]))
    extra = draw(st.sampled_from(inactive)) if with_extra else None
    chosen: dict[str, frozenset[Any]] = {spec.field: frozenset() for spec in filters}
    for spec in [*active, extra] if extra else active:
        values = draw(st.lists(spec.others, min_size=1, max_size=3))
        own = spec.of_row(anchor)
        if spec is not extra and own is not None:
            values = [own, *values[1:]]
        drawn = [draw(spec.spell(value)) for value in values]
        sent = [text for _, text in drawn]
        style = draw(st.sampled_from(["repeated", "commas", "mixed"]))
        if style == "repeated" or len(sent) == 1:
            params += [(spec.name, text) for text in sent]
        elif style == "commas":
            params.append((spec.name, ",".join(sent)))
        else:
            params += [(spec.name, sent[0]), (spec.name, ",".join(sent[1:]))]
        chosen[spec.field] = frozenset(value for value, _ in drawn)
    return chosen, anchor


def instants(dates: Sequence[datetime], anchor: datetime) -> st.SearchStrategy[datetime]:
    """Instants near the data: the anchor's dateCreated, a row's, or a UTC midnight (each
    exactly or 1 ms off), up to three days from the anchor, or any millisecond of the month."""
    first_day = min(dates).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    days = (max(dates) - first_day).days + 2
    near = st.sampled_from([-ONE_MS, timedelta(0), ONE_MS])
    midnights = st.integers(0, days).map(lambda day: first_day + timedelta(days=day))
    return st.one_of(
        near.map(lambda delta: anchor + delta),
        st.builds(operator.add, one_of_these(dates), near),
        st.builds(operator.add, midnights, near),
        st.integers(-3 * 86_400_000, 3 * 86_400_000).map(
            lambda ms: anchor + timedelta(milliseconds=ms)
        ),
        st.integers(0, days * 86_400_000).map(lambda ms: first_day + timedelta(milliseconds=ms)),
    )


def spell_instant(draw: Draw, moment: datetime) -> str:
    """`moment` in a drawn zone: `Z`, no zone (UTC) or an offset; milliseconds when needed."""
    zone = draw(st.sampled_from(ZONES))
    local = moment.astimezone(zone)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond or draw(st.booleans()):
        text += f".{moment.microsecond // 1000:03d}"
    if zone is UTC:
        utc: str = draw(st.sampled_from(["Z", "", "+00:00"]))
        return text + utc
    offset = local.strftime("%z")
    return f"{text}{offset[:3]}:{offset[3:]}"


Windows = Callable[[Sequence[datetime], datetime], st.SearchStrategy[Window]]


def ordered_windows(dates: Sequence[datetime], anchor: datetime) -> st.SearchStrategy[Window]:
    """fromDate and untilDate, each optional, never in the wrong order; often around the
    anchor's dateCreated, which then lies inside (or on an edge of) the window."""
    optional = st.none() | instants(dates, anchor)

    def window(start: datetime | None, end: datetime | None) -> Window:
        if start is not None and end is not None and start > end:
            start, end = end, start
        return Window(start, end)

    reach = st.sampled_from([timedelta(0), ONE_MS]) | st.integers(0, 3 * 86_400_000).map(
        lambda ms: timedelta(milliseconds=ms)
    )
    around_anchor = st.builds(
        Window,
        st.none() | reach.map(lambda delta: anchor - delta),
        st.none() | reach.map(lambda delta: anchor + delta),
    )
    anywhere = st.builds(window, optional, optional)
    return st.sampled_from([around_anchor, around_anchor, around_anchor, anywhere]).flatmap(
        lambda windows: windows
    )


def reversed_windows(dates: Sequence[datetime], anchor: datetime) -> st.SearchStrategy[Window]:
    """fromDate strictly after untilDate."""
    return (
        st.tuples(instants(dates, anchor), instants(dates, anchor))
        .filter(lambda pair: pair[0] != pair[1])
        .map(lambda pair: Window(max(pair), min(pair)))
    )


def draw_window_and_order(
    draw: Draw, dates: Sequence[datetime], anchor: datetime, windows: Windows, params: Params
) -> tuple[Window, Order]:
    """The date window and the order, which both endpoints take alike."""
    window = draw(windows(dates, anchor))
    if window.start is not None:
        params.append(("fromDate", spell_instant(draw, window.start)))
    if window.end is not None:
        params.append(("untilDate", spell_instant(draw, window.end)))
    direction = draw(st.sampled_from([None, "ASC", "DESC", "asc", "Desc"]))
    if direction is not None:
        params.append(("orderBy", direction))
    return window, Order(descending=direction is None or direction.upper() == "DESC")


def absent(pattern: str) -> st.SearchStrategy[str]:
    """Values that no row holds."""
    return st.from_regex(pattern, fullmatch=True)


def log_filters(truth: Truth) -> list[ArrayFilter]:
    """The array filters of the logs endpoint."""
    stored = truth.logs
    run_ids = sorted({log.run_id for log in stored})
    emails = sorted({log.recipient_email for log in stored if log.recipient_email})
    entity_ids = sorted({log.recipient_entity_id for log in stored if log.recipient_entity_id})
    channels = sorted({log.recipient_channel for log in stored if log.recipient_channel})
    return [
        ArrayFilter(
            "notificationRunIds",
            "run_ids",
            operator.attrgetter("run_id"),
            one_of_these(run_ids) | st.integers(run_ids[-1] + 1, 2**53 - 1),
            as_number,
        ),
        enum_filter("notificationTypes", "types", "notification_type", NotificationType),
        enum_filter("statuses", "statuses", "status", LogStatus),
        enum_filter("recipientTypes", "recipient_types", "recipient_type", RecipientType),
        ArrayFilter(
            "recipientEmails",
            "emails",
            operator.attrgetter("recipient_email"),
            one_of_these(emails) | absent(r"nobody\.[a-z]{1,8}@example\.org"),
            as_email,
        ),
        ArrayFilter(
            "recipientEntityIds",
            "entity_ids",
            operator.attrgetter("recipient_entity_id"),
            one_of_these(entity_ids) | st.integers(-5, 10**12),
            as_number,
        ),
        ArrayFilter(
            "recipientChannels",
            "channels",
            operator.attrgetter("recipient_channel"),
            one_of_these(channels) | absent(r"#?nowhere-[a-z]{1,8}"),
            as_channel,
        ),
        enum_filter("mediums", "mediums", "medium", Medium),
        enum_filter("ignoredReasons", "ignored_reasons", "ignored_reason", IgnoredReason),
        enum_filter("failedReasons", "failed_reasons", "failed_reason", FailedReason),
    ]


@st.composite
def log_queries(draw: Draw, truth: Truth, windows: Windows = ordered_windows) -> LogQuery:
    """Any combination of the log filters, with values that match and values that do not."""
    params: Params = []
    chosen, anchor = draw_filters(draw, log_filters(truth), truth.logs, params)
    dates = [log.date_created for log in truth.logs]
    window, order = draw_window_and_order(draw, dates, anchor.date_created, windows, params)
    return LogQuery(params=tuple(params), order=order, window=window, **chosen)


RUN_FILTERS = [
    enum_filter("notificationTypes", "types", "notification_type", NotificationType),
    enum_filter("statuses", "statuses", "status", RunStatus),
    enum_filter("mediums", "mediums", "medium", Medium),
    enum_filter("ignoredReasons", "ignored_reasons", "ignored_reason", RunIgnoredReason),
    enum_filter("failedReasons", "failed_reasons", "failed_reason", RunFailedReason),
]


def search_terms(anchor: StoredRun) -> st.SearchStrategy[tuple[str | None, str | None]]:
    """searchQuery as (what it means, what is sent): absent, blank, a piece of the anchor's
    summary or of an object's name, tag or cid in any case, or other text (where `%` and `_`
    are literal characters)."""

    def piece(text: str, start: int, length: int) -> str:
        return text[start : start + length].strip() or text.strip()

    pieces = st.builds(
        piece, st.sampled_from(anchor.searchable), st.integers(0, 40), st.integers(1, 12)
    )
    other = st.text(string.ascii_letters + string.digits + "%_-. éÉüÜøØ", min_size=1, max_size=6)
    return st.one_of(
        st.just((None, None)),
        st.sampled_from(["", "   "]).map(lambda blank: (None, blank)),
        pieces.flatmap(lambda text: in_any_case(text).map(lambda sent: (text.lower(), sent))),
        other.map(str.strip).filter(bool).map(lambda text: (text.lower(), text)),
    )


@st.composite
def run_queries(draw: Draw, truth: Truth, windows: Windows = ordered_windows) -> RunQuery:
    """Any combination of the run filters, with values that match and values that do not."""
    params: Params = []
    chosen, anchor = draw_filters(draw, RUN_FILTERS, truth.runs, params)
    search, sent = draw(search_terms(anchor))
    if sent is not None:
        params.append(("searchQuery", sent))
    delivered_only = draw(st.sampled_from([None, "true", "false"]))
    if delivered_only is not None:
        params.append(("deliveredOnly", delivered_only))
    include_objects = draw(st.sampled_from([None, "true", "false"]))
    if include_objects is not None:
        params.append(("includeObjects", include_objects))
    dates = [run.date_created for run in truth.runs]
    window, order = draw_window_and_order(draw, dates, anchor.date_created, windows, params)
    return RunQuery(
        params=tuple(params),
        order=order,
        window=window,
        search=search,
        delivered_only=delivered_only != "false",
        include_objects=include_objects == "true",
        **chosen,
    )


def draw_query(
    data: st.DataObject, store: Store, kind: str, windows: Windows = ordered_windows
) -> tuple[Query, list[Row]]:
    """A query of the `kind` endpoint and the rows it selects, in its order."""
    if kind == "logs":
        log_query = data.draw(log_queries(store.truth, windows), label="query")
        selected: list[Row] = [log for log in store.truth.logs if log_query.matches(log)]
        return log_query, log_query.order.sort(selected)
    run_query = data.draw(run_queries(store.truth, windows), label="query")
    selected = [run for run in store.truth.runs if run_query.matches(run)]
    return run_query, run_query.order.sort(selected)


# The laws ----------------------------------------------------------------------------------


def all_pages(store: Store, kind: str, query: Query, page_size: int) -> list[dict[str, Any]]:
    """Every page of a query, from the first to the last the first one announces."""
    first = store.page(kind, list(query.params), 0, page_size)
    rest = range(1, first["totalPages"])
    return [first, *(store.page(kind, list(query.params), page, page_size) for page in rest)]


@pytest.mark.parametrize("kind", KINDS)
class TestFilters:
    @LAWS
    @given(data=st.data())
    def test_filters_select_exactly_the_rows_that_match_all_of_them(
        self, store: Store, kind: str, data: st.DataObject
    ) -> None:
        query, expected = draw_query(data, store, kind)

        pages = all_pages(store, kind, query, 1000)

        found = [item["id"] for body in pages for item in body[kind]]
        assert sorted(found) == sorted(row.id for row in expected)
        assert {body["total"] for body in pages} == {len(expected)}

    @LAWS
    @given(data=st.data())
    def test_from_date_after_until_date_is_a_bad_request(
        self, store: Store, kind: str, data: st.DataObject
    ) -> None:
        query, _ = draw_query(data, store, kind, reversed_windows)

        response = store.get(kind, list(query.params))

        assert response.status_code == 400, response.text
        assert response.json()["type"] == "BAD_REQUEST"
        assert "fromDate" in response.json()["details"]


@LAWS
@given(data=st.data())
def test_runs_carry_their_objects_only_when_include_objects_is_true(
    store: Store, data: st.DataObject
) -> None:
    query, expected = draw_query(data, store, "runs")
    assert isinstance(query, RunQuery)

    body = store.page("runs", list(query.params), 0, 50)

    assert [run["id"] for run in body["runs"]] == [run.id for run in expected[:50]]
    assert all(("notificationObjects" in run) == query.include_objects for run in body["runs"])


@pytest.mark.parametrize("kind", KINDS)
class TestPaging:
    @LAWS
    @given(data=st.data())
    def test_paging_through_all_pages_returns_every_match_exactly_once(
        self, store: Store, kind: str, data: st.DataObject
    ) -> None:
        query, expected = draw_query(data, store, kind)
        smallest = max(1, math.ceil(len(expected) / MAX_PAGES))
        page_size = data.draw(st.integers(smallest, 1000), label="pageSize")
        pages_needed = math.ceil(len(expected) / page_size)

        pages = [
            store.page(kind, list(query.params), page, page_size)
            for page in range(pages_needed + 1)  # and the page just past the end
        ]

        found = [item["id"] for body in pages for item in body[kind]]
        assert len(found) == len(set(found)) == len(expected)
        assert set(found) == {row.id for row in expected}
        assert [len(body[kind]) for body in pages[:-1]] == [
            min(page_size, len(expected) - page * page_size) for page in range(pages_needed)
        ]
        assert pages[-1][kind] == []
        assert {(body["total"], body["totalPages"]) for body in pages} == {
            (len(expected), pages_needed)
        }
        assert [body["page"] for body in pages] == list(range(pages_needed + 1))


@pytest.mark.parametrize("kind", KINDS)
class TestOrder:
    @LAWS
    @given(data=st.data())
    def test_a_page_is_its_slice_of_the_matches_by_date_created_then_id(
        self, store: Store, kind: str, data: st.DataObject
    ) -> None:
        query, expected = draw_query(data, store, kind)
        page_size = data.draw(st.integers(1, 300), label="pageSize")
        page = data.draw(st.integers(0, math.ceil(len(expected) / page_size)), label="page")

        body = store.page(kind, list(query.params), page, page_size)

        items = body[kind]
        assert [item["id"] for item in items] == [
            row.id for row in expected[page * page_size : (page + 1) * page_size]
        ]
        keys = [(item["dateCreated"], item["id"]) for item in items]
        assert keys == sorted(keys, reverse=query.order.descending)

    def test_rows_created_in_the_same_millisecond_are_ordered_by_id(
        self, store: Store, kind: str
    ) -> None:
        rows: Sequence[Row] = store.truth.logs if kind == "logs" else store.truth.runs
        shared = sorted(row.id for row in rows if row.date_created == SHARED_INSTANT)
        instant = SHARED_INSTANT.isoformat(timespec="milliseconds")
        window = [("fromDate", instant), ("untilDate", instant)]
        if kind == "runs":
            window.append(("deliveredOnly", "false"))

        ascending = store.page(kind, [*window, ("orderBy", "ASC")], 0, 100)
        descending = store.page(kind, window, 0, 100)

        assert len(shared) >= 3
        assert [item["id"] for item in ascending[kind]] == shared
        assert [item["id"] for item in descending[kind]] == shared[::-1]


@pytest.mark.parametrize("kind", KINDS)
def test_from_date_between_two_milliseconds_excludes_rows_of_the_earlier_one(
    store: Store, kind: str
) -> None:
    rows: Sequence[Row] = store.truth.logs if kind == "logs" else store.truth.runs
    earlier = {row.id for row in rows if row.date_created == SHARED_INSTANT}
    start = SHARED_INSTANT + timedelta(microseconds=500)
    window = [
        ("fromDate", start.isoformat(timespec="microseconds")),
        ("untilDate", (SHARED_INSTANT + ONE_MS).isoformat(timespec="milliseconds")),
    ]
    if kind == "runs":
        window.append(("deliveredOnly", "false"))

    body = store.page(kind, window, 0, 1000)

    assert earlier
    assert earlier.isdisjoint(item["id"] for item in body[kind])
