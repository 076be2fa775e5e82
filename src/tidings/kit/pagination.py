"""The page/pageSize envelope shared by Cortex's list endpoints."""

from dataclasses import dataclass
from typing import Any

from tidings.enums import SortOrder

DEFAULT_PAGE_SIZE = 250
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageRequest:
    """Which slice of a list to return, and in which order."""

    page: int = 0
    page_size: int = DEFAULT_PAGE_SIZE
    order: SortOrder = SortOrder.DESC

    @property
    def offset(self) -> int:
        """How many rows precede this page."""
        return self.page * self.page_size


def total_pages(total: int, page_size: int) -> int:
    """ceil(total / pageSize); 0 when there is nothing."""
    return -(-total // page_size)


def envelope(key: str, items: list[Any], request: PageRequest, total: int) -> dict[str, Any]:
    """The response body: exactly one array (`key`) beside page, total and totalPages."""
    return {
        key: items,
        "page": request.page,
        "total": total,
        "totalPages": total_pages(total, request.page_size),
    }
