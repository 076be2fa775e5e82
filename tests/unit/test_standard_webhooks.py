"""Standard Webhooks signatures: what a sender signs, and what a receiver accepts."""

import base64
import hashlib
import hmac

import pytest

from tidings.kit.standard_webhooks import (
    SignatureError,
    Signer,
    generate_secret,
    secret_key,
    sign,
    signature_headers,
    verify,
)

# The example of the specification (github.com/standard-webhooks, spec/standard-webhooks.md).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
PUBLISHED_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(signature: str, timestamp: int = TIMESTAMP) -> dict[str, str]:
    return {
        "webhook-id": MESSAGE_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


class TestSign:
    def test_signature_is_base64_hmac_sha256_of_id_timestamp_and_body(self) -> None:
        key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        signed = b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330." + BODY
        by_hand = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()

        assert sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == f"v1,{by_hand}"

    def test_signature_matches_the_specifications_example(self) -> None:
        assert sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == PUBLISHED_SIGNATURE

    def test_a_signer_signs_each_message_as_if_it_were_its_first(self) -> None:
        signer = Signer(SECRET)

        signer.sign("msg_earlier", TIMESTAMP - 60, b'{"earlier": true}')

        assert signer.sign(MESSAGE_ID, TIMESTAMP, BODY) == PUBLISHED_SIGNATURE

    def test_secret_works_without_its_prefix(self) -> None:
        bare = SECRET.removeprefix("whsec_")

        assert sign(bare, MESSAGE_ID, TIMESTAMP, BODY) == PUBLISHED_SIGNATURE

    def test_generated_secrets_are_prefixed_base64_of_32_random_bytes(self) -> None:
        first, second = generate_secret(), generate_secret()

        assert first.startswith("whsec_")
        assert len(secret_key(first)) == 32
        assert first != second

    @pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_"])
    def test_malformed_secret_is_refused(self, secret: str) -> None:
        with pytest.raises(ValueError, match="secret"):
            sign(secret, MESSAGE_ID, TIMESTAMP, BODY)


class TestVerify:
    def test_round_trip_with_a_generated_secret(self) -> None:
        secret = generate_secret()
        headers = signature_headers(secret, "msg_1", 1_700_000_000, b'{"a": 1}')

        verify(secret, headers, b'{"a": 1}', now=1_700_000_000)

    def test_the_specifications_example_verifies(self) -> None:
        verify(SECRET, _headers(PUBLISHED_SIGNATURE), BODY, now=TIMESTAMP)

    def test_header_names_are_case_insensitive(self) -> None:
        headers = {name.title(): value for name, value in _headers(PUBLISHED_SIGNATURE).items()}

        verify(SECRET, headers, BODY, now=TIMESTAMP)

    def test_tampered_body_is_refused(self) -> None:
        with pytest.raises(SignatureError, match="no webhook-signature matches"):
            verify(SECRET, _headers(PUBLISHED_SIGNATURE), b'{"test": 2432232315}', now=TIMESTAMP)

    def test_another_secret_is_refused(self) -> None:
        with pytest.raises(SignatureError, match="no webhook-signature matches"):
            verify(generate_secret(), _headers(PUBLISHED_SIGNATURE), BODY, now=TIMESTAMP)

    @pytest.mark.parametrize(
        ("now", "message"),
        [
            pytest.param(TIMESTAMP + 301, "301 s old, more than the 300 s allowed", id="too-old"),
            pytest.param(TIMESTAMP - 301, "301 s in the future", id="too-new"),
        ],
    )
    def test_timestamp_outside_the_tolerance_is_refused(self, now: int, message: str) -> None:
        with pytest.raises(SignatureError, match=message):
            verify(SECRET, _headers(PUBLISHED_SIGNATURE), BODY, now=now)

    @pytest.mark.parametrize("now", [TIMESTAMP + 300, TIMESTAMP - 300])
    def test_timestamp_at_the_edge_of_the_tolerance_is_accepted(self, now: int) -> None:
        verify(SECRET, _headers(PUBLISHED_SIGNATURE), BODY, now=now)

    def test_tolerance_can_be_narrowed(self) -> None:
        with pytest.raises(SignatureError, match="more than the 5 s allowed"):
            verify(SECRET, _headers(PUBLISHED_SIGNATURE), BODY, now=TIMESTAMP + 6, tolerance_s=5)

    @pytest.mark.parametrize(
        "signatures",
        [
            pytest.param(f"v1,bm90IHRoaXMgb25l {PUBLISHED_SIGNATURE}", id="valid-last"),
            pytest.param(f"{PUBLISHED_SIGNATURE} v1,bm90IHRoaXMgb25l", id="valid-first"),
            pytest.param(f"v2,whatever {PUBLISHED_SIGNATURE}", id="unknown-version-skipped"),
        ],
    )
    def test_any_one_valid_signature_among_several_is_enough(self, signatures: str) -> None:
        verify(SECRET, _headers(signatures), BODY, now=TIMESTAMP)

    def test_several_signatures_none_valid_is_refused(self) -> None:
        signatures = "v1,bm90IHRoaXMgb25l v1,bm9yIHRoaXMgb25l"

        with pytest.raises(SignatureError, match="no webhook-signature matches"):
            verify(SECRET, _headers(signatures), BODY, now=TIMESTAMP)

    def test_only_other_versions_is_refused_as_such(self) -> None:
        signature = PUBLISHED_SIGNATURE.replace("v1,", "v1a,")

        with pytest.raises(SignatureError, match="holds no v1 signature"):
            verify(SECRET, _headers(signature), BODY, now=TIMESTAMP)

    @pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
    def test_missing_header_is_named(self, missing: str) -> None:
        headers = _headers(PUBLISHED_SIGNATURE)
        del headers[missing]

        with pytest.raises(SignatureError, match=f"the {missing} header is missing"):
            verify(SECRET, headers, BODY, now=TIMESTAMP)

    def test_timestamp_that_is_not_a_number_is_refused(self) -> None:
        headers = _headers(PUBLISHED_SIGNATURE) | {"webhook-timestamp": "yesterday"}

        with pytest.raises(SignatureError, match="not an integer"):
            verify(SECRET, headers, BODY, now=TIMESTAMP)

    def test_signature_error_is_a_value_error(self) -> None:
        assert issubclass(SignatureError, ValueError)
