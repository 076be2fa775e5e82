"""Query parameters declared once: each one parses itself and documents itself in OpenAPI.

The rules are the product's (see docs/api.md): arrays accept repeated keys, comma-separated
values and mixes of both; enum values are case-insensitive; anything that does not parse is a
400 naming the parameter, never a silent default.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from starlette.datastructures import QueryParams

from tidings.kit.errors import bad_request

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
# Declared on text parameters: control characters are refused with a 400 (see _printable).
PRINTABLE_PATTERN = r"^[^\x00-\x1F\x7F]*$"
_DECIMAL = re.compile(r"^[+-]?[0-9]{1,20}$")
# A '+' in an unencoded query string arrives as a space; put it back before an offset.
_SPACE_BEFORE_OFFSET = re.compile(r"(\d) (\d{2}(?::?\d{2})?)$")


@dataclass(frozen=True)
class QueryParam(Generic[T]):
    """One query parameter: its wire name, how it parses, and its OpenAPI declaration."""

    name: str
    description: str
    schema: dict[str, Any]
    convert: Callable[[str, list[str]], T] = field(repr=False)
    required_in_spec: bool = False
    example: str | None = None
    _absent: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Most requests give few of a list's many parameters, and every converter answers
        # the same immutable value for an absent one: work it out once.
        object.__setattr__(self, "_absent", self.convert(self.name, []))

    def parse(self, params: QueryParams) -> T:
        """The value of this parameter in `params`, or a 400 `ApiError` naming it."""
        if self.name not in params:
            absent: T = self._absent
            return absent
        return self.convert(self.name, params.getlist(self.name))

    def openapi(self) -> dict[str, Any]:
        """This parameter as an OpenAPI 3 parameter object."""
        declared: dict[str, Any] = {"name": self.name, "in": "query"}
        if self.description:
            declared["description"] = self.description
        declared["required"] = self.required_in_spec
        declared["schema"] = self.schema
        if self.example is not None:
            declared["example"] = self.example
        return declared


def _split(raw_values: Sequence[str]) -> list[str]:
    """Flatten repeated and comma-separated values, trimming blanks, keeping first-seen order."""
    seen: dict[str, None] = {}
    for raw in raw_values:
        for part in raw.split(","):
            part = part.strip()
            if part:
                seen.setdefault(part, None)
    return list(seen)


def _single(name: str, raw_values: Sequence[str]) -> str | None:
    values = {value.strip() for value in raw_values if value.strip()}
    if len(values) > 1:
        raise bad_request(f"{name} was given more than once with different values")
    return values.pop() if values else None


def _enum_member(name: str, enum: type[E], raw: str) -> E:
    try:
        return enum(raw.upper())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise bad_request(f"{name}: '{raw}' is not one of {allowed}") from None


def _int_in_range(name: str, raw: str, minimum: int, maximum: int) -> int:
    # Python's int() also takes '1_000' and non-ASCII digits; the wire takes plain decimals.
    if not _DECIMAL.match(raw):
        raise bad_request(f"{name}: '{raw}' is not an integer")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise bad_request(f"{name}: {value} is outside {minimum}..{maximum}")
    return value


def enum_array(name: str, enum: type[E], description: str) -> QueryParam[frozenset[E]]:
    """A filter taking any number of members of `enum`."""

    def convert(param: str, raw: list[str]) -> frozenset[E]:
        return frozenset(_enum_member(param, enum, value) for value in _split(raw))

    schema = {"type": "array", "items": {"type": "string", "enum": [m.value for m in enum]}}
    return QueryParam(name, description, schema, convert)


def int64_array(name: str, description: str) -> QueryParam[frozenset[int]]:
    """A filter taking any number of 64-bit ids."""

    def convert(param: str, raw: list[str]) -> frozenset[int]:
        return frozenset(_int_in_range(param, v, INT64_MIN, INT64_MAX) for v in _split(raw))

    schema = {"type": "array", "items": {"type": "integer", "format": "int64"}}
    return QueryParam(name, description, schema, convert)


def _printable(name: str, value: str) -> str:
    """Refuse control characters: no stored text has them, and PostgreSQL cannot bind NUL."""
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise bad_request(f"{name}: control characters are not allowed")
    return value


def string_array(name: str, description: str) -> QueryParam[frozenset[str]]:
    """A filter taking any number of strings (commas separate values)."""

    def convert(param: str, raw: list[str]) -> frozenset[str]:
        return frozenset(_printable(param, value) for value in _split(raw))

    items: dict[str, Any] = {"type": "string", "pattern": PRINTABLE_PATTERN}
    return QueryParam(name, description, {"type": "array", "items": items}, convert)


def parse_date_time(name: str, raw: str) -> datetime:
    """An ISO 8601 instant; no zone means UTC, `Z` and offsets are honoured."""
    text = _SPACE_BEFORE_OFFSET.sub(r"\1+\2", raw.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(
            f"{name}: '{raw}' is not an ISO 8601 date-time such as 2021-01-01T00:00:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # A valid date-time whose UTC instant lies just beyond year 1 or 9999 (0001-01-01
        # with a positive offset, 9999-12-31 with a negative one): clamping it to the edge
        # selects exactly the same stored instants.
        offset = moment.utcoffset()
        edge = datetime.min if offset is not None and offset > timedelta(0) else datetime.max
        return edge.replace(tzinfo=UTC)


def date_time(name: str, description: str) -> QueryParam[datetime | None]:
    """An optional instant."""

    def convert(param: str, raw: list[str]) -> datetime | None:
        value = _single(param, raw)
        return None if value is None else parse_date_time(param, value)

    schema = {"type": "string", "format": "date-time"}
    return QueryParam(name, description, schema, convert, example="2021-01-01T00:00:00")


def int32(
    name: str, description: str, *, default: int, minimum: int, maximum: int = INT32_MAX
) -> QueryParam[int]:
    """An integer with bounds and a default (the spec marks page and pageSize required)."""

    def convert(param: str, raw: list[str]) -> int:
        value = _single(param, raw)
        return default if value is None else _int_in_range(param, value, minimum, maximum)

    schema: dict[str, Any] = {
        "type": "integer",
        "format": "int32",
        "default": default,
        "minimum": minimum,
        "maximum": maximum,
    }
    return QueryParam(name, description, schema, convert, required_in_spec=True)


def boolean(name: str, description: str, *, default: bool) -> QueryParam[bool]:
    """A true/false switch with a default."""

    def convert(param: str, raw: list[str]) -> bool:
        value = _single(param, raw)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise bad_request(f"{param}: '{value}' is not true or false")

    return QueryParam(name, description, {"type": "boolean", "default": default}, convert)


def enum_value(name: str, enum: type[E], description: str, *, default: E) -> QueryParam[E]:
    """One member of `enum`, with a default."""

    def convert(param: str, raw: list[str]) -> E:
        value = _single(param, raw)
        return default if value is None else _enum_member(param, enum, value)

    schema = {"type": "string", "default": default.value, "enum": [m.value for m in enum]}
    return QueryParam(name, description, schema, convert)


def free_text(name: str, description: str) -> QueryParam[str | None]:
    """Optional text; blank means absent."""

    def convert(param: str, raw: list[str]) -> str | None:
        text = " ".join(value.strip() for value in raw if value.strip())
        return _printable(param, text) or None

    return QueryParam(name, description, {"type": "string", "pattern": PRINTABLE_PATTERN}, convert)
