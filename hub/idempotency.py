"""``Idempotency-Key`` for the process APIs (IETF httpapi idempotency-key-header draft semantics).

A key is scoped to the consumer that sent it. The request claims its key inside its own
transaction, runs, and stores its response with its writes, in that transaction. Then:

* the same key with the same request (method, path and JSON body, compared as JSON) answers
  the stored response again: same status, same body;
* the same key with another request is refused: 422;
* the same key while the first request still runs is refused: 409, with ``Retry-After``,
  whatever the body (the running request has stored nothing to compare it with yet);
* no key: 400.

How a key is held while its request runs: on PostgreSQL by a transaction-level advisory lock
on the key, tried and never waited for (held by another request: 409), so it is let go when
the transaction ends, however it ends; a worker that dies leaves nothing behind. On SQLite the
request's transaction (``BEGIN IMMEDIATE``) holds the database already: a second request with
the key waits for the first to finish and then finds its answer. Either way the claim costs one
statement and no commit of its own, and the unique (scope, key) constraint backs it up: a
request that finds a stored answer only when it writes its own (it started just as another one
finished) rolls back and answers that one (ClaimLost).

Responses below 500 are stored (a refusal is the answer to that request, and stays it); after
a failure of the hub (500) nothing is stored and the client's retry runs the request again.
Keys are kept for ``HUB_IDEMPOTENCY_KEY_HOURS`` (at least 24); ``idempotency_records_purge``
(scheduled hourly) deletes expired ones, and an expired key is free to be used again. A record
left ``in_progress`` by an earlier version of the hub counts as a running request until it is
``HUB_IDEMPOTENCY_STALE_SECONDS`` old, and is then taken over.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.response import Response

from canonical.json_text import canonical_json
from canonical.services.inserts import rows_insert
from canonical.services.prepared import Read, instance_from_db, reads_together
from hub.models import IdempotencyRecord, IdempotencyStatus
from hub.problems import PROBLEM_CONTENT_TYPE, Problem
from hub.renderers import JSONRenderer

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
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical_json(data)}".encode()).hexdigest()


# What the claim reads of a stored record, in the model's order (Model.from_db takes them so).
_RECORD_FIELDS = tuple(f for f in IdempotencyRecord._meta.concrete_fields if f.name in {
    "id", "method", "path", "fingerprint", "status", "response_status", "response_body", "response_headers",
    "locked_at", "expires_at"})


@functools.cache
def _claim_sql(vendor: str) -> str:
    """The key's lock (PostgreSQL) and its stored record, if any, in one statement."""
    q = connection.ops.quote_name
    lock = "pg_try_advisory_xact_lock(%s)" if vendor == "postgresql" else "%s"
    columns = ", ".join(f"r.{q(f.column)}" for f in _RECORD_FIELDS)
    return (f"SELECT {lock}, {columns} FROM (SELECT 1 AS one) AS one LEFT JOIN "
            f"{q(IdempotencyRecord._meta.db_table)} r ON r.{q('scope')} = %s AND r.{q('key')} = %s")


def _lock_id(scope: str, key: str) -> int:
    """The key's advisory lock: 64 bits of its hash, signed as PostgreSQL's bigint is."""
    digest = hashlib.sha256(f"hub.idempotency\n{scope}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


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

    Call it first in the transaction of the request's writes (the claim lasts until that
    transaction ends); ``idempotency_complete`` then stores the answer in the same transaction.
    """
    return reads_together(idempotency_claim_read(
        scope=scope, key=key, method=method, path=path, fingerprint=fingerprint, correlation_id=correlation_id,
    ))[0]


def idempotency_claim_read(*, scope: str, key: str, method: str, path: str, fingerprint: str,
                           correlation_id: str = "", stopping: bool = False) -> Read:
    """idempotency_claim as a Read (for reads_together or reads_along); it answers the Claim.

    ``stopping``: a stored answer or a refusal raises ClaimAnswered instead (an exception no
    request handler takes for its own), for a claim that rides with the request's first read
    (reads_along) and must stop the request's work where it stands.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("idempotency_claim must run inside the request's transaction.atomic().")
    now = timezone.now()
    lock = _lock_id(scope, key) if connection.vendor == "postgresql" else True

    def claimed(rows: list[tuple]) -> Claim:
        [(held, *values)] = rows
        try:
            claim = _claim(held, values, now=now, scope=scope, key=key, method=method, path=path,
                           fingerprint=fingerprint, correlation_id=correlation_id)
        except Problem as problem:
            if stopping:
                raise ClaimAnswered(problem=problem) from problem
            raise
        if stopping and claim.replay is not None:
            raise ClaimAnswered(replay=claim.replay)
        return claim

    return Read(_claim_sql(connection.vendor), [lock, scope, key], (None, *_RECORD_FIELDS), claimed)


def _claim(held: bool, values: list, *, now, scope: str, key: str, method: str, path: str, fingerprint: str,
           correlation_id: str) -> Claim:
    existing = None
    if values[0] is not None:
        existing = instance_from_db(IdempotencyRecord, connection.alias, [f.attname for f in _RECORD_FIELDS], values)
        if existing.expires_at <= now:
            existing = None  # an expired key is a new key (its record is overwritten)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise Problem(
                422, f"The {HEADER} '{key}' was used for a different request ({existing.method} {existing.path} "
                "with another body). Use a new key for a new operation.",
                slug="idempotency-key-reused", title="Idempotency key reused",
            )
        if existing.status == IdempotencyStatus.COMPLETED:
            return Claim(replay=_replay(existing))
        if existing.locked_at >= now - timedelta(seconds=settings.HUB_IDEMPOTENCY_STALE_SECONDS):
            held = False  # left running by an earlier version of the hub, recently: still running
        # else: left running long ago; taken over (the answer overwrites the record)
    if not held:
        problem = Problem(
            409, f"A request with the {HEADER} '{key}' is still being processed; retry in a moment to get its "
            "result.", slug="idempotency-key-in-use", title="Request in progress",
        )
        problem.wait = 1
        raise problem
    return Claim(record=IdempotencyRecord(
        scope=scope, key=key, method=method.upper(), path=path, fingerprint=fingerprint,
        status=IdempotencyStatus.IN_PROGRESS, response_headers={}, correlation_id=correlation_id, created_at=now,
        locked_at=now, expires_at=now + timedelta(hours=settings.HUB_IDEMPOTENCY_KEY_HOURS),
    ))


class ClaimAnswered(Exception):  # noqa: N818 - not an error: the key's answer, found before the request's work
    """A stopping claim's outcome: the stored answer to replay, or the refusal (409, 422) to answer."""

    def __init__(self, *, replay: Response | None = None, problem: Problem | None = None):
        super().__init__("replay" if replay is not None else str(problem))
        self.replay, self.problem = replay, problem

    def response(self) -> Response:
        """The replay; a refusal is raised (the API's exception handler answers it)."""
        if self.replay is None:
            raise self.problem
        return self.replay


class ClaimLost(Exception):
    """Another request stored an answer for the key first (it started just before this one's claim)."""


# A NUL character as JSON writes it: \u0000 not itself escaped (a text holding a backslash and
# "u0000" is written \\u0000, which jsonb takes).
_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def idempotency_complete(*, record: IdempotencyRecord, response: Response) -> bool:
    """Store ``response`` as the key's answer; call inside the transaction of the request's claim and writes.

    False (nothing stored) for a body PostgreSQL's jsonb cannot hold (a NUL character echoed from
    the request): a retry then gets the same refusal anew. Inside the request's writes_batched the
    INSERT goes with the request's own writes; when the key's answer turns out to be stored
    already, ClaimLost is raised as they are sent, and everything rolls back.
    """
    text = JSONRenderer().render(response.data) if response.data is not None else b"null"
    if b"\\u0000" in text and _NUL.search(text):  # the regular expression alone took 80 µs on an order's answer
        return False
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    content_type = getattr(response, "content_type", None)
    if content_type:
        headers["Content-Type"] = content_type
    record.status, record.response_status, record.response_body = (
        IdempotencyStatus.COMPLETED, response.status_code, json.loads(text))
    record.response_headers, record.completed_at = headers, timezone.now()

    def stored(count: int) -> None:
        if not count:
            raise ClaimLost(f"Idempotency key {record.key} was answered by another request first.")

    # An expired record of the key, or one an earlier version of the hub left running (see
    # idempotency_claim), is overwritten; a live answer is not.
    table, q = connection.ops.quote_name(IdempotencyRecord._meta.db_table), connection.ops.quote_name
    rows_insert(
        [record], unless_taken=["scope", "key"], read_back=False, on_count=stored,
        replace_if=(f"{table}.{q('status')} <> %s OR {table}.{q('expires_at')} <= %s",
                    [IdempotencyStatus.COMPLETED.value, connection.ops.adapt_datetimefield_value(record.locked_at)]),
    )
    return True


def idempotency_records_purge() -> int:
    """Delete the keys past their retention; returns how many. Scheduled by hub.tasks."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


__all__ = [
    "HEADER", "PROBLEM_CONTENT_TYPE", "Claim", "ClaimAnswered", "ClaimLost", "idempotency_claim",
    "idempotency_claim_read", "idempotency_complete",
    "idempotency_key_parse", "idempotency_records_purge", "idempotency_scope", "request_fingerprint",
]
