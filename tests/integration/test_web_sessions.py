"""Signing in to the admin page: an API key with VIEW_NOTIFICATION_LOGS makes a server-side
session whose cookie is HttpOnly, SameSite=Strict and limited to /admin; the session ends on
sign-out, when the key is revoked or expires, and after its lifetime; every POST needs the
session's CSRF token; failed sign-ins spend the API's rate limit of the client address.

The runtime's clock is one the tests move, so expiry is tested without sleeping.
"""

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from tests.support.builders import RunSpec, store_runs
from tests.support.engine_harness import Harness, MovableClock, open_harness
from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.enums import RunStatus
from tidings.logs.repository import runs
from tidings.runtime import Runtime
from tidings.settings import Settings

VIEW = Permission.VIEW_NOTIFICATION_LOGS
HOME = "/admin/notifications"
SIGN_IN = "/admin/sign-in"
SIGN_OUT = "/admin/sign-out"
SESSION_COOKIE = "tidings_admin"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF_FIELD.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def cookie_header(response: httpx.Response, name: str) -> str:
    """The Set-Cookie header that sets cookie `name`."""
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


@dataclass
class Admin:
    """A browser on the admin page, over a harness whose clock the test moves."""

    harness: Harness
    client: TestClient

    @property
    def engine(self) -> Engine:
        """The store."""
        return self.harness.runtime.engine

    def create_key(
        self, *permissions: Permission, name: str = "admin", expires_at: datetime | None = None
    ) -> keys.CreatedKey:
        """A new API key, created at the clock's time."""
        with self.harness.runtime.sessions.begin() as session:
            return keys.create_key(session, name, permissions, self.harness.clock(), expires_at)

    def revoke(self, key_id: int) -> None:
        """Revoke a key at the clock's time."""
        with self.harness.runtime.sessions.begin() as session:
            keys.revoke_key(session, key_id, self.harness.clock())

    def sign_in(self, secret: str, next_path: str = "") -> httpx.Response:
        """Fill in and send the sign-in form; the answer, redirects not followed."""
        form = self.client.get(SIGN_IN)
        assert form.status_code == 200, form.text
        data = {"key": secret, "csrf_token": csrf_of(form.text), "next": next_path}
        response: httpx.Response = self.client.post(SIGN_IN, data=data, follow_redirects=False)
        return response

    def signed_in(self, name: str = "admin") -> keys.CreatedKey:
        """Sign in with a new key that may view the logs; that key."""
        created = self.create_key(VIEW, name=name)
        assert self.sign_in(created.secret).status_code == 303
        return created

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET a page, redirects not followed."""
        response: httpx.Response = self.client.get(url, follow_redirects=False, **kwargs)
        return response

    def csrf(self) -> str:
        """The session's CSRF token, as the pages carry it."""
        return csrf_of(self.get(HOME).text)

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        """POST a form, redirects not followed."""
        response: httpx.Response = self.client.post(
            url, data=data, follow_redirects=False, **kwargs
        )
        return response


@contextmanager
def open_admin(
    database_url: str, directory: Path, base_url: str = "http://testserver"
) -> Iterator[Admin]:
    """The app over a fresh harness (its runner not started: tests process runs themselves)."""
    with open_harness(database_url, directory) as harness:
        client = TestClient(create_app(harness.runtime), base_url=base_url)
        try:
            yield Admin(harness, client)
        finally:
            client.close()


@pytest.fixture
def admin(database_url: str, tmp_path: Path) -> Iterator[Admin]:
    """A browser that has not signed in yet."""
    with open_admin(database_url, tmp_path) as opened:
        yield opened


def session_rows(engine: Engine) -> int:
    """How many sessions are stored."""
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM web_sessions")).scalar_one())


class TestPagesNeedASession:
    def test_admin_root_goes_to_the_notification_logs(self, admin: Admin) -> None:
        response = admin.get("/admin")
        assert (response.status_code, response.headers["location"]) == (303, HOME)

    @pytest.mark.parametrize(
        "path",
        [
            f"{HOME}?statuses=FAILED&mediums=SLACK",
            "/admin/notifications/settings",
            "/admin/notifications/runs/1",
        ],
    )
    def test_page_without_session_goes_to_sign_in_and_keeps_where_it_was(
        self, admin: Admin, path: str
    ) -> None:
        response = admin.get(path)
        assert response.status_code == 303
        location = httpx.URL(response.headers["location"])
        assert (location.path, location.params["next"]) == (SIGN_IN, path)

    def test_htmx_request_without_session_is_told_to_load_the_sign_in_page(
        self, admin: Admin
    ) -> None:
        response = admin.get(f"{HOME}?statuses=FAILED", headers={"HX-Request": "true"})
        assert response.status_code == 401
        assert response.headers["HX-Redirect"].startswith(f"{SIGN_IN}?next=")


class TestSignIn:
    def test_key_with_the_permission_signs_in_and_returns_where_it_was_going(
        self, admin: Admin
    ) -> None:
        created = admin.create_key(VIEW, name="ops laptop")
        response = admin.sign_in(created.secret, next_path="/admin/notifications/settings")
        assert (response.status_code, response.headers["location"]) == (
            303,
            "/admin/notifications/settings",
        )
        page = admin.get("/admin/notifications/settings")
        assert page.status_code == 200
        assert "ops laptop" in page.text

    def test_signed_in_visitor_skips_the_form(self, admin: Admin) -> None:
        admin.signed_in()
        response = admin.get(f"{SIGN_IN}?next=/admin/notifications/settings")
        assert (response.status_code, response.headers["location"]) == (
            303,
            "/admin/notifications/settings",
        )

    @pytest.mark.parametrize("how", ["unknown", "revoked", "expired", "blank"])
    def test_unknown_revoked_or_expired_key_makes_no_session(self, admin: Admin, how: str) -> None:
        created = admin.create_key(VIEW, expires_at=admin.harness.clock() + timedelta(hours=1))
        secret = {"unknown": "tdg_not-a-key", "blank": ""}.get(how, created.secret)
        if how == "revoked":
            admin.revoke(created.key.id)
        if how == "expired":
            admin.harness.clock.advance(timedelta(hours=2))

        response = admin.sign_in(secret)

        assert response.status_code == 401
        assert "That API key is unknown, revoked or expired." in response.text
        assert SESSION_COOKIE not in response.cookies
        assert session_rows(admin.engine) == 0
        assert admin.get(HOME).status_code == 303

    def test_key_without_the_permission_is_told_so_and_gets_no_session(self, admin: Admin) -> None:
        created = admin.create_key(Permission.SEND_NOTIFICATIONS)
        response = admin.sign_in(created.secret)
        assert response.status_code == 403
        assert (
            "That API key does not have the View notification logs permission "
            "(VIEW_NOTIFICATION_LOGS)" in response.text
        )
        assert SESSION_COOKIE not in response.cookies
        assert session_rows(admin.engine) == 0

    @pytest.mark.parametrize(
        "next_path",
        [
            "https://evil.example/admin/notifications",
            "//evil.example/admin/notifications",
            "/\\evil.example/admin",
            "javascript:alert(1)",
            "/api/v1/notifications/logs",
            "/admin/../api/v1/notifications/logs",
            "/administrator",
            "/admin/sign-in?next=https://evil.example",
            "",
        ],
    )
    def test_next_outside_the_admin_page_goes_home_instead(
        self, admin: Admin, next_path: str
    ) -> None:
        created = admin.create_key(VIEW)
        response = admin.sign_in(created.secret, next_path=next_path)
        assert (response.status_code, response.headers["location"]) == (303, HOME)

    def test_next_inside_the_admin_page_keeps_its_query(self, admin: Admin) -> None:
        created = admin.create_key(VIEW)
        wanted = f"{HOME}?statuses=FAILED&mediums=SLACK&page=2"
        response = admin.sign_in(created.secret, next_path=wanted)
        assert response.headers["location"] == wanted

    def test_sign_in_form_without_its_token_is_refused(self, admin: Admin) -> None:
        created = admin.create_key(VIEW)
        admin.get(SIGN_IN)  # the browser has the form's cookie, the post lacks the field
        response = admin.post(SIGN_IN, {"key": created.secret})
        assert response.status_code == 403
        assert SESSION_COOKIE not in response.cookies
        assert session_rows(admin.engine) == 0

    def test_sign_in_form_token_must_match_the_forms_cookie(self, admin: Admin) -> None:
        created = admin.create_key(VIEW)
        admin.get(SIGN_IN)
        response = admin.post(SIGN_IN, {"key": created.secret, "csrf_token": "forged"})
        assert response.status_code == 403
        assert session_rows(admin.engine) == 0

    def test_only_a_hash_of_the_session_secret_is_stored(self, admin: Admin) -> None:
        created = admin.create_key(VIEW)
        response = admin.sign_in(created.secret)
        secret = response.cookies[SESSION_COOKIE]
        with admin.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT token_hash, key_id, csrf_token FROM web_sessions")
            ).one()
        assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert stored.key_id == created.key.id
        assert secret not in (stored.token_hash, stored.csrf_token)


class TestSessionCookie:
    def test_cookie_is_http_only_same_site_strict_and_limited_to_admin(self, admin: Admin) -> None:
        response = admin.sign_in(admin.create_key(VIEW).secret)
        attributes = [
            part.strip().lower() for part in cookie_header(response, SESSION_COOKIE).split(";")
        ]
        assert "httponly" in attributes
        assert "samesite=strict" in attributes
        assert "path=/admin" in attributes
        assert "secure" not in attributes  # plain http: a Secure cookie would never come back

    def test_cookie_is_secure_over_https(self, database_url: str, tmp_path: Path) -> None:
        with open_admin(database_url, tmp_path, base_url="https://testserver") as admin:
            response = admin.sign_in(admin.create_key(VIEW).secret)
            attributes = [
                part.strip().lower() for part in cookie_header(response, SESSION_COOKIE).split(";")
            ]
            assert "secure" in attributes
            assert admin.get(HOME).status_code == 200

    def test_sign_in_forms_cookie_is_http_only_and_same_site_strict(self, admin: Admin) -> None:
        header = cookie_header(admin.get(SIGN_IN), "tidings_sign_in").lower()
        assert "httponly" in header
        assert "samesite=strict" in header


class TestSessionEnds:
    def test_sign_out_ends_the_session_even_for_a_kept_cookie(self, admin: Admin) -> None:
        admin.signed_in()
        kept = admin.client.cookies[SESSION_COOKIE]

        response = admin.post(SIGN_OUT, {"csrf_token": admin.csrf()})

        assert (response.status_code, response.headers["location"]) == (
            303,
            f"{SIGN_IN}?signedOut=1",
        )
        assert 'tidings_admin=""' in cookie_header(response, SESSION_COOKIE)
        assert session_rows(admin.engine) == 0
        assert "You signed out." in admin.get(response.headers["location"]).text
        admin.client.cookies.set(SESSION_COOKIE, kept, path="/admin")
        assert admin.get(HOME).status_code == 303

    def test_revoking_the_key_ends_its_sessions_at_once(self, admin: Admin) -> None:
        created = admin.signed_in()
        assert admin.get(HOME).status_code == 200

        admin.revoke(created.key.id)

        response = admin.get(HOME)
        assert response.status_code == 303
        assert httpx.URL(response.headers["location"]).path == SIGN_IN

    def test_session_ends_when_its_key_expires(self, admin: Admin) -> None:
        created = admin.create_key(VIEW, expires_at=admin.harness.clock() + timedelta(hours=2))
        response = admin.sign_in(created.secret)
        assert "max-age=7200" in cookie_header(response, SESSION_COOKIE).lower()
        admin.harness.clock.advance(timedelta(hours=1, minutes=59))
        assert admin.get(HOME).status_code == 200

        admin.harness.clock.advance(timedelta(minutes=1))

        assert admin.get(HOME).status_code == 303

    def test_session_ends_after_twelve_hours(self, admin: Admin) -> None:
        admin.signed_in()
        admin.harness.clock.advance(timedelta(hours=11, minutes=59))
        assert admin.get(HOME).status_code == 200
        admin.harness.clock.advance(timedelta(minutes=1))
        assert admin.get(HOME).status_code == 303

    def test_expired_sessions_are_swept_at_the_next_sign_in(self, admin: Admin) -> None:
        admin.signed_in()
        admin.harness.clock.advance(timedelta(hours=13))
        admin.signed_in()
        assert session_rows(admin.engine) == 1


class TestCsrf:
    def run_count(self, admin: Admin) -> int:
        """How many runs the store holds."""
        with admin.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(runs)).scalar_one())

    @pytest.mark.parametrize("token", [None, "", "wrong-token"])
    def test_resend_without_the_sessions_token_is_403_and_changes_nothing(
        self, admin: Admin, token: str | None
    ) -> None:
        [run_id] = store_runs(admin.engine, [RunSpec(fields={"status": RunStatus.FAILED})])
        admin.signed_in()
        data = {} if token is None else {"csrf_token": token}

        response = admin.post(f"/admin/notifications/runs/{run_id}/resend", data)

        assert response.status_code == 403
        assert "CSRF token is missing or wrong" in response.text
        assert self.run_count(admin) == 1

    def test_sign_out_without_the_token_is_403_and_keeps_the_session(self, admin: Admin) -> None:
        admin.signed_in()
        response = admin.post(SIGN_OUT, {})
        assert response.status_code == 403
        assert admin.get(HOME).status_code == 200

    def test_another_sessions_token_is_refused(self, admin: Admin) -> None:
        [run_id] = store_runs(admin.engine, [RunSpec(fields={"status": RunStatus.FAILED})])
        admin.signed_in()
        other = TestClient(create_app(admin.harness.runtime))  # no lifespan: no runner
        someone_else = Admin(admin.harness, other)
        someone_else.signed_in(name="someone else")
        token = someone_else.csrf()
        other.close()
        response = admin.post(f"/admin/notifications/runs/{run_id}/resend", {"csrf_token": token})
        assert response.status_code == 403

    def test_token_in_the_htmx_header_is_accepted(self, admin: Admin) -> None:
        [run_id] = store_runs(admin.engine, [RunSpec(fields={"status": RunStatus.FAILED})])
        admin.signed_in()
        response = admin.post(
            f"/admin/notifications/runs/{run_id}/resend",
            {},
            headers={"X-CSRF-Token": admin.csrf()},
        )
        assert response.status_code == 303
        assert self.run_count(admin) == 2


class TestFailedSignInsAreRateLimited:
    def test_failed_sign_ins_spend_the_apis_budget_of_the_client_address(
        self, database_url: str, tmp_path: Path
    ) -> None:
        clock = MovableClock()
        settings = Settings(database_url=database_url, rate_limit_per_minute=3)
        runtime = Runtime.from_settings(settings, clock=clock)
        client = TestClient(create_app(runtime))
        try:
            admin = Admin(Harness(runtime, clock, tmp_path), client)
            for _ in range(2):
                assert admin.sign_in("tdg_wrong").status_code == 401
            # A request to the API without a valid key spends from the same budget.
            assert client.get("/api/v1/notifications/logs").status_code == 401

            response = admin.sign_in("tdg_wrong")

            assert response.status_code == 429
            assert int(response.headers["Retry-After"]) >= 1
            assert "Too many sign-in attempts" in response.text
            assert client.get("/api/v1/notifications/logs").status_code == 429
        finally:
            client.close()
            runtime.close()
