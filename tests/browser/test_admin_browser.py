"""The admin page in real headless Chromium: sign in, read the tiles and the chart, filter the
runs, open a run, resend it and watch it deliver without a reload, read and export the logs.
A screenshot of each main page is saved under test-artifacts/screenshots.

Playwright's `expect` waits for what the page must come to show; no test sleeps.
"""

import csv
import io
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.conftest import HOOK, Served, screenshot
from tidings.emulators.faults import FaultRule

LIVE_TIMEOUT_MS = 20_000


def sign_in(page: Any, served: Served, path: str = "/admin") -> None:
    """Sign in through the form, from a page that asks for it."""
    page.goto(served.url(path))
    expect(page).to_have_url(re.compile(r"/admin/sign-in\?next="))
    page.get_by_label("API key").fill(served.key)
    page.get_by_role("button", name="Sign in").click()


def scalar(served: Served, statement: str) -> int:
    """One number from the store."""
    with served.harness.runtime.engine.connect() as connection:
        return int(connection.execute(text(statement)).scalar_one())


def test_sign_in_and_read_the_tiles_and_the_chart(page: Any, served: Served) -> None:
    sign_in(page, served)

    expect(page).to_have_url(served.url("/admin/notifications"))
    delivered = scalar(served, "SELECT count(*) FROM notification_logs WHERE status = 'DELIVERED'")
    failed = scalar(served, "SELECT count(*) FROM notification_logs WHERE status = 'FAILED'")
    expect(page.locator("#tile-delivered")).to_have_text(str(delivered))
    expect(page.locator("#tile-failed")).to_have_text(str(failed))
    expect(page.locator("#chart-total-delivered")).to_have_text(str(delivered))
    today = page.locator('g.day[data-day="2026-12-02"] > title')
    expect(today).to_contain_text(f"{delivered} delivered (")
    page.get_by_text("Numbers by day").click()
    expect(page.locator(".chart-table table")).to_be_visible()
    screenshot(page, "notifications")


def test_filter_the_runs_without_a_reload(page: Any, served: Served) -> None:
    sign_in(page, served)
    page.evaluate("window.stillTheSamePage = true")
    page.locator("summary", has_text="Mediums").click()
    page.get_by_role("checkbox", name="Webhook", exact=True).check()

    expect(page).to_have_url(re.compile(r"mediums=WEBHOOK"))
    expect(page.locator("#mediums-count")).to_have_text("(1 selected)")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator(".medium")).to_have_text(["Webhook", "Webhook"])
    assert page.evaluate("window.stillTheSamePage") is True


def test_open_a_run_resend_it_and_watch_it_deliver(page: Any, served: Served) -> None:
    sign_in(page, served, "/admin/notifications?mediums=WEBHOOK&statuses=FAILED")
    page.locator("table.runs tbody tr a").first.click()
    expect(page.locator("#run-live > .facts")).to_contain_text("Failed")
    screenshot(page, "run")

    # The receiver is back but slow: the resent run stays CREATED while it waits.
    served.suite.webhook.faults.clear()
    served.suite.webhook.faults.add(FaultRule.delay(3.0, match=HOOK, times=1))
    page.get_by_role("button", name="Resend").click()

    expect(page.locator("#live-note")).to_be_visible()
    status = page.locator("#run-live > .facts .status")
    expect(status).to_have_text("Created")
    page.evaluate("window.stillTheSamePage = true")
    expect(status).to_have_text("Completed", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#run-live > .facts")).to_contain_text("Delivered")
    expect(page.locator("#live-note")).to_have_text(
        "The run has finished delivering; this page shows how it ended."
    )
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator("#run-live .chain > li")).to_have_count(2)
    screenshot(page, "run-resent")


def test_read_and_export_the_logs(page: Any, served: Served) -> None:
    sign_in(page, served, "/admin/notifications/logs")
    page.locator("summary", has_text="Mediums").click()
    page.get_by_role("checkbox", name="Email", exact=True).check()
    expect(page).to_have_url(re.compile(r"mediums=EMAIL"))
    emails = scalar(served, "SELECT count(*) FROM notification_logs WHERE medium = 'EMAIL'")
    expect(page.locator("table.logs tbody tr")).to_have_count(emails)
    screenshot(page, "logs")

    with page.expect_download() as caught:
        page.locator("#export-csv").click()
    download = caught.value
    assert re.fullmatch(r"notification-logs-\d{8}T\d{6}Z\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:5] == ["id", "runId", "type", "medium", "status"]
    assert {row[3] for row in rows[1:]} == {"EMAIL"}
    assert len(rows) == emails + 1


def test_the_settings_page(page: Any, served: Served) -> None:
    sign_in(page, served, "/admin/notifications/settings")
    expect(page.get_by_role("heading", name="Workspace notifications")).to_be_visible()
    screenshot(page, "settings")


def test_signing_out_ends_the_session(page: Any, served: Served) -> None:
    sign_in(page, served)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You signed out.")).to_be_visible()
    page.goto(served.url("/admin/notifications"))
    expect(page).to_have_url(re.compile(r"/admin/sign-in"))


# WCAG 2 contrast of each element's text against the first opaque background behind it.
CONTRAST_SCRIPT = """
() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((v) => v / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] === 1)) return c;
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const el of document.querySelectorAll("main *, header *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("svg") || !el.getClientRects().length) continue;
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)}`);
  }
  return worst;
}
"""


def test_the_pages_work_from_the_keyboard_and_their_text_has_enough_contrast(
    page: Any, served: Served
) -> None:
    page.goto(served.url("/admin"))
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to main content")
    page.get_by_label("API key").focus()
    page.keyboard.type(served.key)
    page.keyboard.press("Enter")
    expect(page).to_have_url(served.url("/admin/notifications"))

    page.get_by_label("Search").focus()
    page.keyboard.type("Payments")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"searchQuery=Payments"))
    # The list is swapped in by htmx: wait for the new rows before reaching into them.
    expect(page.locator("table.runs tbody tr").first).to_contain_text("Payments")
    # A key pressed while htmx still swaps the list lands on a link about to be replaced:
    # let the swap settle, then focus the link and check it holds the focus.
    page.wait_for_load_state("networkidle")
    first_run = page.locator("table.runs tbody tr a").first
    first_run.focus()
    expect(first_run).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/notifications/runs/\d+"))

    for path in (
        "/admin/notifications",
        "/admin/notifications/logs",
        "/admin/notifications/settings",
    ):
        page.goto(served.url(path))
        assert page.evaluate(CONTRAST_SCRIPT) == [], path


def test_times_show_in_the_browsers_zone_with_the_zone_on_hover(
    browser: Any, served: Served
) -> None:
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    try:
        page = context.new_page()
        sign_in(page, served)
        first = page.locator("table.runs tbody time").first
        # The runs were made at 12:00 UTC on 2 December: 7:00 in New York (EST).
        expect(first).to_have_attribute("title", "America/New_York")
        expect(first).to_contain_text("7:00")
        expect(first).to_have_attribute("datetime", re.compile(r"^2026-12-02T12:00:00"))
    finally:
        context.close()
