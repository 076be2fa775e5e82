"""The admin page "Settings > Notification logs": the tiles, the runs list whose filters are
the API's query parameters, a run with every recipient's why, attempts and content, Resend,
the read-only workspace settings; every stored string shown as text; a strict CSP.
"""

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import event, func, select

from tests.integration.test_web_sessions import HOME, VIEW, Admin, csrf_of, open_admin
from tests.support.builders import RunSpec, entity, store_runs
from tests.support.catalog_builder import email_owner, service, tidings, user
from tests.support.engine_harness import entity_ref
from tests.support.engine_harness import event as notification_event
from tidings.engine import flows
from tidings.enums import (
    FailedReason,
    LogStatus,
    Medium,
    NotificationType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)
from tidings.logs.repository import runs

RUNS_API = "/api/v1/notifications/logs/run"
SETTINGS = "/admin/notifications/settings"
ROW_LINK = re.compile(r'<th scope="row"><a href="/admin/notifications/runs/(\d+)">')
ADA, OUTSIDER = "ada@example.com", "outsider@partner.example.net"
HOSTILE = """<script>alert("x")</script> & 'single' "double" <img src=x onerror=alert(1)>"""


@pytest.fixture
def admin(database_url: str, tmp_path: Path) -> Iterator[Admin]:
    """A browser signed in with a key that may view the logs."""
    with open_admin(database_url, tmp_path) as opened:
        opened.signed_in()
        yield opened


def page_ids(html: str) -> list[int]:
    """The run ids the runs table lists, in its order."""
    return [int(found) for found in ROW_LINK.findall(html)]


def tile(html: str, name: str) -> int:
    """The number a summary tile shows."""
    found = re.search(rf'id="tile-{name}">(\d+)<', html)
    assert found is not None, f"no {name} tile"
    return int(found.group(1))


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would refuse: inline scripts, styles and event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note a start tag that carries code."""
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        self.found += [
            f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")
        ]


def no_inline_code(page: str) -> None:
    """The page has no inline script, no style attribute or element, no event handler."""
    finder = InlineCodeFinder()
    finder.feed(page)
    assert finder.found == []


class TestTiles:
    def test_tiles_count_enabled_pairs_and_the_last_seven_days_of_logs(self, admin: Admin) -> None:
        now = admin.harness.clock()

        def at(delta: timedelta, status: LogStatus) -> dict[str, Any]:
            when = now - delta
            return {"status": status, "date_created": when, "date_updated": when}

        hour, day, minute = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)
        store_runs(
            admin.engine,
            [
                RunSpec(
                    fields={"date_created": now - hour, "date_updated": now - hour},
                    logs=[
                        at(hour, LogStatus.DELIVERED),
                        at(hour, LogStatus.DELIVERED),
                        at(hour, LogStatus.IGNORED),
                        at(2 * day, LogStatus.FAILED),
                        at(7 * day - minute, LogStatus.DELIVERED),  # inside the window
                        at(7 * day + minute, LogStatus.DELIVERED),  # just outside
                        at(8 * day, LogStatus.DELIVERED),
                        at(8 * day, LogStatus.FAILED),
                        at(-hour, LogStatus.FAILED),  # a clock ahead of ours: not yet
                    ],
                )
            ],
        )

        html = admin.get(HOME).text

        assert (tile(html, "delivered"), tile(html, "failed")) == (3, 1)
        # 24 types over 4 mediums, less the 3 Slack-only types over the other 3 mediums.
        assert tile(html, "enabled") == 24 * 4 - 3 * 3

    def test_enabled_tile_follows_the_workspace_switches(self, admin: Admin) -> None:
        admin.harness.load(
            tidings(
                workspace={
                    "mediums": {"EMAIL": False},
                    "notificationTypes": {
                        "WEEKLY_REPORT": False,
                        "SERVICE_REEVALUATED": {"SLACK": False},
                    },
                }
            )
        )
        html = admin.get(HOME).text
        # 87 possible pairs; email takes 21, the weekly report 3 more, one Slack pair.
        assert tile(html, "enabled") == 87 - 21 - 3 - 1
        assert '<a href="/admin/notifications/settings">See which</a>' in html

    def test_delivered_and_failed_tiles_are_summed_from_the_tallies(self, admin: Admin) -> None:
        statements: list[str] = []

        def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        event.listen(admin.engine, "before_cursor_execute", remember)
        try:
            admin.get(HOME)
        finally:
            event.remove(admin.engine, "before_cursor_execute", remember)
        # Two tiles and the chart of logs per day.
        assert sum("notification_log_tallies" in statement for statement in statements) == 3


def mixed_runs(admin: Admin) -> dict[str, int]:
    """Five runs that differ in every filtered column; their ids by name."""
    names = ["slack_done", "email_failed", "slack_ignored", "teams_errors", "email_created"]
    ids = store_runs(
        admin.engine,
        [
            RunSpec(
                fields={"summary": "Entity evaluation: Payments API"},
                logs=[{}],
                objects=[entity(7, "Payments API", "payments-api")],
            ),
            RunSpec(
                fields={
                    "medium": Medium.EMAIL,
                    "status": RunStatus.FAILED,
                    "failed_reason": RunFailedReason.PACKET_GENERATOR_ERROR,
                    "notification_type": NotificationType.WEEKLY_REPORT,
                    "summary": "Weekly report",
                }
            ),
            RunSpec(
                fields={
                    "status": RunStatus.IGNORED,
                    "ignored_reason": RunIgnoredReason.WORKSPACE_DISABLED,
                    "summary": "Entity evaluation: Billing",
                }
            ),
            RunSpec(
                fields={
                    "medium": Medium.MICROSOFT_TEAMS,
                    "status": RunStatus.COMPLETED_WITH_ERRORS,
                    "notification_type": NotificationType.BROKEN_OPEN_API_SPEC,
                    "summary": "Broken OpenAPI spec: payments-api",
                },
                logs=[{}, {"status": LogStatus.FAILED, "date_delivered": None}],
            ),
            RunSpec(fields={"medium": Medium.EMAIL, "status": RunStatus.CREATED}),
        ],
    )
    return dict(zip(names, ids, strict=True))


class TestRunsList:
    @pytest.mark.parametrize(
        "query",
        [
            "",
            "mediums=SLACK",
            "mediums=email&mediums=MICROSOFT_TEAMS",
            "statuses=FAILED,IGNORED",
            "notificationTypes=WEEKLY_REPORT,BROKEN_OPEN_API_SPEC",
            "ignoredReasons=WORKSPACE_DISABLED",
            "failedReasons=PACKET_GENERATOR_ERROR",
            "searchQuery=payments",
            "deliveredOnly=true",
            "fromDate=2026-11-01T12:01:00Z&untilDate=2026-11-01T12:03:00Z",
            "orderBy=ASC&pageSize=2&page=1",
        ],
    )
    def test_url_filters_select_the_runs_the_api_selects(self, admin: Admin, query: str) -> None:
        mixed_runs(admin)
        api_query = query if "deliveredOnly" in query else f"{query}&deliveredOnly=false"
        if "pageSize" not in query:
            api_query += "&pageSize=50"
        answer = admin.client.get(f"{RUNS_API}?{api_query}", headers=admin.harness.key(VIEW)).json()

        page = admin.get(f"{HOME}?{query}")

        assert page.status_code == 200
        assert page_ids(page.text) == [run["id"] for run in answer["runs"]]

    def test_the_page_lists_every_run_unless_asked_for_delivered_only(self, admin: Admin) -> None:
        ids = mixed_runs(admin)
        assert sorted(page_ids(admin.get(HOME).text)) == sorted(ids.values())
        delivered = page_ids(admin.get(f"{HOME}?deliveredOnly=true").text)
        assert sorted(delivered) == sorted([ids["slack_done"], ids["teams_errors"]])

    def test_rows_show_time_name_medium_status_delivered_count_and_summary(
        self, admin: Admin
    ) -> None:
        ids = mixed_runs(admin)
        html = admin.get(f"{HOME}?mediums=MICROSOFT_TEAMS").text
        row = re.search(r"<table class=\"runs\">.*?<tbody>(.*?)</tbody>", html, re.S)
        assert row is not None
        cells = row.group(1)
        assert '<time datetime="2026-11-01T12:03:00.000Z" data-local>' in cells
        assert "2026-11-01 12:03:00 UTC</time>" in cells
        assert (
            f'<a href="/admin/notifications/runs/{ids["teams_errors"]}">Broken OpenAPI spec</a>'
            in (cells)
        )
        assert "<span>Microsoft Teams</span>" in cells
        assert '<span class="status status-completed_with_errors">Completed with errors</span>' in (
            cells
        )
        assert '<td class="number">1</td>' in cells
        assert "Broken OpenAPI spec: payments-api" in cells

    def test_filter_form_shows_the_urls_state(self, admin: Admin) -> None:
        html = admin.get(
            f"{HOME}?statuses=failed,IGNORED&searchQuery=pay&fromDate=2026-11-01&orderBy=ASC"
        ).text
        assert re.search(r'name="statuses" value="FAILED" checked', html)
        assert re.search(r'name="statuses" value="IGNORED" checked', html)
        assert not re.search(r'name="statuses" value="COMPLETED" checked', html)
        assert 'name="searchQuery" value="pay"' in html
        assert 'name="fromDate" value="2026-11-01"' in html
        assert '<option value="ASC" selected>' in html
        assert re.search(r'name="deliveredOnly" value="true">', html)  # not ticked: every run

    @pytest.mark.parametrize(
        "query",
        [
            "statuses=DELIVERED",
            "fromDate=yesterday",
            "fromDate=2026-11-02&untilDate=2026-11-01",
            "pageSize=0",
            "page=-1",
            "deliveredOnly=maybe",
            "searchQuery=%00",
        ],
    )
    def test_bad_filter_shows_the_apis_400_message_in_the_page(
        self, admin: Admin, query: str
    ) -> None:
        api = admin.client.get(f"{RUNS_API}?{query}", headers=admin.harness.key(VIEW))
        assert api.status_code == 400

        page = admin.get(f"{HOME}?{query}")

        assert page.status_code == 400
        assert str(escape(api.json()["details"])) in page.text
        assert 'role="alert"' in page.text
        assert "<h1>Notification logs</h1>" in page.text

    def test_paging_links_keep_the_filters(self, admin: Admin) -> None:
        slack = store_runs(admin.engine, [RunSpec() for _ in range(7)])
        store_runs(admin.engine, [RunSpec(fields={"medium": Medium.EMAIL}) for _ in range(2)])
        url = f"{HOME}?mediums=SLACK&pageSize=3&orderBy=ASC"
        seen: list[int] = []
        pages = 0
        while url:
            html = admin.get(url).text
            seen += page_ids(html)
            pages += 1
            found = re.search(
                r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#runs"[^>]*>Next</a>', html
            )
            url = found.group(1).replace("&amp;", "&") if found else ""
            if url:
                params = httpx.URL(url).params
                assert params.get_list("mediums") == ["SLACK"]
                assert (params["pageSize"], params["orderBy"]) == ("3", "ASC")
        assert seen == slack
        assert pages == 3

    def test_status_line_counts_the_matches(self, admin: Admin) -> None:
        store_runs(admin.engine, [RunSpec() for _ in range(4)])
        html = admin.get(f"{HOME}?pageSize=3").text
        assert "4 runs match, showing 1 to 3." in html
        assert "No runs match." in admin.get(f"{HOME}?mediums=WEBHOOK").text

    def test_htmx_gets_only_the_list_and_the_status_line(self, admin: Admin) -> None:
        mixed_runs(admin)
        response = admin.get(f"{HOME}?mediums=SLACK", headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert "<html" not in response.text
        assert "tile-delivered" not in response.text
        assert '<span id="runs-status" hx-swap-oob="innerHTML">2 runs match.</span>' in (
            response.text
        )
        assert len(page_ids(response.text)) == 2
        assert response.headers["Vary"] == "HX-Request"

    def test_filter_form_works_with_and_without_htmx(self, admin: Admin) -> None:
        html = admin.get(HOME).text
        form = re.search(r"<form class=\"filters\"[^>]*>", html)
        assert form is not None
        assert 'method="get" action="/admin/notifications"' in form.group(0)
        assert 'hx-get="/admin/notifications"' in form.group(0)
        assert 'hx-push-url="true"' in form.group(0)


def send_broken_spec(admin: Admin, *owners: str, users: tuple[str, ...] = (ADA,)) -> int:
    """Send a broken-spec event about payments-api owned by `owners`; its Slack run's id."""
    admin.harness.load(
        service("payments-api", owners=[email_owner(owner) for owner in owners]),
        tidings(users=[user(email) for email in users]),
    )
    answer = admin.harness.send(
        notification_event(NotificationType.BROKEN_OPEN_API_SPEC, entity_ref("payments-api"))
    )
    return admin.harness.run_of(answer, Medium.SLACK).id


class TestRunDetail:
    def test_run_shows_its_objects_chain_and_counts(self, admin: Admin) -> None:
        run_id = send_broken_spec(admin, ADA, OUTSIDER)
        html = admin.get(f"/admin/notifications/runs/{run_id}").text
        assert '<h1>Broken OpenAPI spec <span class="run-id">run' in html
        assert "<code>payments-api</code>" in html
        assert f'<a href="/admin/notifications/runs/{run_id}" aria-current="page">' in html
        counts = re.search(r'<table class="counts">(.*?)</table>', html, re.S)
        assert counts is not None
        assert "Member emails not found" in counts.group(1)
        assert re.search(r"Delivered</span></th>\s*<td></td>\s*<td class=\"number\">1</td>", html)

    def test_each_recipient_shows_why_explanation_error_attempts_and_content(
        self, admin: Admin
    ) -> None:
        run_id = send_broken_spec(admin, ADA, OUTSIDER)
        [ada, outsider] = admin.harness.logs(run_id)

        html = admin.get(f"/admin/notifications/runs/{run_id}").text

        articles = dict(
            re.findall(
                r'<article class="log" aria-labelledby="log-(\d+)">(.*?)</article>', html, re.S
            )
        )
        ada_html, outsider_html = articles[str(ada.id)], articles[str(outsider.id)]
        assert ada.why is not None
        assert outsider.explanation is not None
        assert outsider.error_message is not None
        assert str(escape(ada.why)) in ada_html
        assert "status-delivered" in ada_html
        assert "<summary>Message</summary>" in ada_html
        assert "The OpenAPI spec of Payments Api no longer parses." in ada_html
        assert re.search(r'<th scope="row">1</th>\s*<td><time[^>]*>[^<]*</time></td>', ada_html)
        assert "<td>Delivered</td>" in ada_html
        assert "Member emails not found" in outsider_html
        assert f"<dt>Explanation</dt><dd>{escape(outsider.explanation)}</dd>" in outsider_html
        assert f"<dt>Error message</dt><dd>{escape(outsider.error_message)}</dd>" in outsider_html
        assert "<td>Failed</td>" in outsider_html

    def test_content_past_its_retention_is_said_to_be_gone(self, admin: Admin) -> None:
        run_id = send_broken_spec(admin, ADA)
        admin.harness.execute("DELETE FROM notification_contents")
        html = admin.get(f"/admin/notifications/runs/{run_id}").text
        assert "past its 14-day retention" in html
        assert "<summary>Message</summary>" not in html

    def test_recipients_are_paged_and_links_keep_the_page_size(self, admin: Admin) -> None:
        run_id = send_broken_spec(admin, ADA, OUTSIDER)
        path = f"/admin/notifications/runs/{run_id}"
        first = admin.get(f"{path}?pageSize=1").text
        assert first.count('<article class="log"') == 1
        found = re.search(r'<a href="([^"]+)">Next</a>', first)
        assert found is not None
        href = found.group(1).replace("&amp;", "&")
        assert httpx.URL(href).path == path
        assert (httpx.URL(href).params["page"], httpx.URL(href).params["pageSize"]) == ("1", "1")
        second = admin.get(href).text
        assert OUTSIDER in second
        assert ADA not in second

    @pytest.mark.parametrize("run_id", ["999999", "abc", "0", str(2**63)])
    def test_unknown_run_is_a_404_page(self, admin: Admin, run_id: str) -> None:
        response = admin.get(f"/admin/notifications/runs/{run_id}")
        assert response.status_code == 404
        assert "No such run" in response.text

    def test_bad_recipient_page_is_a_400_page(self, admin: Admin) -> None:
        run_id = send_broken_spec(admin, ADA)
        response = admin.get(f"/admin/notifications/runs/{run_id}?pageSize=0")
        assert response.status_code == 400
        assert "pageSize: 0 is outside 1..1000" in response.text


class TestResend:
    @pytest.mark.parametrize(
        ("status", "offered"),
        [
            (RunStatus.CREATED, True),
            (RunStatus.FAILED, True),
            (RunStatus.COMPLETED_WITH_ERRORS, True),
            (RunStatus.COMPLETED, False),
            (RunStatus.IGNORED, False),
        ],
    )
    def test_resend_is_offered_on_created_failed_and_completed_with_errors_runs(
        self, admin: Admin, status: RunStatus, offered: bool
    ) -> None:
        [run_id] = store_runs(admin.engine, [RunSpec(fields={"status": status})])
        html = admin.get(f"/admin/notifications/runs/{run_id}").text
        assert (f'action="/admin/notifications/runs/{run_id}/resend"' in html) is offered

    def test_resend_of_a_failed_run_makes_the_next_run_of_its_chain(self, admin: Admin) -> None:
        root = send_broken_spec(admin, OUTSIDER, users=())
        assert admin.harness.run(root).status == "FAILED"
        page = admin.get(f"/admin/notifications/runs/{root}")

        response = admin.post(
            f"/admin/notifications/runs/{root}/resend", {"csrf_token": csrf_of(page.text)}
        )

        assert response.status_code == 303
        new_id = int(response.headers["location"].rsplit("/", 1)[1])
        created = admin.harness.run(new_id)
        assert (created.original_run_id, created.seq_no) == (root, 1)
        admin.harness.process([new_id])
        html = admin.get(response.headers["location"]).text
        chain = re.search(r'<ol class="chain">(.*?)</ol>', html, re.S)
        assert chain is not None
        assert re.findall(r'href="/admin/notifications/runs/(\d+)"', chain.group(1)) == [
            str(root),
            str(new_id),
        ]
        assert f'<a href="/admin/notifications/runs/{new_id}" aria-current="page">' in html
        assert "resend 1" in chain.group(1)
        assert [log.reason for log in admin.harness.logs(new_id)] == [
            FailedReason.MEMBER_EMAILS_NOT_FOUND
        ]

    def test_refused_resend_shows_the_engines_message_and_makes_nothing(self, admin: Admin) -> None:
        [run_id] = store_runs(admin.engine, [RunSpec(fields={"status": RunStatus.IGNORED})])
        with pytest.raises(flows.RerunError) as refused:
            flows.rerun(admin.engine, run_id, admin.harness.clock)

        response = admin.post(
            f"/admin/notifications/runs/{run_id}/resend", {"csrf_token": admin.csrf()}
        )

        assert response.status_code == 409
        assert f"<strong>Not resent:</strong> {escape(str(refused.value))}" in response.text
        with admin.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(runs)).scalar_one() == 1


class TestSettingsView:
    def test_settings_reflect_the_workspace_yaml(self, admin: Admin) -> None:
        admin.harness.load(
            tidings(
                workspace={
                    "mediums": {"EMAIL": False},
                    "notificationTypes": {
                        "WEEKLY_REPORT": False,
                        "SERVICE_REEVALUATED": {"SLACK": False},
                    },
                    "channelNotificationTypes": {"BROKEN_OPEN_API_SPEC": False},
                    "nonCortexUsersEnabled": False,
                    "seats": 25,
                    "weeklyReport": {
                        "dayOfWeek": "FRIDAY",
                        "hour": 16,
                        "timeZone": "Europe/Berlin",
                    },
                }
            )
        )

        html = admin.get(SETTINGS).text

        def states(notification_type: str) -> list[str]:
            row = re.search(rf'<tr id="type-{notification_type}">(.*?)</tr>', html, re.S)
            assert row is not None
            return re.findall(r'data-state="(\w+)"', row.group(1))

        # Columns: Slack, Microsoft Teams, Email, Webhook.
        assert states("WEEKLY_REPORT") == ["TYPE_OFF", "TYPE_OFF", "MEDIUM_OFF", "TYPE_OFF"]
        assert states("SERVICE_REEVALUATED") == ["TYPE_OFF", "ENABLED", "MEDIUM_OFF", "ENABLED"]
        assert states("ONBOARDING_MESSAGE") == [
            "ENABLED",
            "NOT_AVAILABLE",
            "NOT_AVAILABLE",
            "NOT_AVAILABLE",
        ]
        assert states("BROKEN_OPEN_API_SPEC") == ["ENABLED", "ENABLED", "MEDIUM_OFF", "ENABLED"]
        assert re.search(r'<tr id="channels-BROKEN_OPEN_API_SPEC">.*?Off</span>', html)
        assert re.search(r'<tr id="channels-SERVICE_REEVALUATED">.*?On</span>', html)
        assert re.search(r'id="non-cortex-users"><span class="switch switch-off">Off', html)
        assert '<dd id="seats">25</dd>' in html
        assert '<dd id="weekly-report">Fridays at 16:00, Europe/Berlin</dd>' in html
        assert '<dd id="count-enabled">62</dd>' in html
        assert '<dd id="count-available">87</dd>' in html
        assert tile(admin.get(HOME).text, "enabled") == 62

    def test_without_a_workspace_section_everything_is_on(self, admin: Admin) -> None:
        html = admin.get(SETTINGS).text
        assert "MEDIUM_OFF" not in html
        assert "TYPE_OFF" not in html
        assert '<dd id="seats">No limit</dd>' in html
        assert '<dd id="weekly-report">Mondays at 09:00, America/Los_Angeles</dd>' in html


class TestPagesAreSafe:
    def test_hostile_summary_channel_error_object_and_key_name_show_as_text(
        self, database_url: str, tmp_path: Path
    ) -> None:
        with open_admin(database_url, tmp_path) as admin:
            admin.signed_in(name=HOSTILE)
            hostile_object = entity(9, HOSTILE, "evil") | {"url": "javascript:alert(1)"}
            [run_id] = store_runs(
                admin.engine,
                [
                    RunSpec(
                        fields={"summary": HOSTILE, "error_message": HOSTILE},
                        logs=[
                            {
                                "recipient_channel": f"#{HOSTILE}",
                                "recipient_email": None,
                                "status": LogStatus.FAILED,
                                "failed_reason": FailedReason.CLIENT_ERROR,
                                "error_message": HOSTILE,
                                "date_delivered": None,
                            }
                        ],
                        objects=[hostile_object],
                    )
                ],
            )
            pages = [
                admin.get(HOME).text,
                admin.client.get(HOME, params={"searchQuery": HOSTILE}).text,
                admin.get(f"/admin/notifications/runs/{run_id}").text,
            ]
            for html in pages:
                assert HOSTILE not in html
                assert "<script>alert" not in html
                assert "<img src=x" not in html
                assert str(escape(HOSTILE)) in html
                assert "javascript:" not in html
                no_inline_code(html)

    def test_search_text_is_escaped_in_the_form(self, admin: Admin) -> None:
        response = admin.client.get(HOME, params={"searchQuery": '"><script>alert(1)</script>'})
        assert "<script>alert(1)" not in response.text
        assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text

    @pytest.mark.parametrize("path", [HOME, SETTINGS, "/admin/sign-in"])
    def test_pages_carry_a_strict_content_security_policy(self, admin: Admin, path: str) -> None:
        response = admin.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        no_inline_code(response.text)

    def test_htmx_is_configured_for_the_policy(self, admin: Admin) -> None:
        found = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", admin.get(HOME).text)
        assert found is not None
        config = json.loads(unescape(found.group(1)))
        assert config["includeIndicatorStyles"] is False  # an inline <style> the CSP refuses
        assert config["allowEval"] is False
        assert config["allowScriptTags"] is False
        assert config["historyCacheSize"] == 0  # no copies of admin pages in the browser

    def test_pages_are_accessible_by_structure(self, admin: Admin) -> None:
        ids = mixed_runs(admin)
        for path in (HOME, SETTINGS, f"/admin/notifications/runs/{ids['teams_errors']}"):
            html = admin.get(path).text
            assert '<html lang="en">' in html
            assert '<a class="skip-link" href="#main">' in html
            for landmark in ('<main id="main"', "<header", "<nav"):
                assert landmark in html
            assert not re.search(r"<th(?=[\s>])(?![^>]*scope=)[^>]*>", html)
            for field_id in re.findall(
                r'<(?:input|select)(?![^>]*type="hidden")[^>]*id="([^"]+)"', html
            ):
                assert f'<label for="{field_id}">' in html, field_id
        assert "<title>Notification logs</title>" in admin.get(HOME).text

    def test_static_files_are_served_from_the_package(self, admin: Admin) -> None:
        for name, kind in [
            ("htmx.min.js", "javascript"),
            ("app.js", "javascript"),
            ("app.css", "css"),
        ]:
            response = admin.get(f"/admin/static/{name}")
            assert response.status_code == 200
            assert kind in response.headers["content-type"]
        assert "Zero-Clause BSD" in admin.get("/admin/static/htmx.LICENSE").text

    def test_the_api_document_does_not_list_the_admin_page(self, admin: Admin) -> None:
        paths = admin.get("/openapi.json").json()["paths"]
        assert not [path for path in paths if path.startswith("/admin")]
