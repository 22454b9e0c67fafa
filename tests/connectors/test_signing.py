"""HMAC-SHA256 signatures over "timestamp.body" and their verification."""

import hashlib
import hmac
import time

import pytest

from connectors.signing import SignatureError, signature_compute, signature_headers, signature_verify


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"id":"e1"}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature_compute(secret="k", timestamp=1700000000, body=body) == f"sha256={expected}"


def test_headers_verify():
    body = b'{"a":1}'
    headers = signature_headers(secret="k", body=body)
    signature_verify(
        secret="k", timestamp=headers["X-Hub-Timestamp"], signature=headers["X-Hub-Signature"], body=body
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"body": b'{"a":2}'}, "does not match"),
        ({"secret": "other"}, "does not match"),
        ({"timestamp": None}, "required"),
        ({"signature": ""}, "required"),
        ({"timestamp": "yesterday"}, "Unix seconds"),
    ],
)
def test_tampering_is_refused(change, message):
    body = b'{"a":1}'
    headers = signature_headers(secret="k", body=body)
    arguments = {"secret": "k", "timestamp": headers["X-Hub-Timestamp"], "signature": headers["X-Hub-Signature"],
                 "body": body, **change}
    with pytest.raises(SignatureError, match=message):
        signature_verify(**arguments)


def test_stale_timestamp_is_refused_even_with_a_valid_signature():
    body = b"{}"
    old = int(time.time()) - 600
    signature = signature_compute(secret="k", timestamp=old, body=body)
    with pytest.raises(SignatureError, match="600 s away|60[0-9] s away"):
        signature_verify(secret="k", timestamp=str(old), signature=signature, body=body, tolerance_seconds=300)
    signature_verify(secret="k", timestamp=str(old), signature=signature, body=body, tolerance_seconds=900)
