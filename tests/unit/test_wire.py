"""Instants on the wire and in the store: UTC, millisecond precision, exact round trips."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.engine import Dialect

from tidings.kit.orm import EPOCH, UtcDateTime, epoch_millis, from_epoch_millis, to_millis
from tidings.kit.wire import format_instant

PLUS_TWO = timezone(timedelta(hours=2))
MINUS_FIVE_THIRTY = timezone(-timedelta(hours=5, minutes=30))
SQLITE = create_engine("sqlite://").dialect
POSTGRESQL = create_engine("postgresql+psycopg://").dialect
DIALECTS = [pytest.param(SQLITE, id="sqlite"), pytest.param(POSTGRESQL, id="postgresql")]

offsets = st.integers(min_value=-1439, max_value=1439).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=offsets
)
four_digit_years = instants
millis = st.integers(
    min_value=epoch_millis(datetime(2, 1, 1, tzinfo=UTC)),
    max_value=epoch_millis(datetime(9998, 12, 31, tzinfo=UTC)),
)


class TestFormatInstant:
    """UTC, three digits of milliseconds, Z: 2025-06-28T19:23:14.615Z."""

    @pytest.mark.parametrize(
        ("moment", "printed"),
        [
            pytest.param(
                datetime(2025, 6, 28, 19, 23, 14, 615_000, tzinfo=UTC),
                "2025-06-28T19:23:14.615Z",
                id="the docs' example",
            ),
            pytest.param(
                datetime(2025, 6, 28, 21, 23, 14, 615_000, tzinfo=PLUS_TWO),
                "2025-06-28T19:23:14.615Z",
                id="offset converted to UTC",
            ),
            pytest.param(
                datetime(2025, 12, 31, 19, 0, tzinfo=MINUS_FIVE_THIRTY),
                "2026-01-01T00:30:00.000Z",
                id="offset crossing a year",
            ),
            pytest.param(
                datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                "2026-01-02T03:04:05.000Z",
                id="whole second keeps three digits",
            ),
            pytest.param(
                datetime(2026, 1, 2, 3, 4, 5, 7_000, tzinfo=UTC),
                "2026-01-02T03:04:05.007Z",
                id="leading zeros of milliseconds",
            ),
            pytest.param(
                datetime(2026, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC),
                "2026-01-02T03:04:05.999Z",
                id="microseconds are cut, not rounded",
            ),
            pytest.param(
                datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC),
                "1969-12-31T23:59:59.999Z",
                id="before the epoch",
            ),
            pytest.param(
                datetime(999, 1, 1, tzinfo=UTC),
                "0999-01-01T00:00:00.000Z",
                id="year with fewer than four digits",
            ),
        ],
    )
    def test_instant_is_printed_in_utc_with_milliseconds_and_z(
        self, moment: datetime, printed: str
    ) -> None:
        assert format_instant(moment) == printed

    @given(four_digit_years)
    def test_printed_instant_reads_back_as_the_stored_instant(self, moment: datetime) -> None:
        printed = format_instant(moment)

        assert datetime.fromisoformat(printed) == to_millis(moment)
        assert printed == format_instant(to_millis(moment))


class TestToMillis:
    """An aware instant in UTC, cut to the millisecond."""

    def test_cuts_to_the_millisecond_and_converts_to_utc(self) -> None:
        moment = datetime(2025, 6, 28, 21, 23, 14, 615_999, tzinfo=PLUS_TWO)

        stored = to_millis(moment)

        assert stored == datetime(2025, 6, 28, 19, 23, 14, 615_000, tzinfo=UTC)
        assert stored.utcoffset() == timedelta(0)

    def test_naive_instant_is_refused(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            to_millis(datetime(2025, 6, 28, 19, 23, 14))

    @given(instants)
    def test_is_idempotent_and_never_later(self, moment: datetime) -> None:
        stored = to_millis(moment)

        assert to_millis(stored) == stored
        assert timedelta(0) <= moment - stored < timedelta(milliseconds=1)


class TestEpochMillis:
    """Milliseconds since 1970-01-01T00:00Z, floored, exact over the whole range."""

    @pytest.mark.parametrize(
        ("moment", "count"),
        [
            pytest.param(EPOCH, 0, id="the epoch"),
            pytest.param(EPOCH + timedelta(milliseconds=1), 1, id="one ms after"),
            pytest.param(EPOCH + timedelta(microseconds=999), 0, id="under one ms after"),
            pytest.param(EPOCH - timedelta(microseconds=1), -1, id="just before"),
            pytest.param(EPOCH - timedelta(days=1), -86_400_000, id="a day before"),
            pytest.param(
                datetime(2025, 6, 28, 19, 23, 14, 615_000, tzinfo=UTC),
                1_751_138_594_615,
                id="the docs' example",
            ),
            pytest.param(
                datetime(2025, 6, 28, 21, 23, 14, 615_000, tzinfo=PLUS_TWO),
                1_751_138_594_615,
                id="same instant, other offset",
            ),
        ],
    )
    def test_counts_milliseconds_since_the_epoch(self, moment: datetime, count: int) -> None:
        assert epoch_millis(moment) == count

    def test_naive_instant_is_refused(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            epoch_millis(datetime(1970, 1, 1))

    @pytest.mark.parametrize(
        ("count", "moment"),
        [
            (0, EPOCH),
            (1_751_138_594_615, datetime(2025, 6, 28, 19, 23, 14, 615_000, tzinfo=UTC)),
            (-1, datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)),
        ],
    )
    def test_from_epoch_millis_gives_the_utc_instant(self, count: int, moment: datetime) -> None:
        restored = from_epoch_millis(count)

        assert restored == moment
        assert restored.utcoffset() == timedelta(0)

    @given(millis)
    def test_millis_survive_a_round_trip(self, count: int) -> None:
        assert epoch_millis(from_epoch_millis(count)) == count

    @given(instants)
    def test_instant_comes_back_cut_to_the_millisecond(self, moment: datetime) -> None:
        assert from_epoch_millis(epoch_millis(moment)) == to_millis(moment)

    @given(instants, instants)
    def test_order_is_kept(self, first: datetime, second: datetime) -> None:
        assert epoch_millis(min(first, second)) <= epoch_millis(max(first, second))


class TestUtcDateTimeColumn:
    """What a column stores and reads back is the instant cut to the millisecond."""

    @pytest.mark.parametrize("dialect", DIALECTS)
    @given(moment=instants)
    def test_stored_instant_reads_back_cut_to_the_millisecond(
        self, dialect: Dialect, moment: datetime
    ) -> None:
        column = UtcDateTime()

        restored = column.process_result_value(column.process_bind_param(moment, dialect), dialect)

        assert restored == to_millis(moment)
        assert restored is not None
        assert restored.utcoffset() == timedelta(0)

    def test_sqlite_stores_epoch_milliseconds(self) -> None:
        moment = datetime(2025, 6, 28, 21, 23, 14, 615_999, tzinfo=PLUS_TWO)

        assert UtcDateTime().process_bind_param(moment, SQLITE) == 1_751_138_594_615

    @pytest.mark.parametrize("dialect", DIALECTS)
    def test_null_stays_null(self, dialect: Dialect) -> None:
        column = UtcDateTime()

        assert column.process_bind_param(None, dialect) is None
        assert column.process_result_value(None, dialect) is None

    @pytest.mark.parametrize("dialect", DIALECTS)
    def test_naive_instant_is_refused(self, dialect: Dialect) -> None:
        with pytest.raises(ValueError, match="naive"):
            UtcDateTime().process_bind_param(datetime(2025, 6, 28), dialect)
