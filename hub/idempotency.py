"""``Idempotency-Key`` for the process APIs (IETF httpapi idempotency-key-header draft semantics).

A key is scoped to the consumer that sent it. The first request with a key claims it (a
committed ``in_progress`` record), runs, and stores its response in the same transaction as
its writes. Then:

* the same key with the same request (method, path and JSON body, compared as JSON) answers
  the stored response again: same status, same body;
* the same key with another request is refused: 422;
* the same key while the first request still runs is refused: 409, with ``Retry-After``;
* no key: 400.

Responses below 500 are stored (a refusal is the answer to that request, and stays it); a
failure of the hub (500) releases the key so the client can retry. A key whose request died
with its worker is taken over after ``HUB_IDEMPOTENCY_STALE_SECONDS``. Keys are kept for
``HUB_IDEMPOTENCY_KEY_HOURS`` (at least 24); ``idempotency_records_purge`` (scheduled hourly)
deletes expired ones, and an expired key is free to be used again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from canonical.services.inserts import row_update
from canonical.services.prepared import prepared
from hub.models import IdempotencyRecord, IdempotencyStatus
from hub.problems import PROBLEM_CONTENT_TYPE, Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
STORED_HEADERS = ("Location",)
REPLAY_HEADER = "Idempotent-Replayed"


def idempotency_key_parse(value: str | None) -> str:
    """The key from the header: a structured-field string (``"abc"``) or, leniently, a bare token."""
    if value is None or not value.strip():
        raise Problem(
            400, f"This operation needs an {HEADER} header (a unique string per operation, e.g. a UUID) so a "
            "retry cannot place it twice.", slug="idempotency-key-missing", title="Idempotency key missing",
            errors=[{"pointer": f"header:{HEADER}", "field": HEADER, "messages": ["Required."]}],
        )
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH or any(not (0x20 <= ord(c) < 0x7F) or c in '"\\' for c in key):
        raise Problem(
            400, f"The {HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, without quotes or "
            "backslashes inside.", slug="idempotency-key-invalid", title="Idempotency key not valid",
            errors=[{"pointer": f"header:{HEADER}", "field": HEADER, "messages": ["Not a valid key."]}],
        )
    return key


def idempotency_scope(user) -> str:
    consumer = getattr(user, "consumer", None)
    if consumer is not None:
        return f"consumer:{consumer.pk}"
    return f"user:{user.pk}"


def request_fingerprint(*, method: str, path: str, data) -> str:
    """A hash of what makes two requests the same request: method, path and the body as JSON."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()} {path}\n{body}".encode()).hexdigest()


def _insert_if_new(*, scope, key, method, path, fingerprint, correlation_id, now, expires_at):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new record, or None when the key is taken.

    One statement, committed at once in autocommit (no transaction around it, no exception to catch).
    """
    table = IdempotencyRecord._meta.db_table
    q = connection.ops.quote_name
    columns = ["scope", "key", "method", "path", "fingerprint", "status", "response_headers", "correlation_id",
               "created_at", "locked_at", "expires_at"]
    json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    placeholders = ["%s"] * len(columns)
    placeholders[columns.index("response_headers")] = json_placeholder
    stamp = connection.ops.adapt_datetimefield_value
    params = [scope, key, method, path, fingerprint, IdempotencyStatus.IN_PROGRESS, "{}", correlation_id,
              stamp(now), stamp(now), stamp(expires_at)]
    with connection.cursor() as cursor:
        cursor.execute(*prepared(
            f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) VALUES ({', '.join(placeholders)}) "
            f"ON CONFLICT ({q('scope')}, {q('key')}) DO NOTHING RETURNING {q('id')}",
            params,
        ))
        row = cursor.fetchone()
    if row is None:
        return None
    return IdempotencyRecord(
        pk=row[0], scope=scope, key=key, method=method, path=path, fingerprint=fingerprint,
        status=IdempotencyStatus.IN_PROGRESS, response_headers={}, correlation_id=correlation_id, created_at=now,
        locked_at=now, expires_at=expires_at,
    )


@dataclass
class Claim:
    record: IdempotencyRecord | None = None
    replay: Response | None = None


def _replay(record: IdempotencyRecord) -> Response:
    headers = dict(record.response_headers or {})
    content_type = headers.pop("Content-Type", None)
    response = Response(record.response_body, status=record.response_status, headers=headers)
    if content_type:
        response.content_type = content_type
    response[REPLAY_HEADER] = "true"
    return response


def idempotency_claim(*, scope: str, key: str, method: str, path: str, fingerprint: str,
                      correlation_id: str = "") -> Claim:
    """Claim ``key`` for this request, or answer with the stored response; refusals raise Problem.

    Runs in its own committed transaction, outside the request's work, so other requests see
    the claim at once.
    """
    for _ in range(3):
        now = timezone.now()
        record = _insert_if_new(
            scope=scope, key=key, method=method.upper(), path=path, fingerprint=fingerprint,
            correlation_id=correlation_id, now=now,
            expires_at=now + timedelta(hours=settings.HUB_IDEMPOTENCY_KEY_HOURS),
        )
        if record is not None:
            return Claim(record=record)
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:
            continue  # released or purged in between: claim it again
        if existing.expires_at <= now:
            IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise Problem(
                422, f"The {HEADER} '{key}' was used for a different request ({existing.method} {existing.path} "
                "with another body). Use a new key for a new operation.",
                slug="idempotency-key-reused", title="Idempotency key reused",
            )
        if existing.status == IdempotencyStatus.COMPLETED:
            return Claim(replay=_replay(existing))
        stale_before = now - timedelta(seconds=settings.HUB_IDEMPOTENCY_STALE_SECONDS)
        if existing.locked_at < stale_before:
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, status=IdempotencyStatus.IN_PROGRESS, locked_at=existing.locked_at
            ).update(locked_at=now, correlation_id=correlation_id)
            if taken:
                existing.locked_at = now
                return Claim(record=existing)
        problem = Problem(
            409, f"A request with the {HEADER} '{key}' is still being processed; retry in a moment to get its "
            "result.", slug="idempotency-key-in-use", title="Request in progress",
        )
        problem.wait = 1
        raise problem
    raise Problem(409, f"The {HEADER} '{key}' is changing hands; retry.", slug="idempotency-key-in-use",
                  title="Request in progress")


class ClaimLost(Exception):
    """The key was taken over by another request (ours was presumed dead); our work must roll back."""


def idempotency_complete(*, record: IdempotencyRecord, response: Response) -> bool:
    """Store ``response`` as the key's answer; call inside the transaction of the request's writes.

    False (nothing stored) for a body PostgreSQL's jsonb cannot hold (a NUL character echoed from
    the request): the caller releases the key instead, and a retry gets the same refusal anew.
    """
    text = JSONRenderer().render(response.data) if response.data is not None else b"null"
    if b"\\u0000" in text:
        return False
    body = json.loads(text)
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    content_type = getattr(response, "content_type", None)
    if content_type:
        headers["Content-Type"] = content_type
    record.status, record.response_status, record.response_body = (
        IdempotencyStatus.COMPLETED, response.status_code, body)
    record.response_headers, record.completed_at = headers, timezone.now()

    def claim_held(count: int) -> None:
        if not count:
            raise ClaimLost(f"Idempotency key {record.key} was taken over by another request.")

    # Inside the request's writes_batched the UPDATE goes with the order's own writes; the claim
    # is checked when they are sent (ClaimLost then rolls them all back).
    row_update(
        record, ["status", "response_status", "response_body", "response_headers", "completed_at"],
        where={"status": IdempotencyStatus.IN_PROGRESS, "locked_at": record.locked_at},
        deferrable=True, on_count=claim_held,
    )
    return True


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Free the key after a failure of the hub, so the client's retry runs the request again."""
    IdempotencyRecord.objects.filter(
        pk=record.pk, status=IdempotencyStatus.IN_PROGRESS, locked_at=record.locked_at
    ).delete()


def idempotency_records_purge() -> int:
    """Delete the keys past their retention; returns how many. Scheduled by hub.tasks."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


__all__ = [
    "HEADER", "PROBLEM_CONTENT_TYPE", "Claim", "ClaimLost", "idempotency_claim", "idempotency_complete",
    "idempotency_key_parse", "idempotency_records_purge", "idempotency_release", "idempotency_scope",
    "request_fingerprint",
]
