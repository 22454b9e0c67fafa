"""HMAC-SHA256 signatures over a timestamp and the body, for outbound deliveries and inbound webhooks.

The signed string is ``f"{timestamp}.{body}"`` (timestamp in Unix seconds, body as sent),
so a receiver can refuse stale timestamps and a replayed body cannot carry a new time.
A receiver verifies in a few lines::

    expected = "sha256=" + hmac.new(secret, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, headers["X-Hub-Signature"]) and abs(time.time() - int(ts)) < 300
"""

from __future__ import annotations

import hashlib
import hmac
import time

EVENT_ID_HEADER = "X-Hub-Event-Id"
EVENT_TYPE_HEADER = "X-Hub-Event-Type"
TIMESTAMP_HEADER = "X-Hub-Timestamp"
SIGNATURE_HEADER = "X-Hub-Signature"
CORRELATION_HEADER = "X-Correlation-ID"
SCHEME = "sha256="


class SignatureError(ValueError):
    """A signature that is missing, malformed, wrong, or outside the allowed clock skew."""


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def signature_compute(*, secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return SCHEME + hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()


def signature_headers(*, secret: str | bytes, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signature_compute(secret=secret, timestamp=stamp, body=body)}


def signature_verify(
    *,
    secret: str | bytes,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> None:
    """Return quietly when ``signature`` is ours for this body and time; raise SignatureError otherwise."""
    if not timestamp or not signature:
        raise SignatureError(f"The {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required.")
    try:
        stamp = int(timestamp)
    except ValueError as exc:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds, not '{timestamp[:40]}'.") from exc
    skew = abs((time.time() if now is None else now) - stamp)
    if skew > tolerance_seconds:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {int(skew)} s away from now; at most {tolerance_seconds} s is accepted."
        )
    expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body and timestamp.")
