"""The runs list's URL: the page's defaults, the filter form's state, and paging links.

The query string uses the parameter names of `GET /api/v1/notifications/logs/run`, so a
link copied from the page and an API call filter alike (the page differs only in its
defaults: every run, not only delivered ones, as decisions.md says, and 50 to a page).
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request

from tidings.enums import (
    Medium,
    NotificationType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
    SortOrder,
)
from tidings.web.pages import medium_label, reason_label, status_label, type_name

LIST_PATH = "/admin/notifications"
DEFAULT_PAGE_SIZE = 50
PAGE_DEFAULTS = (("deliveredOnly", "false"), ("pageSize", str(DEFAULT_PAGE_SIZE)))
PAGE_SIZES = ("25", "50", "100", "250")


def with_page_defaults(request: Request) -> Request:
    """The request as the API's parsers should read it: the page's defaults where the URL
    gives no value."""
    items = request.query_params.multi_items()
    given = {name for name, value in items if value.strip()}
    items += [(name, value) for name, value in PAGE_DEFAULTS if name not in given]
    scope = dict(request.scope)
    scope["query_string"] = urlencode(items).encode()
    return Request(scope)


@dataclass(frozen=True)
class Choice:
    """One checkbox of a filter."""

    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class ChoiceGroup:
    """The checkboxes of one array parameter."""

    name: str
    legend: str
    choices: tuple[Choice, ...]

    @property
    def checked_count(self) -> int:
        """How many of the choices are ticked."""
        return sum(1 for choice in self.choices if choice.checked)


@dataclass(frozen=True)
class FilterForm:
    """What the filter form shows: the URL's values, even those that did not parse."""

    groups: tuple[ChoiceGroup, ...]
    search: str
    from_date: str
    until_date: str
    delivered_only: bool
    order: str
    page_size: str
    page_sizes: tuple[str, ...]


def _given(params: QueryParams, name: str) -> set[str]:
    """The values of an array parameter as the API reads them (comma-separated or repeated,
    case-insensitive)."""
    return {part.strip().upper() for raw in params.getlist(name) for part in raw.split(",") if part}


def _first(params: QueryParams, name: str) -> str:
    return next((value for value in params.getlist(name) if value.strip()), "")


def _group(
    params: QueryParams, name: str, legend: str, values: list[tuple[str, str]]
) -> ChoiceGroup:
    ticked = _given(params, name)
    return ChoiceGroup(
        name,
        legend,
        tuple(Choice(value, label, value in ticked) for value, label in values),
    )


def _members(enum: type[StrEnum], label: Callable[[str], str]) -> list[tuple[str, str]]:
    return [(member.value, label(member.value)) for member in enum]


def filter_form(params: QueryParams) -> FilterForm:
    """The filter form for the URL's query (the page's defaults applied)."""
    types = sorted(
        ((kind.value, type_name(kind.value)) for kind in NotificationType),
        key=lambda pair: pair[1],
    )
    groups = (
        _group(params, "notificationTypes", "Notification types", types),
        _group(params, "statuses", "Statuses", _members(RunStatus, status_label)),
        _group(params, "mediums", "Mediums", _members(Medium, medium_label)),
        _group(
            params, "ignoredReasons", "Ignored reasons", _members(RunIgnoredReason, reason_label)
        ),
        _group(params, "failedReasons", "Failed reasons", _members(RunFailedReason, reason_label)),
    )
    page_size = _first(params, "pageSize") or str(DEFAULT_PAGE_SIZE)
    sizes = PAGE_SIZES if page_size in PAGE_SIZES else (*PAGE_SIZES, page_size)
    return FilterForm(
        groups=groups,
        search=_first(params, "searchQuery"),
        from_date=_first(params, "fromDate"),
        until_date=_first(params, "untilDate"),
        delivered_only=_first(params, "deliveredOnly").lower() in {"true", "1", "yes", "on"},
        order=(_first(params, "orderBy") or SortOrder.DESC.value).upper(),
        page_size=page_size,
        page_sizes=sizes,
    )


def page_href(params: QueryParams, page: int, path: str = LIST_PATH) -> str:
    """The URL of another page of the same list: every other parameter kept as it was."""
    items = [(name, value) for name, value in params.multi_items() if name != "page"]
    return f"{path}?{urlencode([*items, ('page', str(page))])}"


@dataclass(frozen=True)
class Paging:
    """Where a page sits in its list, and the links to its neighbours."""

    page: int
    page_size: int
    total: int
    total_pages: int
    previous_href: str | None
    next_href: str | None
    first_href: str | None
    last_href: str | None

    @property
    def first_item(self) -> int:
        """The position (from 1) of the page's first item."""
        return self.page * self.page_size + 1

    @property
    def last_item(self) -> int:
        """The position (from 1) of the page's last item."""
        return min(self.total, (self.page + 1) * self.page_size)


def paging(
    params: QueryParams, page: int, page_size: int, total: int, path: str = LIST_PATH
) -> Paging:
    """The paging of a list of `total` items at `page`, links keeping `params`."""
    pages = -(-total // page_size)
    last = max(pages - 1, 0)
    return Paging(
        page=page,
        page_size=page_size,
        total=total,
        total_pages=pages,
        previous_href=page_href(params, min(page - 1, last), path) if page > 0 else None,
        next_href=page_href(params, page + 1, path) if page < last else None,
        first_href=page_href(params, 0, path) if page > 0 else None,
        last_href=page_href(params, last, path) if page < last else None,
    )
