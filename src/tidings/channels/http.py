"""What the mediums that POST JSON over HTTP share: one aiohttp session per medium, a guard
against private targets, and one reading of what an HTTP answer means.

aiohttp rather than httpx: posting small bodies to a local receiver on two cores, aiohttp's
client reached about twenty times httpx's async client's rate.
"""

import ipaddress
import math
import socket
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from time import time
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from aiohttp.tracing import Trace

from tidings.channels.base import Attempt, PerLoop
from tidings.enums import FailedReason

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Statuses worth another try besides every 5xx (the receiver is overloaded or restarting, or
# a proxy in front of it answers 520-524): the request timed out, or came too early.
TRANSIENT = frozenset({408, 425})
DEFAULT_RETRY_AFTER_S = 30.0
# A longer wait is a broken provider's (and a far-future retry time overflows a datetime).
MAX_RETRY_AFTER_S = 86_400.0
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-ms-request-id", "x-amzn-requestid")


class TargetRefused(OSError):
    """The target resolves only to addresses tidings may not reach."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """`127.0.0.0/8, ::1/128` as networks; raises ValueError naming a bad one."""
    networks = []
    for part in (item.strip() for item in text.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"'{part}' is not a network such as 127.0.0.0/8") from None
    return tuple(networks)


def is_public(address: str, allowed: Sequence[Network]) -> bool:
    """Whether tidings may connect to `address`: a public one, or one the allow-list names."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in network for network in allowed):
        return True
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class GuardedResolver(AbstractResolver):
    """Resolves as usual, then keeps only addresses tidings may reach.

    Checking at connection time (not on the URL's text) means the address checked is the
    address connected to, so a name that resolves differently a second later gains nothing.
    """

    def __init__(self, allowed: Sequence[Network]) -> None:
        self._allowed = tuple(allowed)
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The host's addresses that are public or allowed; TargetRefused when none is."""
        found = await self._resolver.resolve(host, port, family)
        return _reachable(host, found, self._allowed)

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._resolver.close()


class GuardedConnector(aiohttp.TCPConnector):
    """A connector whose targets all pass the guard: aiohttp hands only names to its
    resolver, so an address written in the URL (http://169.254.169.254/) is checked here."""

    def __init__(self, allowed: Sequence[Network], **options: Any) -> None:
        super().__init__(resolver=GuardedResolver(allowed), **options)
        self._allowed = tuple(allowed)

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        found = await super()._resolve_host(host, port, traces)
        return _reachable(host, found, self._allowed)


def _reachable(
    host: str, found: list[ResolveResult], allowed: Sequence[Network]
) -> list[ResolveResult]:
    kept = [item for item in found if is_public(item["host"], allowed)]
    if not kept:
        raise TargetRefused(
            f"{host} resolves to a private, loopback or link-local address, which "
            "TIDINGS_WEBHOOK_ALLOWED_NETWORKS does not allow"
        )
    return kept


def new_session(
    allowed: Sequence[Network] | None, timeout_s: float, concurrency: int
) -> aiohttp.ClientSession:
    """A client session whose connections go only where the guard allows (anywhere when
    `allowed` is None: for a provider the operator configured, such as the Slack API)."""
    connector = (
        aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=60)
        if allowed is None
        else GuardedConnector(allowed, limit=concurrency, ttl_dns_cache=60)
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        headers={"User-Agent": "tidings"},
    )


def retry_after_seconds(value: str | None) -> float:
    """A Retry-After header (seconds or an HTTP date) in seconds."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    try:
        return _bounded(float(value))
    except ValueError:
        pass
    try:
        return _bounded(parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S


def _bounded(seconds: float) -> float:
    if not math.isfinite(seconds):  # float() reads "inf" and "nan" too
        return DEFAULT_RETRY_AFTER_S
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def _status_words(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def judge_answer(status: int, headers: Any, text: str, receiver: str) -> Attempt:
    """What an HTTP answer means: delivered, rate-limited, worth a retry, or refused."""
    request_id = next((headers[name] for name in REQUEST_ID_HEADERS if name in headers), None)
    if 200 <= status < 300:
        return Attempt.delivered(status, request_id, text)
    said = f"the {receiver} answered {_status_words(status)}"
    if status == 429:
        wait = retry_after_seconds(headers.get("Retry-After"))
        return Attempt.rate_limited(
            wait, f"{said}; retrying after {wait:g} s", 429, request_id, text
        )
    if status in TRANSIENT or status >= 500:
        return Attempt.retry(said, status, request_id, text)
    return Attempt.failed(FailedReason.CLIENT_ERROR, said, status, request_id, text)


class SessionHolder:
    """One client session per event loop (an aiohttp session belongs to the loop it was made
    in, and a command may run several loops one after another)."""

    def __init__(
        self, allowed: Sequence[Network] | None, timeout_s: float, concurrency: int
    ) -> None:
        guard = None if allowed is None else tuple(allowed)
        self._sessions = PerLoop(lambda: new_session(guard, timeout_s, concurrency))

    def session(self) -> aiohttp.ClientSession:
        """The session of the running loop, made on first use (again once closed)."""
        session = self._sessions.get()
        if session.closed:
            self._sessions.take_own()
            session = self._sessions.get()
        return session

    async def close(self) -> None:
        """Close the session, if it belongs to the running loop."""
        session = self._sessions.take_own()
        if session is not None:
            await session.close()


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    receiver: str,
) -> Attempt:
    """POST a JSON body and judge the answer; transport failures are worth a retry, a
    refused target is not."""
    try:
        async with session.post(
            url, data=body, headers={"Content-Type": "application/json", **headers}
        ) as response:
            text = await response.text(errors="replace")
            return judge_answer(response.status, response.headers, text, receiver)
    except TargetRefused as error:
        return Attempt.failed(FailedReason.CLIENT_ERROR, str(error))
    except aiohttp.ClientConnectorError as error:
        if isinstance(error.os_error, TargetRefused):
            return Attempt.failed(FailedReason.CLIENT_ERROR, str(error.os_error))
        return Attempt.retry(f"could not connect to the {receiver}: {error.os_error}")
    except TimeoutError:
        return Attempt.retry(f"the {receiver} did not answer in time")
    except aiohttp.ClientError as error:
        return Attempt.retry(f"the connection to the {receiver} failed: {type(error).__name__}")
