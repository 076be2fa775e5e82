"""The FastAPI dependency that authenticates, rate-limits and authorises each API request."""

import time
from collections.abc import Awaitable, Callable
from threading import Lock

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from tidings.auth.permissions import PERMISSION_LABELS, Permission
from tidings.auth.service import Principal, authenticate, hash_secret
from tidings.kit.errors import forbidden, unauthorized
from tidings.runtime import Runtime, runtime_of

# A verified key is trusted for this long before the database is asked again, so a
# revocation takes effect within this many seconds on every process.
AUTH_CACHE_SECONDS = 5.0


class AuthenticationCache:
    """Recently verified keys, by secret hash; unknown secrets are never cached."""

    def __init__(self, ttl_seconds: float = AUTH_CACHE_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = Lock()

    def get(self, secret_hash: str) -> Principal | None:
        """The cached principal, if verified less than the time-to-live ago."""
        with self._lock:
            entry = self._entries.get(secret_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, secret_hash: str, principal: Principal) -> None:
        """Remember a verified principal."""
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[secret_hash] = (time.monotonic() + self._ttl, principal)


def bearer_secret(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _lookup(runtime: Runtime, secret: str) -> Principal | None:
    with runtime.sessions() as session:
        return authenticate(session, secret, runtime.clock())


async def _principal_of(request: Request, secret: str) -> Principal | None:
    cache: AuthenticationCache = request.app.state.auth_cache
    secret_hash = hash_secret(secret)
    principal = cache.get(secret_hash)
    if principal is not None and principal.expired(runtime_of(request).clock()):
        return None  # a cached key stops working the moment it expires
    if principal is None:
        principal = await run_in_threadpool(_lookup, runtime_of(request), secret)
        if principal is not None:
            cache.put(secret_hash, principal)
    return principal


async def authorize(request: Request, permission: Permission) -> Principal:
    """The caller's principal, once it is known, within budget and allowed; else the error."""
    secret = bearer_secret(request.headers.get("authorization"))
    principal = None if secret is None else await _principal_of(request, secret)
    client = f"key:{principal.key_id}" if principal else f"ip:{_client_address(request)}"
    await runtime_of(request).rate_limiter.spend(client)
    if secret is None:
        raise unauthorized("Send an API key as 'Authorization: Bearer <key>'")
    if principal is None:
        raise unauthorized("The API key is unknown, revoked or expired")
    if permission not in principal.permissions:
        label = PERMISSION_LABELS[permission]
        raise forbidden(f"API key is missing the {label} permission ({permission.value})")
    return principal


def require_permission(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """`authorize` as a FastAPI dependency."""

    async def dependency(request: Request) -> Principal:
        return await authorize(request, permission)

    return dependency


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
