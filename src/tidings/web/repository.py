"""All SQL about admin sessions."""

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, delete, insert, or_, select

from tidings.auth.models import ApiKey
from tidings.web.models import WebSession

web_sessions = cast(Table, WebSession.__table__)
api_keys = cast(Table, ApiKey.__table__)


@dataclass(frozen=True)
class SessionRow:
    """A stored session that has not expired, with the key that signed in."""

    id: int
    key_id: int
    key_name: str
    key_permissions: tuple[str, ...]
    csrf_token: str
    expires_at: datetime


def insert_session(
    connection: Connection,
    token_hash: str,
    key_id: int,
    csrf_token: str,
    created_at: datetime,
    expires_at: datetime,
) -> int:
    """Store a new session; returns its id."""
    statement = (
        insert(web_sessions)
        .values(
            token_hash=token_hash,
            key_id=key_id,
            csrf_token=csrf_token,
            created_at=created_at,
            expires_at=expires_at,
        )
        .returning(web_sessions.c.id)
    )
    return int(connection.execute(statement).scalar_one())


def live_session(connection: Connection, token_hash: str, now: datetime) -> SessionRow | None:
    """The session with this token hash, unless it or its key expired or the key was revoked."""
    statement = (
        select(
            web_sessions.c.id,
            web_sessions.c.key_id,
            api_keys.c.name,
            api_keys.c.permissions,
            web_sessions.c.csrf_token,
            web_sessions.c.expires_at,
        )
        .join(api_keys, api_keys.c.id == web_sessions.c.key_id)
        .where(
            web_sessions.c.token_hash == token_hash,
            web_sessions.c.expires_at > now,
            api_keys.c.revoked_at.is_(None),
            or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
        )
    )
    row = connection.execute(statement).first()
    if row is None:
        return None
    return SessionRow(
        id=int(row.id),
        key_id=int(row.key_id),
        key_name=row.name,
        key_permissions=tuple(row.permissions),
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


def delete_session(connection: Connection, token_hash: str) -> None:
    """Forget the session with this token hash (if there is one)."""
    connection.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))


def delete_expired(connection: Connection, now: datetime) -> None:
    """Forget every session that expired by `now`."""
    connection.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
