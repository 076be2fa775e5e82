"""The chart of logs per day on the admin page: delivered, failed and ignored logs on each UTC
day of the retention window, summed from the tallies, drawn as SVG with a title, a
description and a tooltip per bar naming each medium's share, and the same numbers in a
table.
"""

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.integration.test_web_pages import no_inline_code
from tests.integration.test_web_sessions import HOME, Admin, open_admin
from tests.support.builders import RunSpec, store_runs
from tidings.enums import FailedReason, IgnoredReason, LogStatus, Medium
from tidings.web.chart import nice_step


@pytest.fixture
def admin(database_url: str, tmp_path: Path) -> Iterator[Admin]:
    """A browser signed in with a key that may view the logs."""
    with open_admin(database_url, tmp_path) as opened:
        opened.signed_in()
        yield opened


def day_row(html: str, day: str) -> list[str]:
    """The cells of one day's row in the chart's table, as text."""
    found = re.search(rf'<time datetime="{day}">{day}</time></th>(.*?)</tr>', html, re.S)
    assert found is not None, f"no row for {day}"
    return [
        re.sub(r"\s+", " ", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
    ]


def bar_title(html: str, day: str) -> str:
    """The tooltip of one day's bar."""
    found = re.search(rf'<g class="day" data-day="{day}">\s*<title>(.*?)</title>', html, re.S)
    assert found is not None, f"no bar for {day}"
    return found.group(1)


def store_day_logs(admin: Admin) -> None:
    """Logs over three mediums on the clock's day and the day before, and some outside."""
    now = admin.harness.clock()

    def log(when: Any, status: LogStatus, **fields: Any) -> dict[str, Any]:
        return {"status": status, "date_created": when, "date_updated": when} | fields

    yesterday, long_ago = now - timedelta(days=1), now - timedelta(days=45)
    failed = {"failed_reason": FailedReason.CLIENT_ERROR, "date_delivered": None}
    ignored = {"ignored_reason": IgnoredReason.USER_UNSUBSCRIBED, "date_delivered": None}
    store_runs(
        admin.engine,
        [
            RunSpec(
                fields={"date_created": now, "date_updated": now},
                logs=[
                    log(now, LogStatus.DELIVERED),
                    log(now, LogStatus.DELIVERED),
                    log(yesterday, LogStatus.IGNORED, **ignored),
                    log(long_ago, LogStatus.DELIVERED),
                    log(now, LogStatus.READY, date_delivered=None),
                ],
            ),
            RunSpec(
                fields={"date_created": now, "date_updated": now, "medium": Medium.EMAIL},
                logs=[
                    log(now, LogStatus.DELIVERED),
                    log(now, LogStatus.FAILED, **failed),
                    log(yesterday, LogStatus.FAILED, **failed),
                ],
            ),
        ],
    )


class TestLogsPerDay:
    def test_each_day_counts_delivered_failed_and_ignored_with_each_mediums_share(
        self, admin: Admin
    ) -> None:
        store_day_logs(admin)
        html = admin.get(HOME).text

        assert day_row(html, "2026-12-02") == [
            '3 <span class="breakdown">(Slack 2, Email 1)</span>',
            '1 <span class="breakdown">(Email 1)</span>',
            "0",
        ]
        assert day_row(html, "2026-12-01") == [
            "0",
            '1 <span class="breakdown">(Email 1)</span>',
            '1 <span class="breakdown">(Slack 1)</span>',
        ]
        assert bar_title(html, "2026-12-02") == (
            "Wed 2 Dec 2026 (UTC): 3 delivered (Slack 2, Email 1); 1 failed (Email 1); 0 ignored"
        )

    def test_the_window_is_the_retention_days_up_to_today(self, admin: Admin) -> None:
        store_day_logs(admin)
        html = admin.get(HOME).text

        days = re.findall(r'<g class="day" data-day="([0-9-]+)">', html)
        assert (len(days), days[0], days[-1]) == (30, "2026-11-03", "2026-12-02")
        # The log 45 days old is past the window; READY logs are none of the three.
        assert re.search(r'id="chart-total-delivered">(\d+)<', html).group(1) == "3"  # type: ignore[union-attr]
        assert re.search(r'id="chart-total-failed">(\d+)<', html).group(1) == "2"  # type: ignore[union-attr]
        assert re.search(r'id="chart-total-ignored">(\d+)<', html).group(1) == "1"  # type: ignore[union-attr]

    def test_the_chart_is_read_from_the_tallies_alone(self, admin: Admin) -> None:
        statements: list[str] = []

        def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        event.listen(admin.engine, "before_cursor_execute", remember)
        try:
            admin.get(HOME)
        finally:
            event.remove(admin.engine, "before_cursor_execute", remember)
        [chart] = [s for s in statements if "GROUP BY notification_log_tallies.day" in s]
        assert "notification_logs " not in chart

    def test_the_svg_has_a_title_a_description_and_no_inline_code(self, admin: Admin) -> None:
        store_day_logs(admin)
        html = admin.get(HOME).text

        assert re.search(
            r'<svg class="daily-chart"[^>]* role="img" aria-labelledby="chart-title chart-desc"',
            html,
        )
        assert '<title id="chart-title">Logs per day, last 30 days</title>' in html
        assert (
            "from 3 Nov 2026 to 2 Dec 2026 (UTC): 3 delivered, 2 failed, 1 ignored in all" in html
        )
        assert '<details class="chart-table">' in html
        no_inline_code(html)

    def test_an_empty_window_says_so(self, admin: Admin) -> None:
        html = admin.get(HOME).text
        assert "No logs in these days." in html
        assert 'class="bar ' not in html


@pytest.mark.parametrize(
    ("peak", "step"), [(0, 1), (3, 1), (4, 1), (5, 2), (9, 5), (20, 5), (21, 10), (399, 100)]
)
def test_the_y_axis_step_is_one_two_or_five_times_a_power_of_ten(peak: int, step: int) -> None:
    assert nice_step(peak) == step
