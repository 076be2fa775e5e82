"""Creating, listing, revoking and checking API keys."""

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tidings.auth import repository
from tidings.auth.models import ApiKey
from tidings.auth.permissions import Permission

SECRET_PREFIX = "tdg_"
SHOWN_PREFIX_LENGTH = 12


class KeyNotFoundError(LookupError):
    """No API key has the given id."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: an authenticated API key and what it may do."""

    key_id: int
    name: str
    permissions: frozenset[Permission]
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the key has expired by `now`."""
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class CreatedKey:
    """A new key with its secret, which exists only in this object and is never stored."""

    key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    """The stored form of a secret.

    Secrets are 256 random bits, so a fast hash cannot be brute-forced, and a slow one
    (bcrypt, argon2) would add tens of milliseconds to every API request.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    name: str,
    permissions: Iterable[Permission],
    now: datetime,
    expires_at: datetime | None = None,
) -> CreatedKey:
    """Create a key; the returned secret is the only copy there will ever be."""
    name = name.strip()
    if not name:
        raise ValueError("a key needs a non-blank name")
    if expires_at is not None and expires_at <= now:
        raise ValueError("the expiry must be in the future")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        secret_hash=hash_secret(secret),
        permissions=sorted({permission.value for permission in permissions}),
        created_at=now,
        expires_at=expires_at,
    )
    return CreatedKey(key=repository.add_key(session, key), secret=secret)


def list_keys(session: Session) -> Sequence[ApiKey]:
    """Every key, oldest first, without secrets."""
    return repository.list_keys(session)


def revoke_key(session: Session, key_id: int, now: datetime) -> ApiKey:
    """Revoke a key at once; revoking a revoked key keeps its first revocation time."""
    key = repository.find_by_id(session, key_id)
    if key is None:
        raise KeyNotFoundError(f"no API key has id {key_id}")
    if key.revoked_at is None:
        repository.mark_revoked(key, now)
    return key


def authenticate(session: Session, secret: str, now: datetime) -> Principal | None:
    """The principal a bearer secret stands for, or None if it is unknown, revoked or expired."""
    key = repository.find_by_hash(session, hash_secret(secret))
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= now:
        return None
    known = {permission.value for permission in Permission}
    return Principal(
        key_id=key.id,
        name=key.name,
        permissions=frozenset(Permission(p) for p in key.permissions if p in known),
        expires_at=key.expires_at,
    )
