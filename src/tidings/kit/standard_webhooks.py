"""Standard Webhooks signatures (https://www.standardwebhooks.com): sign, verify, make secrets.

A delivery carries three headers: `webhook-id` (unique per message, the same on every retry),
`webhook-timestamp` (integer seconds since the epoch) and `webhook-signature`, a space-separated
list of `v1,<base64 HMAC-SHA256>` signatures of `{id}.{timestamp}.{body}`. Several signatures
let a sender rotate its secret without a window where receivers reject its messages.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300
# The specification asks for keys of 24 to 64 bytes; 32 matches SHA-256's block of output.
GENERATED_KEY_BYTES = 32

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


class SignatureError(ValueError):
    """A delivery whose signature headers are missing, malformed, stale or do not match."""


def generate_secret() -> str:
    """A new random signing secret, `whsec_` and the base64 of its key bytes."""
    key = secrets.token_bytes(GENERATED_KEY_BYTES)
    return SECRET_PREFIX + base64.b64encode(key).decode()


def secret_key(secret: str) -> bytes:
    """The key bytes of a secret, written with or without its `whsec_` prefix."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a signing secret is 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("the signing secret is empty")
    return key


class Signer:
    """Signs messages under one secret, its key decoded and its HMAC keyed once.

    A sender signs thousands of messages a second with the same secret: decoding the secret
    and setting up the HMAC's key for each cost more than the hash itself. Copying a keyed
    HMAC also keeps the GIL, where the one-shot `hmac.digest` lets go of it for every message
    and has the sending thread queue up behind whichever thread took it meanwhile.
    """

    def __init__(self, secret: str) -> None:
        self._keyed = _keyed(secret)

    def sign(self, message_id: str, timestamp: int, body: bytes) -> str:
        """The `webhook-signature` header value for one message: `v1,<base64 signature>`."""
        return f"{SIGNATURE_VERSION},{_signature(self._keyed, message_id, timestamp, body)}"


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message: `v1,<base64 signature>`."""
    return Signer(secret).sign(message_id, timestamp, body)


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers a sender adds to one delivery."""
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, message_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Return when one of the delivery's signatures is valid and recent; raise SignatureError."""
    message_id = _header(headers, ID_HEADER)
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    signatures = _header(headers, SIGNATURE_HEADER)
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not an integer: {raw_timestamp!r}") from None
    if now - timestamp > tolerance_s:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {now - timestamp} s old, more than the {tolerance_s} s allowed"
        )
    if timestamp - now > tolerance_s:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {timestamp - now} s in the future, "
            f"more than the {tolerance_s} s allowed"
        )
    expected = _signature(_keyed(secret), message_id, timestamp, body).encode()
    offered = [part.partition(",") for part in signatures.split()]
    for version, _, signature in offered:
        # compare_digest: the time taken must not tell an attacker how much of a guess matched.
        if version == SIGNATURE_VERSION and hmac.compare_digest(signature.encode(), expected):
            return
    if not any(version == SIGNATURE_VERSION for version, _, _ in offered):
        raise SignatureError(f"{SIGNATURE_HEADER} holds no {SIGNATURE_VERSION} signature")
    raise SignatureError(f"no {SIGNATURE_HEADER} matches the body signed with the secret")


def _keyed(secret: str) -> hmac.HMAC:
    return hmac.new(secret_key(secret), digestmod=hashlib.sha256)


def _signature(keyed: hmac.HMAC, message_id: str, timestamp: int, body: bytes) -> str:
    mac = keyed.copy()
    mac.update(f"{message_id}.{timestamp}.".encode() + body)
    return base64.b64encode(mac.digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        # HTTP header names are case-insensitive; a plain dict may keep the sender's spelling.
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    if value is None or not value.strip():
        raise SignatureError(f"the {name} header is missing")
    return value.strip()
