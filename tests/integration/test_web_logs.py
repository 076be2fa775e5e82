"""The recipients' logs on the admin page: every log filter of `GET /api/v1/notifications/logs`
under the same names, paging, and the export of what the filters select as CSV or NDJSON,
streamed a keyset page at a time, with no cell a spreadsheet would run as a formula.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_web_pages import no_inline_code
from tests.integration.test_web_sessions import VIEW, Admin, open_admin
from tests.support.builders import BASE_TIME, RunSpec, store_runs
from tidings.enums import FailedReason, IgnoredReason, LogStatus, Medium, RecipientType
from tidings.web import export
from tidings.web.export import LOG_FIELDS

LOGS_PAGE = "/admin/notifications/logs"
LOGS_API = "/api/v1/notifications/logs"
EXPORT = "/admin/notifications/logs/export"
LOG_ROW = re.compile(r'<tr id="log-(\d+)">')


@pytest.fixture
def admin(database_url: str, tmp_path: Path) -> Iterator[Admin]:
    """A browser signed in with a key that may view the logs."""
    with open_admin(database_url, tmp_path) as opened:
        opened.signed_in()
        yield opened


def api_logs(admin: Admin, query: str) -> list[dict[str, Any]]:
    """Every log the API lists for `query`, in its order."""
    secret = admin.create_key(VIEW, name="api").secret
    response = admin.client.get(
        f"{LOGS_API}?{query}&pageSize=1000", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200, response.text
    logs: list[dict[str, Any]] = response.json()["logs"]
    return logs


def listed_ids(html: str) -> list[int]:
    """The log ids the page's table lists, in its order."""
    return [int(found) for found in LOG_ROW.findall(html)]


def varied_logs(admin: Admin) -> dict[str, int]:
    """Two runs whose logs differ in every filtered column; the run ids by name."""
    minute = timedelta(minutes=1)
    ids = store_runs(
        admin.engine,
        [
            RunSpec(
                logs=[
                    {"recipient_email": "Ada@Example.com"},
                    {
                        "recipient_type": RecipientType.TEAM,
                        "recipient_email": None,
                        "recipient_user_id": None,
                        "recipient_channel": "#payments-alerts",
                        "date_created": BASE_TIME + minute,
                    },
                    {
                        "status": LogStatus.IGNORED,
                        "ignored_reason": IgnoredReason.USER_UNSUBSCRIBED,
                        "date_delivered": None,
                        "recipient_email": "ben@example.com",
                    },
                ]
            ),
            RunSpec(
                fields={"medium": Medium.EMAIL},
                logs=[
                    {
                        "status": LogStatus.FAILED,
                        "failed_reason": FailedReason.CLIENT_ERROR,
                        "error_message": '=HYPERLINK("https://evil.example")',
                        "date_delivered": None,
                        "recipient_email": "@cmd|calc",
                    },
                    {
                        "recipient_type": RecipientType.ENTITY,
                        "recipient_email": None,
                        "recipient_user_id": None,
                        "recipient_entity_id": 77,
                    },
                ],
            ),
        ],
    )
    return {"slack": ids[0], "email": ids[1]}


class TestLogsList:
    @pytest.mark.parametrize(
        "query",
        [
            "",
            "statuses=FAILED,IGNORED",
            "mediums=EMAIL",
            "recipientTypes=TEAM",
            "recipientEmails=ada@example.com",
            "recipientChannels=payments-alerts",
            "recipientEntityIds=77",
            "ignoredReasons=USER_UNSUBSCRIBED",
            "failedReasons=CLIENT_ERROR",
            "notificationTypes=SERVICE_REEVALUATED&orderBy=ASC",
            "fromDate=2026-11-01T12:00:30Z",
            "untilDate=2026-11-01T12:00:30Z",
        ],
    )
    def test_the_page_lists_what_the_api_lists_for_the_same_query(
        self, admin: Admin, query: str
    ) -> None:
        varied_logs(admin)
        response = admin.get(f"{LOGS_PAGE}?{query}")
        assert response.status_code == 200, response.text
        assert listed_ids(response.text) == [log["id"] for log in api_logs(admin, query)]

    def test_run_ids_filter_and_link_to_the_run(self, admin: Admin) -> None:
        runs = varied_logs(admin)
        html = admin.get(f"{LOGS_PAGE}?notificationRunIds={runs['email']}").text
        assert len(listed_ids(html)) == 2
        assert f'<a href="/admin/notifications/runs/{runs["email"]}">' in html
        assert f'<a href="/admin/notifications/runs/{runs["slack"]}">' not in html

    def test_a_filter_the_api_refuses_shows_its_message_with_400(self, admin: Admin) -> None:
        response = admin.get(f"{LOGS_PAGE}?statuses=LOST")
        assert response.status_code == 400
        assert "statuses: &#39;LOST&#39; is not one of" in response.text

    def test_pages_of_logs_keep_the_filters(self, admin: Admin) -> None:
        varied_logs(admin)
        html = admin.get(f"{LOGS_PAGE}?mediums=SLACK&pageSize=2").text
        assert len(listed_ids(html)) == 2
        assert 'href="/admin/notifications/logs?mediums=SLACK&amp;pageSize=2&amp;page=1"' in html
        assert "3 logs match, showing 1 to 2." in html

    def test_htmx_gets_the_list_with_the_status_and_counts_out_of_band(self, admin: Admin) -> None:
        varied_logs(admin)
        response = admin.get(
            f"{LOGS_PAGE}?statuses=FAILED&mediums=EMAIL,SLACK", headers={"HX-Request": "true"}
        )
        assert "<html" not in response.text
        assert '<span id="logs-status" hx-swap-oob="innerHTML">1 log matches.</span>' in (
            response.text
        )
        assert '<span id="statuses-count" hx-swap-oob="innerHTML">(1 selected)</span>' in (
            response.text
        )
        assert '<span id="mediums-count" hx-swap-oob="innerHTML">(2 selected)</span>' in (
            response.text
        )

    def test_the_form_shows_the_urls_values_and_the_page_has_no_inline_code(
        self, admin: Admin
    ) -> None:
        html = admin.get(
            f"{LOGS_PAGE}?recipientEmails=a@example.com&recipientEmails=b@example.com"
            "&statuses=DELIVERED"
        ).text
        assert 'name="recipientEmails" value="a@example.com, b@example.com"' in html
        assert 'value="DELIVERED" checked' in html
        no_inline_code(html)

    def test_export_links_carry_the_filters_but_not_the_page(self, admin: Admin) -> None:
        html = admin.get(f"{LOGS_PAGE}?mediums=EMAIL&page=3&pageSize=25&recipientEmails=").text
        assert f'href="{EXPORT}.csv?mediums=EMAIL"' in html
        assert f'href="{EXPORT}.ndjson?mediums=EMAIL"' in html


def read_csv(response: httpx.Response) -> list[list[str]]:
    """The rows of a CSV answer, its header first."""
    return list(csv.reader(io.StringIO(response.text)))


class TestExport:
    @pytest.mark.parametrize("order", ["DESC", "ASC"])
    def test_ndjson_is_every_log_the_api_lists_one_object_a_line(
        self, admin: Admin, order: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Small keyset pages, and logs sharing one date_created, test the cursor's ties.
        monkeypatch.setattr(export, "EXPORT_PAGE_SIZE", 2)
        varied_logs(admin)
        response = admin.get(f"{EXPORT}.ndjson?orderBy={order}")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = response.text.splitlines()
        assert [json.loads(line) for line in lines] == api_logs(admin, f"orderBy={order}")
        assert len(lines) == 5

    def test_csv_has_a_header_of_cortex_fields_and_a_row_per_log(
        self, admin: Admin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(export, "EXPORT_PAGE_SIZE", 2)
        varied_logs(admin)
        response = admin.get(f"{EXPORT}.csv?mediums=SLACK")

        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        header, *rows = read_csv(response)
        assert header == list(LOG_FIELDS)
        expected = api_logs(admin, "mediums=SLACK")
        assert [int(row[0]) for row in rows] == [log["id"] for log in expected]
        first = dict(zip(header, rows[0], strict=True))
        assert {name: first[name] for name in expected[0]} == {
            name: str(value) for name, value in expected[0].items()
        }
        assert first["failedReason"] == ""

    def test_csv_cells_that_a_spreadsheet_would_run_start_with_a_quote(self, admin: Admin) -> None:
        varied_logs(admin)
        header, row = read_csv(admin.get(f"{EXPORT}.csv?statuses=FAILED"))
        cells = dict(zip(header, row, strict=True))
        assert cells["errorMessage"] == '\'=HYPERLINK("https://evil.example")'
        assert cells["recipientEmail"] == "'@cmd|calc"

    def test_the_export_is_a_download_with_a_file_name(self, admin: Admin) -> None:
        response = admin.get(f"{EXPORT}.ndjson")
        assert response.headers["content-disposition"] == (
            'attachment; filename="notification-logs-20261202T120000Z.ndjson"'
        )
        assert response.text == ""
        assert read_csv(admin.get(f"{EXPORT}.csv")) == [list(LOG_FIELDS)]

    def test_the_export_reads_keyset_pages_never_an_offset(
        self, admin: Admin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pages: list[int] = []
        read = export.export_chunks

        async def counting(export_format: Any, read_page: Any) -> Any:
            async def counted(after: Any, size: int) -> Any:
                rows = await read_page(after, size)
                pages.append(len(rows))
                return rows

            async for chunk in read(export_format, counted):
                yield chunk

        monkeypatch.setattr(export, "EXPORT_PAGE_SIZE", 2)
        monkeypatch.setattr("tidings.web.routes.export_chunks", counting)
        varied_logs(admin)
        admin.get(f"{EXPORT}.csv")
        assert pages == [2, 2, 1]

    def test_a_bad_filter_is_refused_with_the_apis_message(self, admin: Admin) -> None:
        response = admin.get(f"{EXPORT}.csv?fromDate=yesterday")
        assert response.status_code == 400
        assert "fromDate" in response.text

    def test_an_unknown_format_is_not_found(self, admin: Admin) -> None:
        assert admin.get(f"{EXPORT}.xlsx").status_code == 404


def test_the_export_needs_a_session(database_url: str, tmp_path: Path) -> None:
    with open_admin(database_url, tmp_path) as admin:
        response = admin.get(f"{EXPORT}.csv?mediums=EMAIL")
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/admin/sign-in?next=%2Fadmin%2Fnotifications%2Flogs%2Fexport.csv%3Fmediums%3DEMAIL"
    )
