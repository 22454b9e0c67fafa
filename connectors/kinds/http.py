"""What the HTTP kinds (webhook, REST) share: pooled clients, auth, signing, bodies and outcome classes."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from connectors.kinds.base import (
    AUTHENTICATION,
    MAPPING,
    DeliveryRequest,
    TestResult,
    Transport,
    TransportError,
    TransportResult,
)
from connectors.secrets import SecretError, secret_resolve
from connectors.signing import CORRELATION_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, signature_headers

USER_AGENT = "distribution-hub/1 (+outbound delivery)"
EXCERPT_CHARS = 500
# A partner's Retry-After is honoured up to a day; beyond that it is more likely a bug than a plan.
RETRY_AFTER_LIMIT_SECONDS = 86_400.0
RETRYABLE_STATUSES = frozenset({408, 429})

_clients: dict[tuple[int, int], tuple[Any, httpx.Client]] = {}
_clients_lock = threading.Lock()


def http_client(connector) -> httpx.Client:
    """The connection pool of this connector in this process, renewed when the connector is edited.

    Keyed by process id too: a pool inherited across fork() would share sockets with the parent.
    """
    key = (os.getpid(), connector.pk)
    with _clients_lock:
        entry = _clients.get(key)
        if entry is not None and entry[0] == connector.updated_at:
            return entry[1]
        client = httpx.Client(
            timeout=httpx.Timeout(connector.timeout_seconds),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"User-Agent": USER_AGENT},
        )
        # The replaced pool may still be serving another thread's request; it closes when collected.
        _clients[key] = (connector.updated_at, client)
        return client


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delta-seconds or an HTTP-date; None when unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or timezone.now())).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_LIMIT_SECONDS)


def join_url(base: str, path: str) -> str:
    if not path:
        return base
    return base.rstrip("/") + "/" + path.lstrip("/")


def json_body(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode()


def event_envelope(event, data: Any) -> dict:
    """The canonical envelope receivers see; ``id`` is what they de-duplicate by."""
    return {
        "id": str(event.event_id),
        "type": event.event_type,
        "schema_version": event.schema_version,
        "aggregate": {"type": event.aggregate_type, "id": event.aggregate_id, "sequence": event.sequence},
        "occurred_at": event.occurred_at.isoformat(),
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "data": data,
    }


def mapped_payload(request: DeliveryRequest) -> dict:
    """The event payload in the partner's shape, through the subscription's mapping."""
    from connectors.mapping import MappingError, MappingSpecError, apply_mapping

    try:
        return apply_mapping(request.subscription.mapping, request.event.payload)
    except (MappingError, MappingSpecError) as exc:
        raise TransportError(str(exc), permanent=True, category=MAPPING) from exc


def _secret(ref: str, what: str) -> str:
    try:
        return secret_resolve(ref)
    except SecretError as exc:
        raise TransportError(f"{what}: {exc}", permanent=True, category=AUTHENTICATION) from exc


def auth_headers(connector) -> dict[str, str]:
    auth = connector.auth_type
    if auth == "bearer":
        return {"Authorization": "Bearer " + _secret(connector.secret_ref, "Bearer token")}
    if auth == "basic":
        pair = f"{connector.auth_username}:{_secret(connector.secret_ref, 'Basic auth password')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    if auth == "api_key_header":
        return {connector.auth_header_name or "X-API-Key": _secret(connector.secret_ref, "API key")}
    if auth == "hmac" and not connector.signing_secret_ref:
        raise TransportError(
            "The connector signs with HMAC but has no signing secret.", permanent=True, category=AUTHENTICATION
        )
    return {}


class HttpTransport(Transport):
    """Base of the kinds that speak HTTP: one signed, authenticated JSON call, classified."""

    def headers_for(self, body: bytes, *, event=None, correlation_id: str = "") -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if event is not None:
            headers[EVENT_ID_HEADER] = str(event.event_id)
            headers[EVENT_TYPE_HEADER] = event.event_type
        if correlation_id:
            headers[CORRELATION_HEADER] = correlation_id
        headers.update(auth_headers(self.connector))
        if self.connector.signing_secret_ref:
            headers.update(signature_headers(secret=_secret(self.connector.signing_secret_ref, "Signing secret"), body=body))
        return headers

    def call(self, method: str, url: str, *, body: bytes, headers: dict[str, str]) -> TransportResult:
        """Make the call; a 2xx is a result, anything else a TransportError that says if retrying helps."""
        timeout = self.connector.timeout_seconds
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            response = http_client(self.connector).request(method, url, content=body or None, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransportError(
                f"No answer within {timeout:g} s ({type(exc).__name__}).",
                permanent=False, timed_out=True, duration_ms=elapsed(),
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise TransportError(f"Cannot call '{url}': {exc}", permanent=True, duration_ms=elapsed()) from exc
        except httpx.TransportError as exc:
            raise TransportError(
                f"Connection failed ({type(exc).__name__}: {exc}).", permanent=False, duration_ms=elapsed()
            ) from exc
        duration = elapsed()
        excerpt = response.text[:EXCERPT_CHARS]
        status = response.status_code
        if 200 <= status < 300:
            return TransportResult(status_code=status, duration_ms=duration, response_excerpt=excerpt)
        retryable = status in RETRYABLE_STATUSES or status >= 500
        raise TransportError(
            f"HTTP {status} {response.reason_phrase}".strip(),
            permanent=not retryable,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")) if retryable else None,
            status_code=status,
            duration_ms=duration,
            response_excerpt=excerpt,
        )

    def probe(self, method: str, url: str, *, body: bytes = b"") -> TestResult:
        try:
            headers = self.headers_for(body)
            result = self.call(method, url, body=body, headers=headers)
        except TransportError as exc:
            return TestResult(
                ok=False, detail=f"{method} {url}: {exc.message}", status_code=exc.status_code,
                duration_ms=exc.duration_ms,
            )
        return TestResult(
            ok=True, detail=f"{method} {url}: HTTP {result.status_code} in {result.duration_ms} ms.",
            status_code=result.status_code, duration_ms=result.duration_ms,
        )

