"""Signing in to the admin page with an API key, the session cookie, and CSRF tokens.

The cookie holds a random secret; the store keeps only its SHA-256 (as for API keys), with
the key that signed in, a CSRF token and an expiry. Every page looks the session up again,
joined to its key, so a revoked or expired key ends its sessions on the next request.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from tidings.auth.permissions import Permission
from tidings.auth.service import authenticate, hash_secret
from tidings.web import repository

SESSION_COOKIE = "tidings_admin"
SIGN_IN_COOKIE = "tidings_sign_in"
ADMIN_PATH = "/admin"
SIGN_IN_PATH = "/admin/sign-in"
HOME_PATH = "/admin/notifications"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# A session outlives neither this nor its key.
SESSION_LIFETIME = timedelta(hours=12)
# How long a sign-in form stays usable after it was shown.
SIGN_IN_FORM_SECONDS = 3600
REQUIRED_PERMISSION = Permission.VIEW_NOTIFICATION_LOGS


@dataclass(frozen=True)
class AdminSession:
    """A live session: the key that signed in and the token its forms must carry."""

    id: int
    key_id: int
    key_name: str
    csrf_token: str
    expires_at: datetime


class SignInRefusal(StrEnum):
    """Why a sign-in made no session."""

    UNKNOWN_KEY = "UNKNOWN_KEY"  # unknown, revoked or expired
    MISSING_PERMISSION = "MISSING_PERMISSION"


@dataclass(frozen=True)
class SignedIn:
    """A new session and the cookie's secret, which exists only here and in the cookie."""

    token: str
    session: AdminSession


def new_token() -> str:
    """A random secret of 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Whether a token sent back equals the one handed out, compared in constant time."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def sign_in(
    sessions: sessionmaker[Session], secret: str, now: datetime
) -> SignedIn | SignInRefusal:
    """A new session for the key with `secret`, or why there is none."""
    with sessions.begin() as session:
        principal = authenticate(session, secret.strip(), now)
        if principal is None:
            return SignInRefusal.UNKNOWN_KEY
        if REQUIRED_PERMISSION not in principal.permissions:
            return SignInRefusal.MISSING_PERMISSION
        expires_at = now + SESSION_LIFETIME
        if principal.expires_at is not None:
            expires_at = min(expires_at, principal.expires_at)
        token, csrf_token = new_token(), new_token()
        connection = session.connection()
        # Sessions are few and short-lived: sweeping here keeps the table small without a job.
        repository.delete_expired(connection, now)
        session_id = repository.insert_session(
            connection, hash_secret(token), principal.key_id, csrf_token, now, expires_at
        )
    return SignedIn(
        token=token,
        session=AdminSession(session_id, principal.key_id, principal.name, csrf_token, expires_at),
    )


def session_of(connection: Connection, token: str, now: datetime) -> AdminSession | None:
    """The live session a cookie's secret stands for, if its key may still view the logs."""
    row = repository.live_session(connection, hash_secret(token), now)
    if row is None or REQUIRED_PERMISSION.value not in row.key_permissions:
        return None
    return AdminSession(row.id, row.key_id, row.key_name, row.csrf_token, row.expires_at)


def sign_out(connection: Connection, token: str) -> None:
    """End the session a cookie's secret stands for."""
    repository.delete_session(connection, hash_secret(token))


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a path of the admin page, never another site."""
    if not raw or "\\" in raw or raw.startswith("//"):
        return HOME_PATH
    if any(ord(character) < 33 or ord(character) == 127 for character in raw):
        return HOME_PATH
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or ".." in parts.path.split("/"):
        return HOME_PATH
    if parts.path != ADMIN_PATH and not parts.path.startswith(ADMIN_PATH + "/"):
        return HOME_PATH
    if parts.path.startswith(SIGN_IN_PATH):
        return HOME_PATH
    return raw


def is_https(request: Request) -> bool:
    """Whether the browser reached us over TLS (Secure cookies only then)."""
    return request.url.scheme == "https"


def set_session_cookie(
    response: Response, request: Request, signed_in: SignedIn, now: datetime
) -> None:
    """Hand the session's secret to the browser, for the admin page's paths only."""
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        max_age=max(1, int((signed_in.session.expires_at - now).total_seconds())),
        path=ADMIN_PATH,
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Tell the browser to drop the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path=ADMIN_PATH, secure=is_https(request), httponly=True, samesite="strict"
    )


def set_sign_in_cookie(response: Response, request: Request, token: str) -> None:
    """The sign-in form's CSRF token, which the form's POST must repeat (double submit)."""
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=SIGN_IN_FORM_SECONDS,
        path=SIGN_IN_PATH,
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )


def clear_sign_in_cookie(response: Response, request: Request) -> None:
    """Tell the browser to drop the sign-in form's cookie."""
    response.delete_cookie(
        SIGN_IN_COOKIE,
        path=SIGN_IN_PATH,
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )
