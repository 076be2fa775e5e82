"""The lists' URLs: the pages' defaults, the filter forms' state, and paging links.

The query strings use the parameter names of `GET /api/v1/notifications/logs/run` (the
runs) and `GET /api/v1/notifications/logs` (the logs), so a link copied from the page and
an API call filter alike (the pages differ only in their defaults: every run, not only
delivered ones, as decisions.md says, and 50 to a page).
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request

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
    SortOrder,
)
from tidings.web.pages import medium_label, reason_label, status_label, type_name

LIST_PATH = "/admin/notifications"
LOGS_PATH = "/admin/notifications/logs"
EXPORT_PATH = "/admin/notifications/logs/export"
DEFAULT_PAGE_SIZE = 50
PAGE_DEFAULTS = (("deliveredOnly", "false"), ("pageSize", str(DEFAULT_PAGE_SIZE)))
LOG_PAGE_DEFAULTS = (("pageSize", str(DEFAULT_PAGE_SIZE)),)
PAGE_SIZES = ("25", "50", "100", "250")
# What the logs' export leaves out of the list's URL: it exports every page.
NOT_EXPORTED = frozenset({"page", "pageSize"})


def with_page_defaults(
    request: Request, defaults: tuple[tuple[str, str], ...] = PAGE_DEFAULTS
) -> Request:
    """The request as the API's parsers should read it: the page's defaults where the URL
    gives no value."""
    items = request.query_params.multi_items()
    given = {name for name, value in items if value.strip()}
    items += [(name, value) for name, value in defaults if name not in given]
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


def _order_and_size(params: QueryParams) -> tuple[str, str, tuple[str, ...]]:
    page_size = _first(params, "pageSize") or str(DEFAULT_PAGE_SIZE)
    sizes = PAGE_SIZES if page_size in PAGE_SIZES else (*PAGE_SIZES, page_size)
    return (_first(params, "orderBy") or SortOrder.DESC.value).upper(), page_size, sizes


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
    order, page_size, sizes = _order_and_size(params)
    return FilterForm(
        groups=groups,
        search=_first(params, "searchQuery"),
        from_date=_first(params, "fromDate"),
        until_date=_first(params, "untilDate"),
        delivered_only=_first(params, "deliveredOnly").lower() in {"true", "1", "yes", "on"},
        order=order,
        page_size=page_size,
        page_sizes=sizes,
    )


@dataclass(frozen=True)
class TextFilter:
    """A filter typed in: values separated by commas, as the API reads them."""

    name: str
    label: str
    hint: str
    value: str


@dataclass(frozen=True)
class LogFilterForm:
    """The logs' filter form: the URL's values, even those that did not parse."""

    groups: tuple[ChoiceGroup, ...]
    texts: tuple[TextFilter, ...]
    from_date: str
    until_date: str
    order: str
    page_size: str
    page_sizes: tuple[str, ...]


def _typed(params: QueryParams, name: str, label: str, hint: str) -> TextFilter:
    values = [value.strip() for value in params.getlist(name) if value.strip()]
    return TextFilter(name, label, hint, ", ".join(values))


def log_filter_form(params: QueryParams) -> LogFilterForm:
    """The logs' filter form for the URL's query (the page's defaults applied)."""
    types = sorted(
        ((kind.value, type_name(kind.value)) for kind in NotificationType),
        key=lambda pair: pair[1],
    )
    groups = (
        _group(params, "notificationTypes", "Notification types", types),
        _group(params, "statuses", "Statuses", _members(LogStatus, status_label)),
        _group(params, "mediums", "Mediums", _members(Medium, medium_label)),
        _group(params, "recipientTypes", "Recipient types", _members(RecipientType, reason_label)),
        _group(params, "ignoredReasons", "Ignored reasons", _members(IgnoredReason, reason_label)),
        _group(params, "failedReasons", "Failed reasons", _members(FailedReason, reason_label)),
    )
    texts = (
        _typed(params, "recipientEmails", "Recipient emails", "Any case."),
        _typed(params, "recipientChannels", "Channels", "Slack or Teams; '#' optional."),
        _typed(params, "recipientEntityIds", "Entity ids", "Numbers."),
        _typed(params, "notificationRunIds", "Run ids", "Numbers."),
    )
    order, page_size, sizes = _order_and_size(params)
    return LogFilterForm(
        groups=groups,
        texts=texts,
        from_date=_first(params, "fromDate"),
        until_date=_first(params, "untilDate"),
        order=order,
        page_size=page_size,
        page_sizes=sizes,
    )


def export_href(params: QueryParams, extension: str) -> str:
    """The URL of the export of every log the list's filters select."""
    items = [
        (name, value)
        for name, value in params.multi_items()
        if name not in NOT_EXPORTED and value.strip()
    ]
    query = urlencode(items)
    return f"{EXPORT_PATH}.{extension}" + (f"?{query}" if query else "")


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
