"""All SQL about API keys."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidings.auth.models import ApiKey


def add_key(session: Session, key: ApiKey) -> ApiKey:
    """Store a new key and assign its id."""
    session.add(key)
    session.flush()
    return key


def find_by_hash(session: Session, secret_hash: str) -> ApiKey | None:
    """The key whose secret hashes to `secret_hash`, revoked or not."""
    return session.scalars(select(ApiKey).where(ApiKey.secret_hash == secret_hash)).first()


def list_keys(session: Session) -> Sequence[ApiKey]:
    """Every key, oldest first."""
    return session.scalars(select(ApiKey).order_by(ApiKey.id)).all()


def find_by_id(session: Session, key_id: int) -> ApiKey | None:
    """The key with `key_id`, if any."""
    return session.get(ApiKey, key_id)


def mark_revoked(key: ApiKey, when: datetime) -> None:
    """Revoke `key` from `when` on."""
    key.revoked_at = when
