"""Checking a parsed document against a format, with every problem located at its line.

Formats are pydantic models in strict mode (a YAML `"true"` is not a boolean, `7` is not a
name); enums and dates are lenient so that JSON files can spell them as strings. Field
names in error messages are the file's own (`x-cortex-owners[1].provider`).
"""

import re
import urllib.parse
from collections.abc import Hashable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails

from tidings.catalog.importers.source import InvalidSourceError, SourceError, line_at
from tidings.kit.orm import to_millis

# Enum and date fields accept strings as well as parsed values (see the module docstring).
LAX = Strict(False)
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_EMAIL = 320
MAX_TAG = 255
MAX_URL = 2048

Model = TypeVar("Model", bound=BaseModel)


class FileModel(BaseModel):
    """A part of the tidings format: strict types, unknown fields refused (typos show)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ForeignModel(BaseModel):
    """A part of another tool's format: strict types, fields tidings does not use ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def _email(value: str) -> str:
    address = value.strip().lower()
    if not EMAIL_SHAPE.match(address) or len(address) > MAX_EMAIL:
        raise ValueError(f"'{value}' is not an email address")
    return address


def _tag(value: str) -> str:
    if any(character.isspace() for character in value):
        raise ValueError(f"'{value}' is not a tag: a tag has no spaces")
    return value


def _channel(value: str) -> str:
    name = value.strip().removeprefix("#").strip()
    if not name:
        raise ValueError("a channel needs a name")
    return name


def _instant_input(value: Any) -> Any:
    # A bare date would silently mean midnight; an instant must say its time.
    if isinstance(value, date) and not isinstance(value, datetime):
        raise ValueError(f"{value} is a date; give an instant such as {value}T09:00:00Z")
    if not isinstance(value, datetime | str):
        raise ValueError("give an instant such as 2027-01-04T09:00:00Z")
    return value


def _as_utc(value: datetime) -> datetime:
    return to_millis(value if value.tzinfo else value.replace(tzinfo=UTC))


def _date_input(value: Any) -> Any:
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise ValueError("give a date such as 2027-03-31")
    return value


def _web_address(value: str) -> str:
    address = value.strip()
    parts = urllib.parse.urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a webhook URL starts with https:// (or http://) and names a host")
    if any(character.isspace() for character in address) or len(address) > MAX_URL:
        raise ValueError(f"a webhook URL has no spaces and at most {MAX_URL} characters")
    return address


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a time zone such as America/Los_Angeles") from None
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG),
    AfterValidator(_tag),
]
Email = Annotated[str, AfterValidator(_email)]
ChannelName = Annotated[str, StringConstraints(max_length=MAX_TAG), AfterValidator(_channel)]
WebAddress = Annotated[str, AfterValidator(_web_address)]
Instant = Annotated[datetime, LAX, BeforeValidator(_instant_input), AfterValidator(_as_utc)]
Day = Annotated[date, LAX, BeforeValidator(_date_input)]
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]


def validate(model: type[Model], document: Any, line: int) -> Model:
    """`document` checked against `model`; raises InvalidSourceError naming every problem."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise InvalidSourceError(
            [located(detail, document, line) for detail in error.errors()]
        ) from None


def located(detail: ErrorDetails, document: Any, line: int) -> SourceError:
    """One pydantic error as a SourceError at the line of the node it is about."""
    path = [step for step in detail["loc"] if step != "[key]"]
    where = format_path(path)
    message = _message(detail)
    return SourceError(line_at(document, path, line), f"{where}: {message}" if where else message)


def format_path(path: Sequence[Any]) -> str:
    """A location as the file spells it: `info.x-cortex-owners[1].provider`."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def problem(document: Any, path: Sequence[Any], line: int, message: str) -> SourceError:
    """A problem found after validation (a duplicate, a conflict), located like the others."""
    where = format_path(path)
    return SourceError(line_at(document, path, line), f"{where}: {message}" if where else message)


def repeated(keys: Sequence[Hashable]) -> Iterator[tuple[int, int]]:
    """(index, index of the first occurrence) of every key equal to an earlier one."""
    first: dict[Hashable, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            yield index, first[key]
        else:
            first[key] = index


def refuse_repeats(
    document: Any, line: int, lists: Iterable[tuple[Sequence[Any], Sequence[str]]]
) -> None:
    """Raise if a list holds the same thing twice; each list is (its path, its items shown).

    An item given twice is a mistake whose intent cannot be guessed.
    """
    errors = []
    for path, shown in lists:
        for index, first in repeated(shown):
            first_line = line_at(document, (*path, first), line)
            errors.append(
                SourceError(
                    line_at(document, (*path, index), line),
                    f"{format_path((*path, index))}: {shown[index]} is listed twice "
                    f"(first on line {first_line})",
                )
            )
    if errors:
        raise InvalidSourceError(errors)


def _message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this format"
    if kind in {"value_error", "assertion_error"}:
        return str(detail.get("ctx", {}).get("error", detail["msg"]))
    return str(detail["msg"])
