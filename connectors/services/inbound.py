"""Inbound partner messages: stored as received, then authenticated, verified, de-duplicated,
validated, mapped and applied through the canonical services.

The order is the contract (see issue 3, "Inbound messages"):

(a) ``inbound_receive`` stores the raw message in its own committed transaction, before anything
    can fail, so nothing a partner sent is lost;
(b)-(d) ``inbound_accept`` checks the API key's system, the HMAC signature where the connector asks
    for it, and the sender's message id (a repeat is answered with the first outcome; the id reused
    for another body is refused, and that body kept);
(e) ``inbound_process`` / the synchronous path parse, validate, map and call the message type's
    handler. A failure keeps the message with its errors and opens an exception.

``inbound_reprocess`` is the staff's second try, optionally with an edited body.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import CanonicalError
from canonical.json_text import canonical_json
from canonical.models import System
from canonical.services.events import audit_record
from canonical.services.inserts import row_insert, row_update
from canonical.services.prepared import select_instance
from canonical.services.transactions import atomic_begin_carried
from connectors.inbound.errors import InboundFailure
from connectors.inbound.registry import HandlerContext, message_type_get
from connectors.inbound.steps import failure_from, message_apply
from connectors.mapping import pointers as json_pointers
from connectors.models import (
    Category,
    Connector,
    Direction,
    InboundMessage,
    InboundMessageRevision,
    InboundStatus,
    MappingDirection,
    Severity,
    Team,
)
from connectors.models import Mapping as MappingModel
from connectors.secrets import SecretError, secret_resolve
from connectors.services.exceptions import exception_raise, exceptions_resolve_for_source
from connectors.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, signature_verify
from hub.problems import problem_body

logger = logging.getLogger("connectors.inbound")

MASKED_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})
MASK = "[masked]"
DEFAULT_MESSAGE_ID_HEADER = "X-Message-ID"
# Every message type is a JSON document (there is no EDI or CSV on the inbound endpoint).
ACCEPTED_MEDIA_TYPES = ("application/json", "application/*+json")
# Marks a repeat answered with the first message's outcome, as the process APIs' Idempotency-Key does.
REPLAY_HEADER = "Idempotent-Replayed"
# Where a message in the hub's shape carries its id when no header does (every schema has the field).
BODY_MESSAGE_ID_FIELD = "/message_id"
STATUS_PATH = "/api/v1/inbound/messages/{id}"
# An authenticated message still waiting after this long (an accepted 202 whose task was lost, or
# a request that died after storing it) is taken up by the sweeper.
ASYNC_STALE_AFTER = timedelta(minutes=5)
_LINK_FIELDS = ("customer", "order", "shipment", "invoice", "purchase_order", "supplier")


class InboundReprocessRefused(CanonicalError):
    status_code = 409
    slug = "inbound-reprocess-refused"
    title = "Reprocessing refused"


@dataclass(frozen=True)
class InboundOutcome:
    """What the partner is answered: status, JSON body and extra headers."""

    status_code: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_problem(self) -> bool:
        return self.status_code >= 400


def status_url(message_id: int) -> str:
    return STATUS_PATH.format(id=message_id)


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: MASK if name.lower() in MASKED_HEADERS else value for name, value in headers.items()}


INBOUND_DIRECTIONS = (Direction.INBOUND, Direction.BOTH)


# --- (a) store first ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """Who sent a message, as far as its API key says: the key's system (None when the key is
    missing or refused), a name for the record, and why the key was refused."""

    system: System | None
    name: str = ""
    auth_error: str = ""


def inbound_receive(
    *,
    system_code: str,
    message_type: str,
    headers: Mapping[str, str],
    body: bytes,
    content_type: str,
    remote_addr: str,
    correlation_id: str,
    sender: Sender | None = None,
) -> InboundMessage:
    """Store the message exactly as received (credentials masked), committed before anything else.

    Callers run outside any transaction (the API view does), so the row survives whatever
    happens after: the one INSERT is its own transaction in autocommit mode (an explicit
    BEGIN … COMMIT around it would only add two round trips to every message).

    ``sender`` is given when the API key was checked before the message arrived here (the
    governance policy checks every partner call's key first). A message its own system sends,
    to a connector that asks for no signature, then takes the sender's message id in the same
    INSERT: a repeat is known at once, and an id is only ever taken by its system's key holder.
    When the id is already taken the message is stored without it; ``inbound_accept`` answers it
    as the repeat it is.
    """
    connector = _inbound_connector(system_code, message_type)
    if sender is not None and sender.system is not None and sender.system.code == system_code:
        system = sender.system
    elif connector is not None:
        system = connector.system
    else:
        system = System.objects.filter(code=system_code).first()
    if connector is not None:
        connector.system = system
    message = InboundMessage(
        system=system,
        connector=connector,
        message_type=message_type[:80],
        sender=(remote_addr or "")[:150],
        authenticated=False,
        headers=masked_headers(headers),
        # Bytes that are not UTF-8 are kept readable; the first processing pass parses the
        # original bytes, so such a body still fails as malformed rather than being altered.
        body=body.decode("utf-8", errors="replace"),
        content_type=(content_type or "")[:120],
        correlation_id=correlation_id[:100],
    )
    claim = _early_claim(message, sender, headers, body)
    if claim is None:
        row_insert(message)
        return message
    message.authenticated, message.sender, message.sender_message_id = True, sender.name[:150], claim
    try:
        with transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext():
            row_insert(message)
    except IntegrityError:
        message.sender_message_id = None
        row_insert(message)
        message.taken_by = claim  # the id belongs to an earlier message: this one is its repeat
    return message


def _inbound_connector(system_code: str, message_type: str) -> Connector | None:
    """The system's enabled inbound connector (the first by code), or None.

    It carries ``inbound_mapping_ids`` = {message_type: id of its active inbound mapping for the
    type, or None}, read by the same statement (see inbound_mapping_for). Plain SQL, as it runs
    for every message a partner sends: the ORM's compilation of it costs more than the query.
    """
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    meta, mapping, system = Connector._meta, MappingModel._meta, System._meta

    def column(model_meta, name: str) -> str:
        return quote(model_meta.get_field(name).column)

    columns = ", ".join(f"c.{quote(f.column)}" for f in meta.concrete_fields)
    sql = (
        f"SELECT {columns}, (SELECT m.{column(mapping, 'id')} FROM {quote(mapping.db_table)} m "
        f"WHERE m.{column(mapping, 'connector')} = c.{column(meta, 'id')} AND m.{column(mapping, 'message_type')} = %s "
        f"AND m.{column(mapping, 'direction')} = %s AND m.{column(mapping, 'is_active')} = %s "
        f"ORDER BY m.{column(mapping, 'version')} DESC LIMIT 1) AS inbound_mapping_id "
        f"FROM {quote(meta.db_table)} c INNER JOIN {quote(system.db_table)} s "
        f"ON s.{column(system, 'id')} = c.{column(meta, 'system')} "
        f"WHERE s.{column(system, 'code')} = %s AND c.{column(meta, 'enabled')} = %s "
        f"AND c.{column(meta, 'direction')} IN (%s, %s) ORDER BY c.{column(meta, 'code')} LIMIT 1"
    )
    params = [message_type, MappingDirection.INBOUND, True, system_code, True, *INBOUND_DIRECTIONS]
    connector = select_instance(Connector, sql, params, extra=("inbound_mapping_id",))
    if connector is not None:
        connector.inbound_mapping_ids = {message_type: connector.inbound_mapping_id}
    return connector


def _early_claim(message: InboundMessage, sender: Sender | None, headers: Mapping[str, str], body: bytes) -> str | None:
    """The sender's message id to take with the INSERT, or None when it waits for inbound_accept."""
    if sender is None or sender.system is None or message.system is None or sender.system.pk != message.system.pk:
        return None
    if message.connector is not None and message.connector.verify_inbound_signature:
        return None  # the signature is checked first: a key alone does not take an id there
    if body and not is_json_media_type(message.content_type):
        return None  # refused with 415 by inbound_accept; the id stays free for the message sent as JSON
    try:
        return _sender_message_id(message.connector, headers, body)
    except InboundFailure:
        return None  # refused by inbound_accept, with the message kept


def inbound_refuse_oversized(
    *,
    system_code: str,
    message_type: str,
    headers: Mapping[str, str],
    length: int,
    limit: int,
    content_type: str,
    remote_addr: str,
    correlation_id: str,
) -> InboundOutcome:
    """Record a message whose body is over the size limit, without reading the body, and refuse it.

    The row keeps what arrived apart from the body (headers, sender, correlation id, the size),
    so staff can see that a partner tried and the partner can quote the message id; the body
    itself is not read, so an oversized request costs the hub nothing but the row.
    """
    detail = f"The request body is {length} bytes; the limit is {limit} bytes."
    message = InboundMessage(
        system=System.objects.filter(code=system_code).first(),
        message_type=message_type[:80],
        sender=(remote_addr or "")[:150],
        headers=masked_headers(headers),
        body="",
        content_type=(content_type or "")[:120],
        correlation_id=correlation_id[:100],
    )
    row_insert(message)
    outcome = InboundOutcome(413, _problem(413, detail, slug="payload-too-large", message=message, limit_bytes=limit,
                                           body_bytes=length))
    logger.info("inbound message %s refused: %s", message.pk, detail)
    return _reject(message, outcome, errors=[{"pointer": "/", "messages": [detail]}])


# --- (b)-(d) authenticate, verify, de-duplicate --------------------------------------------------


def _reject(message: InboundMessage, outcome: InboundOutcome, *, errors: list[dict], sender: str = "") -> InboundOutcome:
    message.status = InboundStatus.REJECTED
    message.errors = errors
    message.response_status = outcome.status_code
    message.response_body = outcome.body
    message.processed_at = timezone.now()
    fields = ["status", "errors", "response_status", "response_body", "processed_at"]
    if sender:
        message.sender = sender[:150]
        fields.append("sender")
    message.save(update_fields=fields)
    return outcome


_RESERVED_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "message_id", "message_url"})


def _problem(status_code: int, detail: str, *, slug: str, message: InboundMessage, title: str | None = None, **extra):
    extra = {key: value for key, value in extra.items() if key not in _RESERVED_PROBLEM_MEMBERS}
    return problem_body(
        status_code, detail=detail, slug=slug, title=title, message_id=message.pk,
        message_url=status_url(message.pk), **extra,
    )


def inbound_accept(
    *,
    message: InboundMessage,
    sender: Sender,
    headers: Mapping[str, str],
    body: bytes,
) -> InboundOutcome:
    """Steps (b) to (e) for a stored message; returns the answer for the partner."""
    sender_system = sender.system
    if sender_system is None:
        detail = sender.auth_error or "An API key is required (Authorization: Bearer <key> or X-API-Key)."
        logger.info("inbound message %s refused: not authenticated (%s)", message.pk, detail)
        # No exception is opened: anyone on the internet can reach this endpoint, and a queue item
        # per anonymous request would let them flood the staff's queue. The row is the record.
        outcome = InboundOutcome(
            401, _problem(401, detail, slug="not-authenticated", message=message),
            {"WWW-Authenticate": 'Bearer realm="hub"'},
        )
        return _reject(message, outcome, errors=[{"pointer": "/", "messages": [detail]}])

    message.authenticated = True
    if message.system_id != sender_system.pk:
        target = message.system.code if message.system else "(unknown system)"
        detail = (
            f"This API key acts for system '{sender_system.code}' and cannot send messages as '{target}'."
        )
        logger.warning("inbound message %s refused: %s", message.pk, detail)
        outcome = InboundOutcome(403, _problem(403, detail, slug="forbidden-system", message=message,
                                               system=sender_system.code))
        message.save(update_fields=["authenticated"])
        return _reject(message, outcome, errors=[{"pointer": "/", "messages": [detail]}], sender=sender.name)

    connector = message.connector
    if connector is not None and connector.verify_inbound_signature:
        failure = _signature_problem(connector, headers, body)
        if failure:
            return _signature_refused(message, connector, failure, sender.name)

    actor = Actor(system=sender_system, correlation_id=message.correlation_id, causation_id=f"inbound:{message.pk}")
    message.sender = sender.name[:150]
    if body and not is_json_media_type(message.content_type):
        with transaction.atomic():
            ctx = HandlerContext(message.system, actor, message.pk, received_at=message.received_at)
            return _fail(message, _unsupported_media_type(message.content_type), ctx, actor)
    taken_by = getattr(message, "taken_by", None)
    if taken_by is not None:
        with transaction.atomic():
            return _answer_repeat(message, _holder(message, taken_by), actor)
    try:
        # An id taken with the INSERT is the message's already; otherwise it is still to be claimed.
        to_claim = None if message.sender_message_id else _sender_message_id(connector, headers, body)
    except InboundFailure as failure:
        with transaction.atomic():
            ctx = HandlerContext(message.system, actor, message.pk, received_at=message.received_at)
            return _fail(message, failure, ctx, actor)
    if (
        connector is not None
        and connector.process_inbound_async
        and message_type_get(message.message_type) is not None
    ):
        return _accept_for_worker(message, to_claim, actor)
    if to_claim is not None:
        with transaction.atomic():
            original = _claim(message, to_claim)
            if original is not None:
                return _answer_repeat(message, original, actor)
            return _run(message, actor, body)
    return _run(message, actor, body)


def is_json_media_type(content_type: str) -> bool:
    """Whether a Content-Type declares JSON (``application/json`` or an ``application/*+json`` type);
    the partner API's bodies are held to it too (hub.middleware)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _unsupported_media_type(content_type: str) -> InboundFailure:
    """415 for a body that is not declared JSON. Checked before the message id is taken, so the
    partner can send the same message, with the same id, as JSON."""
    return InboundFailure(
        415, f"Content type '{content_type or 'none'}' is not accepted: inbound messages are JSON documents; send "
        "the body as application/json.", slug="unsupported-media-type", title="Unsupported media type",
        category=Category.VALIDATION, accepted=list(ACCEPTED_MEDIA_TYPES),
    )


def _signature_problem(connector: Connector, headers: Mapping[str, str], body: bytes) -> str:
    try:
        secret = secret_resolve(connector.signing_secret_ref)
    except SecretError as exc:
        logger.error("connector %s cannot verify inbound signatures: %s", connector.code, exc)
        return "The hub cannot verify signatures for this connector right now (its signing secret is not available)."
    try:
        signature_verify(
            secret=secret,
            timestamp=headers.get(TIMESTAMP_HEADER),
            signature=headers.get(SIGNATURE_HEADER),
            body=body,
            tolerance_seconds=connector.signature_tolerance_seconds,
        )
    except SignatureError as exc:
        return str(exc)
    return ""


def _signature_refused(message: InboundMessage, connector: Connector, detail: str, sender: str) -> InboundOutcome:
    logger.warning(
        "inbound message %s from connector %s refused: bad signature: %s", message.pk, connector.code, detail
    )
    message.authenticated = False
    message.save(update_fields=["authenticated"])
    outcome = InboundOutcome(
        401, _problem(401, detail, slug="bad-signature", title="Signature verification failed", message=message),
        {"WWW-Authenticate": 'HMAC realm="hub"'},
    )
    _reject(message, outcome, errors=[{"pointer": "/", "messages": [detail]}], sender=sender)
    # Only holders of a valid API key get this far, and every refusal counts on one exception per
    # connector, so a broken or rotated signing secret is visible without flooding the queue.
    exception_raise(
        category=Category.AUTHENTICATION, team=Team.INTEGRATION, severity=Severity.HIGH,
        title=f"Inbound signatures from connector {connector.code} fail verification",
        fingerprint=f"inbound-signature:{connector.pk}",
        actor=Actor(system=message.system, correlation_id=message.correlation_id),
        detail=f"Last refusal (message {message.pk}): {detail}",
        context={"message_id": message.pk, "connector": connector.code},
        connector=connector, inbound_message=message,
    )
    return outcome


def _sender_message_id(connector: Connector | None, headers: Mapping[str, str], body: bytes) -> str | None:
    """The sender's id for the message, or None: the body field the connector names; else the
    header (``X-Message-ID`` unless the connector names another); else the body's ``message_id``,
    the field every message type's schema has for it. A header and a body ``message_id`` that
    differ are refused: the hub would otherwise have to guess which one a repeat will carry."""
    if connector is not None and connector.message_id_field:
        return _checked_message_id(_body_message_id(body, connector.message_id_field))
    header = (connector.message_id_header if connector is not None else "") or DEFAULT_MESSAGE_ID_HEADER
    from_header = _checked_message_id((headers.get(header) or "").strip())
    # Most messages name no id in the body: they are not parsed here for it.
    from_body = _checked_message_id(_body_message_id(body, BODY_MESSAGE_ID_FIELD)) if b"message_id" in body else None
    if from_header and from_body and from_header != from_body:
        raise InboundFailure(
            400, f"The {header} header ('{from_header}') and the body's message_id ('{from_body}') differ; "
            "send one message id, or the same in both.", slug="invalid-message-id", category=Category.VALIDATION,
            errors=[{"pointer": BODY_MESSAGE_ID_FIELD, "field": "message_id",
                     "messages": [f"Differs from the {header} header."]}],
        )
    return from_header or from_body


def _body_message_id(body: bytes, pointer: str) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None  # no id to de-duplicate by; the malformed (or too deeply nested) body fails at parsing
    value, _ = json_pointers.resolve(document, json_pointers.parse(pointer))
    return None if value is json_pointers.MISSING or value is None else str(value).strip()


def _checked_message_id(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > 200:
        raise InboundFailure(
            400, f"The message id is {len(value)} characters long; at most 200 are accepted.",
            slug="invalid-message-id", category=Category.VALIDATION,
        )
    return value


def _claim(message: InboundMessage, sender_message_id: str) -> InboundMessage | None:
    """Take the sender's message id for ``message``; the earlier message holding it, if any.

    The unique constraint decides between concurrent repeats: the loser waits for the winner's
    transaction and then reads its outcome.
    """
    try:
        with transaction.atomic():
            InboundMessage.objects.filter(pk=message.pk).update(sender_message_id=sender_message_id)
    except IntegrityError:
        return _holder(message, sender_message_id)
    message.sender_message_id = sender_message_id
    return None


def _holder(message: InboundMessage, sender_message_id: str) -> InboundMessage:
    """The message of the same system that holds ``sender_message_id``."""
    return InboundMessage.objects.get(system_id=message.system_id, sender_message_id=sender_message_id)


def body_fingerprint(body: str) -> str:
    """What makes two bodies the same message: the JSON document, whatever its whitespace and key
    order; the text itself when it is not JSON."""
    try:
        text = canonical_json(json.loads(body))
    except (ValueError, RecursionError):
        text = body
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _answer_repeat(message: InboundMessage, original: InboundMessage, actor: Actor) -> InboundOutcome:
    """A message with an id another message of its system holds: the first outcome when it is that
    message again, else a refusal (the id was reused for other content, which is kept, not dropped)."""
    if message.message_type != original.message_type or body_fingerprint(message.body) != body_fingerprint(
        original.body
    ):
        return _refuse_reused_id(message, original, actor)
    message.status = InboundStatus.DUPLICATE
    message.duplicate_of = original
    message.processed_at = timezone.now()
    if original.response_status is None:
        outcome = InboundOutcome(
            409,
            _problem(409, f"Message '{original.sender_message_id}' is still being processed; send it again later.",
                     slug="message-in-flight", message=original),
            {"Retry-After": "5"},
        )
    else:
        headers = {REPLAY_HEADER: "true"}
        if original.response_status == 202:
            headers["Location"] = status_url(original.pk)
        outcome = InboundOutcome(original.response_status, original.response_body, headers)
    message.response_status = outcome.status_code
    message.response_body = outcome.body
    message.save(update_fields=[
        "status", "duplicate_of", "processed_at", "response_status", "response_body", "authenticated", "sender",
    ])
    logger.info("inbound message %s is a repeat of %s; answered with its outcome", message.pk, original.pk)
    return outcome


def _refuse_reused_id(message: InboundMessage, original: InboundMessage, actor: Actor) -> InboundOutcome:
    """422, as the process APIs answer an Idempotency-Key reused for another body. The message is
    kept as failed with an exception, so staff can see the content and reprocess it if it is real."""
    sender_message_id = original.sender_message_id
    same_type = message.message_type == original.message_type
    failure = InboundFailure(
        422, f"Message id '{sender_message_id}' was used for message {original.pk} "
        f"({original.message_type}) with {'another body' if same_type else 'another message type'}. "
        "Send a new message with a new id; a repeat must carry the same body.",
        slug="message-id-reused", title="Message id reused", category=Category.VALIDATION,
        sender_message_id=sender_message_id, original_message_id=original.pk,
        original_message_url=status_url(original.pk),
    )
    logger.info("inbound message %s reuses the id of %s with other content; refused", message.pk, original.pk)
    ctx = HandlerContext(message.system, actor, message.pk, received_at=message.received_at)
    return _fail(message, failure, ctx, actor)


def _accept_for_worker(message: InboundMessage, sender_message_id: str | None, actor: Actor) -> InboundOutcome:
    from django_q.tasks import async_task

    with transaction.atomic():
        if sender_message_id is not None:
            original = _claim(message, sender_message_id)
            if original is not None:
                return _answer_repeat(message, original, actor)
        body = {
            "message": {"id": message.pk, "url": status_url(message.pk)},
            "status": InboundStatus.RECEIVED,
            "detail": "Accepted; it is processed in the background. Follow the url for the outcome.",
        }
        message.response_status = 202
        message.response_body = body
        message.save(update_fields=["authenticated", "sender", "response_status", "response_body"])
        transaction.on_commit(lambda: async_task("connectors.inbound.tasks.inbound_process_task", message.pk))
    return InboundOutcome(202, body, {"Location": status_url(message.pk)})


# --- (e) parse, validate, map, apply -------------------------------------------------------------


def inbound_process(*, message_id: int) -> InboundOutcome | None:
    """Process an accepted message in a worker; None when it is no longer waiting (done already)."""
    with transaction.atomic():
        message = (
            InboundMessage.objects.select_for_update(of=("self",)).select_related("system", "connector").filter(pk=message_id).first()
        )
        if message is None or message.status != InboundStatus.RECEIVED or not message.authenticated:
            return None
        actor = Actor(system=message.system, correlation_id=message.correlation_id, causation_id=f"inbound:{message.pk}")
        return _run(message, actor, inbound_current_body(message).encode())


def inbound_process_stale(*, older_than: timedelta = ASYNC_STALE_AFTER) -> int:
    """Process authenticated messages left waiting; returns how many.

    They are messages accepted for a worker whose task was lost (a killed worker), and messages
    that took their sender's id when stored but whose request died before processing (a killed
    web worker): the partner's repeats are answered "in flight" until this gives them an outcome.
    """
    ids = list(
        InboundMessage.objects.filter(
            status=InboundStatus.RECEIVED, authenticated=True,
            received_at__lt=timezone.now() - older_than,
        ).order_by("id").values_list("id", flat=True)[:500]
    )
    return sum(1 for pk in ids if inbound_process(message_id=pk) is not None)


class _Superseded(Exception):
    """The message was processed by someone else meanwhile (the sweeper took up a stalled request)."""


_OUTCOME_FIELDS = (
    "status", "processed_at", "errors", "response_status", "response_body", "processing_attempts",
    "authenticated", "sender",
)


def _outcome_write(message: InboundMessage, expected_status: str) -> None:
    """Store the outcome, provided the message still has the status processing started from."""
    if not row_update(message, _OUTCOME_FIELDS, where={"status": expected_status}):
        raise _Superseded


def _stored_outcome(message: InboundMessage) -> InboundOutcome:
    """The outcome another process stored for ``message`` while this one was processing it."""
    message.refresh_from_db()
    logger.warning("inbound message %s was processed elsewhere meanwhile; its outcome stands", message.pk)
    if message.response_status is None:  # not expected: every status after received has an answer
        return InboundOutcome(409, _problem(409, "The message is being processed elsewhere; send it again later.",
                                            slug="message-in-flight", message=message), {"Retry-After": "5"})
    return InboundOutcome(message.response_status, message.response_body)


def _run(message: InboundMessage, actor: Actor, body: bytes | str) -> InboundOutcome:
    """Step (e): the handler's writes and the outcome in one transaction (a savepoint inside the
    caller's, if it has one); a failure rolls them back and is stored with its exception after."""
    ctx = HandlerContext(system=message.system, actor=actor, message_id=message.pk, received_at=message.received_at)
    started_as = message.status
    message.processing_attempts += 1
    try:
        with atomic_begin_carried():
            result = message_apply(message, body, ctx)
            response = {
                "message": {"id": message.pk, "url": status_url(message.pk)},
                "status": InboundStatus.PROCESSED,
                "message_type": message.message_type,
                "result": result.result,
            }
            message.status = InboundStatus.PROCESSED
            message.processed_at = timezone.now()
            message.errors = []
            message.response_status = result.status_code
            message.response_body = response
            _outcome_write(message, started_as)
    except _Superseded:
        return _stored_outcome(message)
    except Exception as exc:  # noqa: BLE001 - every failure is kept and queued, see failure_from
        message.status = started_as
        with transaction.atomic():
            return _fail(message, failure_from(exc), ctx, actor)
    return InboundOutcome(result.status_code, response)


def _existing_links(ctx: HandlerContext) -> dict:
    """The records the handler named that still exist (a rolled-back create is not linked)."""
    links = {}
    for name in _LINK_FIELDS:
        record = ctx.links.get(name)
        if callable(record):
            record = record()
        if record is not None and type(record).objects.filter(pk=record.pk).exists():
            links[name] = record
    return links


def _fail(message: InboundMessage, failure: InboundFailure, ctx: HandlerContext, actor: Actor) -> InboundOutcome:
    errors = failure.errors or [{"pointer": "/", "field": None, "messages": [failure.detail]}]
    body = _problem(
        failure.status_code, failure.detail, slug=failure.slug, title=failure.title, message=message,
        errors=failure.errors or None, **failure.extra,
    )
    started_as = message.status
    message.status = InboundStatus.FAILED
    message.processed_at = timezone.now()
    message.errors = errors
    message.response_status = failure.status_code
    message.response_body = body
    try:
        _outcome_write(message, started_as)
    except _Superseded:
        return _stored_outcome(message)
    system_code = message.system.code if message.system else "?"
    exception_raise(
        category=failure.category,
        team=Team.INTEGRATION,
        severity=failure.severity,
        title=f"Inbound {message.message_type} from {system_code} failed: {body['title']}",
        fingerprint=f"inbound-message:{message.pk}",
        actor=actor,
        detail=failure.detail,
        context={
            "message_id": message.pk, "message_type": message.message_type, "system": system_code,
            "status": failure.status_code, "problem_type": body["type"], "errors": errors[:50],
            "sender_message_id": message.sender_message_id,
        },
        connector=message.connector,
        inbound_message=message,
        **_existing_links(ctx),
    )
    logger.info("inbound message %s failed with %s: %s", message.pk, failure.status_code, failure.detail)
    return InboundOutcome(failure.status_code, body)


# --- staff reprocessing ----------------------------------------------------------------------------


def inbound_current_body(message: InboundMessage) -> str:
    """The body processing uses: the latest staff revision, else the body as received."""
    latest = message.revisions.order_by("-edited_at", "-id").values_list("body", flat=True).first()
    return message.body if latest is None else latest


def inbound_reprocess(
    *, message: InboundMessage, actor: Actor, body: str | None = None, note: str = ""
) -> InboundOutcome:
    """Process a failed message again, optionally with an edited body (kept as a revision with its diff).

    The body as received is never changed. Success resolves the exceptions opened for the
    message; another failure counts on its exception again.
    """
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update(of=("self",)).select_related("system", "connector").get(pk=message.pk)
        if locked.status != InboundStatus.FAILED:
            raise InboundReprocessRefused(
                f"Message {locked.pk} is {locked.get_status_display().lower()}; only failed messages are reprocessed.",
                status=locked.status,
            )
        current = inbound_current_body(locked)
        revision = None
        if body is not None and body != current:
            diff = "".join(
                difflib.unified_diff(
                    current.splitlines(keepends=True), body.splitlines(keepends=True),
                    fromfile=f"message-{locked.pk}/before", tofile=f"message-{locked.pk}/after",
                )
            )
            user = actor.user if actor.user is not None and getattr(actor.user, "is_authenticated", False) else None
            revision = InboundMessageRevision.objects.create(
                message=locked, body=body, diff=diff, note=note, edited_by=user
            )
            current = body
        before = {"status": locked.status, "response_status": locked.response_status}
        processing_actor = replace(
            actor, system=locked.system, correlation_id=locked.correlation_id or actor.correlation_id,
            causation_id=f"inbound:{locked.pk}",
        )
        outcome = _run(locked, processing_actor, current)
        audit_record(
            actor=actor, action="inbound.reprocessed", object_type="inbound_message", object_id=locked.pk,
            before=before,
            after={"status": locked.status, "response_status": locked.response_status,
                   "revision": revision.pk if revision else None},
            note=note,
        )
        if locked.status == InboundStatus.PROCESSED:
            exceptions_resolve_for_source(
                actor=actor, inbound_message=locked,
                note="Reprocessed successfully" + (" with an edited body" if revision else "") + (f": {note}" if note else "."),
            )
    message.refresh_from_db()
    return outcome
