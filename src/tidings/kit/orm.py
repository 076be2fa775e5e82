"""The declarative base and the column types every table shares."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Enum,
    ForeignKeyConstraint,
    Integer,
    MetaData,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MILLISECOND = timedelta(milliseconds=1)

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias), never a BIGINT one.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Base class of every ORM model; constraint names are stable for migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def to_millis(moment: datetime) -> datetime:
    """Return `moment` in UTC, truncated to the millisecond precision the wire format carries."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored; give a time zone")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def epoch_millis(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime, truncated, exactly."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored; give a time zone")
    return (moment - EPOCH) // ONE_MILLISECOND


def from_epoch_millis(value: int) -> datetime:
    """The aware UTC datetime of a count of milliseconds since the Unix epoch."""
    return EPOCH + timedelta(milliseconds=value)


class UtcDateTime(TypeDecorator[datetime]):
    """An instant in UTC with millisecond precision.

    PostgreSQL keeps a `timestamptz`; SQLite keeps epoch milliseconds in an integer, which
    compares and indexes faster than SQLite's text dates and cannot mix time zones. Storing
    exactly what the API prints keeps `untilDate=<a dateCreated we returned>` inclusive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return epoch_millis(value)
        return to_millis(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_epoch_millis(int(value))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


def enum_column_type(enum: type[StrEnum], name: str) -> Enum:
    """A portable VARCHAR column holding the values of `enum` (see `enum_check`)."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=max(len(member.value) for member in enum),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def enum_check(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """A CHECK that `column` holds a member of `enum` (NULL passes, as SQL has it).

    Written as an OR of equalities: SQLite evaluates `IN (...)` in a CHECK by building a
    temporary index for every inserted row, which made bulk inserts several times slower.
    """
    allowed = " OR ".join(f"{column} = '{member.value}'" for member in enum)
    return CheckConstraint(allowed, name=f"{column}_valid")


# Marks, in a constraint's `info`, a foreign key that exists on SQLite only.
SQLITE_ONLY = "sqlite_only"


def sqlite_only_foreign_key(column: str, target: str, *, ondelete: str) -> ForeignKeyConstraint:
    """A foreign key between tables that PostgreSQL partitions by day (kit.partitions).

    There a day is dropped a partition at a time, and a key into a partitioned table would
    make every drop check every referencing row under an exclusive lock; so on PostgreSQL
    the engine deletes a row's dependants itself and the key exists on SQLite only.
    """
    key = ForeignKeyConstraint([column], [target], ondelete=ondelete, info={SQLITE_ONLY: True})
    return key.ddl_if(dialect="sqlite")
