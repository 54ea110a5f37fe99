"""Signatures: the gateway's signer against the verifier printed in docs/api-reference.md."""

from __future__ import annotations

import re
import time

from hypothesis import given
from hypothesis import strategies as st

from tests.webhook_receiver import doc_python_verifier
from waqtor.webhooks.signer import new_secret, sign

verify = doc_python_verifier()
SECRET = "whsec_test-secret-0123456789"


def headers(timestamp: int, signature: str) -> dict[str, str]:
    return {"X-Waqtor-Timestamp": str(timestamp), "X-Waqtor-Signature": signature}


def test_the_signature_is_sha256_and_64_hex_digits() -> None:
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", sign(SECRET, 1_700_000_000, b"{}"))


@given(body=st.binary(max_size=2048))
def test_the_documented_verifier_accepts_what_the_gateway_signs(body: bytes) -> None:
    now = int(time.time())
    assert verify(SECRET, headers(now, sign(SECRET, now, body)), body)


def test_the_documented_verifier_refuses_another_secret_body_or_timestamp() -> None:
    now = int(time.time())
    body = b'{"event":"message"}'
    signature = sign(SECRET, now, body)
    assert not verify("whsec_someone-else-0000000", headers(now, signature), body)
    assert not verify(SECRET, headers(now, signature), body + b" ")
    assert not verify(SECRET, headers(now + 1, signature), body)


def test_the_documented_verifier_refuses_a_replay_older_than_five_minutes() -> None:
    then = int(time.time()) - 301
    body = b"{}"
    assert not verify(SECRET, headers(then, sign(SECRET, then, body)), body)


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    assert sign(SECRET, 1, b"x") != sign(SECRET, 2, b"x")


def test_generated_secrets_are_long_and_distinct() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(s.startswith("whsec_") and len(s) >= 40 for s in secrets)
