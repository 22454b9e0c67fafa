"""The exception queue's services: raise (repeats count as occurrences), move through the status
table, resolve, ignore, assign, retry or replay the source, reprocess an edited inbound body.

Every action locks the exception row, runs in one transaction and writes an append-only audit
entry with the state before and after. The bulk variants act item by item, each in its own
transaction, and report what was done and what was skipped and why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import CanonicalError
from canonical.json_depth import TOO_DEEP
from canonical.services.events import audit_record
from canonical.state import IllegalTransition
from connectors.models import (
    ACTIVE_EXCEPTION_STATUSES,
    EXCEPTION_TRANSITIONS,
    SLA_BY_SEVERITY,
    Category,
    ExceptionStatus,
    IntegrationException,
    Severity,
    Team,
)

AUDIT_OBJECT_TYPE = "exception"
CLOSED_STATUSES = (ExceptionStatus.RESOLVED, ExceptionStatus.IGNORED)


class ExceptionActionRefused(CanonicalError):
    """The action does not apply to this exception (no source to retry, note missing, ...)."""

    status_code = 409
    slug = "exception-action-refused"
    title = "Exception action refused"


# Categories with a business decision of their own, made on a page of its own, which resolves the
# exception. Closing one by hand (resolve, ignore) would not make the decision and would leave the
# order on hold, or the account held for review, with nobody left to see it. Invoice disputes are
# not here: the ERP's next posting of the invoice settles one (hub.workflows.disputes), and finance
# may close one by hand when it was settled outside the systems.
DECIDED_ELSEWHERE: dict[str, str] = {
    Category.CREDIT_HOLD: "a credit hold is decided in the finance credit-hold queue: release or reject the "
                          "order there, which resolves this exception",
    Category.DUPLICATE_CUSTOMER: "a duplicate customer is decided on the duplicate review page: merge or "
                                 "dismiss there, which resolves this exception",
}


def exception_closable_by_hand(*, exception: IntegrationException | int) -> None:
    """Refuse (ExceptionActionRefused, saying where to go) an exception whose category is DECIDED_ELSEWHERE."""
    pk = exception.pk if isinstance(exception, IntegrationException) else exception
    category = IntegrationException.objects.filter(pk=pk).values_list("category", flat=True).first()
    if category in DECIDED_ELSEWHERE:
        raise ExceptionActionRefused(DECIDED_ELSEWHERE[category], category=category)


def queue_permission(team: str) -> str:
    """The permission that lets a user see and work one team's queue."""
    return f"connectors.work_{team}_queue"


def user_can_work(user, team: str) -> bool:
    return bool(user is not None and (user.is_superuser or user.has_perm(queue_permission(team))))


def _snapshot(exception: IntegrationException) -> dict[str, Any]:
    return {
        "status": exception.status,
        "team": exception.team,
        "assignee": exception.assignee.get_username() if exception.assignee_id else None,
        "severity": exception.severity,
        "occurrences": exception.occurrences,
        "resolution_note": exception.resolution_note,
    }


def _lock(exception: IntegrationException | int) -> IntegrationException:
    pk = exception.pk if isinstance(exception, IntegrationException) else exception
    return IntegrationException.objects.select_for_update().get(pk=pk)


def _audit(*, actor: Actor, action: str, exception: IntegrationException, before: dict, note: str = "") -> None:
    exception.refresh_from_db()
    audit_record(
        actor=actor, action=action, object_type=AUDIT_OBJECT_TYPE, object_id=exception.pk,
        before=before, after=_snapshot(exception), note=note,
    )


def _require_text(value: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ExceptionActionRefused(f"A {what} is required.", field=what)
    return text


def _acting_user(actor: Actor):
    user = actor.user
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def exception_raise(
    *,
    category: str,
    team: str,
    title: str,
    fingerprint: str,
    actor: Actor,
    severity: str = Severity.MEDIUM,
    detail: str = "",
    context: dict | None = None,
    workflow_step: str = "",
    refresh_facts: bool = False,
    **links,
) -> IntegrationException:
    """Open an exception, or count one more occurrence of the active one with the same fingerprint.

    ``links`` are the business records and sources it touches: customer, order, shipment,
    invoice, purchase_order, supplier, connector, delivery, inbound_message. A repeat keeps the
    first occurrence's title, context and links unless ``refresh_facts`` says the latest
    occurrence's facts are the ones that count (a supplier's newest acknowledgement).
    """
    now = timezone.now()
    with transaction.atomic():
        existing = (
            IntegrationException.objects.select_for_update()
            .filter(fingerprint=fingerprint, status__in=ACTIVE_EXCEPTION_STATUSES)
            .first()
        )
        if existing is not None:
            facts = {"title": title[:300], "context": context or {}, **links} if refresh_facts else {}
            IntegrationException.objects.filter(pk=existing.pk).update(
                occurrences=F("occurrences") + 1, last_seen_at=now, detail=detail or existing.detail, **facts
            )
            existing.refresh_from_db()
            return existing
        try:
            with transaction.atomic():
                created = IntegrationException.objects.create(
                    category=category,
                    team=team,
                    severity=severity,
                    title=title[:300],
                    detail=detail,
                    context=context or {},
                    fingerprint=fingerprint[:200],
                    last_seen_at=now,
                    sla_due_at=now + SLA_BY_SEVERITY[severity],
                    workflow_step=workflow_step,
                    correlation_id=actor.correlation_id,
                    **links,
                )
        except IntegrityError:
            # Another worker opened it between our check and insert: count ours on theirs.
            IntegrationException.objects.filter(
                fingerprint=fingerprint, status__in=ACTIVE_EXCEPTION_STATUSES
            ).update(occurrences=F("occurrences") + 1, last_seen_at=now)
            return IntegrationException.objects.get(fingerprint=fingerprint, status__in=ACTIVE_EXCEPTION_STATUSES)
        audit_record(
            actor=actor, action="exception.opened", object_type="exception", object_id=created.pk,
            after={"category": category, "team": team, "severity": severity, "title": created.title},
        )
    return created


def exception_transition(
    *,
    exception: IntegrationException | int,
    status: str,
    actor: Actor,
    note: str = "",
    action: str = "exception.status_changed",
) -> IntegrationException:
    """Move an exception to ``status`` through EXCEPTION_TRANSITIONS (IllegalTransition otherwise).

    Closing (resolved, ignored) records who, when and why; reopening clears that, and is refused
    while another active exception has the same fingerprint (the repeats are counted there).
    """
    with transaction.atomic():
        locked = _lock(exception)
        EXCEPTION_TRANSITIONS.check(locked.status, status)
        before = _snapshot(locked)
        if status in CLOSED_STATUSES:
            locked.resolved_at = timezone.now()
            locked.resolved_by = _acting_user(actor)
            locked.resolution_note = note
        elif locked.status in CLOSED_STATUSES:
            twin = (
                IntegrationException.objects.filter(
                    fingerprint=locked.fingerprint, status__in=ACTIVE_EXCEPTION_STATUSES
                ).exclude(pk=locked.pk).values_list("pk", flat=True).first()
            )
            if twin is not None:
                raise ExceptionActionRefused(
                    f"Exception {twin} is already open for the same failure; work that one instead.",
                    active_exception=twin,
                )
            locked.resolved_at = None
            locked.resolved_by = None
            locked.resolution_note = ""
        locked.status = status
        locked.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])
        _audit(actor=actor, action=action, exception=locked, before=before, note=note)
    return locked


def exception_resolve(*, exception: IntegrationException | int, actor: Actor, note: str) -> IntegrationException:
    note = _require_text(note, "note")
    return exception_transition(
        exception=exception, status=ExceptionStatus.RESOLVED, actor=actor, note=note, action="exception.resolved"
    )


def exception_ignore(*, exception: IntegrationException | int, actor: Actor, reason: str) -> IntegrationException:
    reason = _require_text(reason, "reason")
    return exception_transition(
        exception=exception, status=ExceptionStatus.IGNORED, actor=actor, note=reason, action="exception.ignored"
    )


def exception_reopen(*, exception: IntegrationException | int, actor: Actor, note: str = "") -> IntegrationException:
    return exception_transition(
        exception=exception, status=ExceptionStatus.OPEN, actor=actor, note=note, action="exception.reopened"
    )


def exception_assign(
    *,
    exception: IntegrationException | int,
    actor: Actor,
    user=None,
    team: str | None = None,
) -> IntegrationException:
    """Assign an active exception to a person (who must be able to work its team's queue) or hand
    it to another team's queue (unassigned, open, for that team to pick up).
    """
    if (user is None) == (team is None):
        raise ExceptionActionRefused("Assign to either a user or a team.")
    if team is not None and team not in Team.values:
        raise ExceptionActionRefused(f"'{team}' is not a team; teams are: {', '.join(Team.values)}.", field="team")
    with transaction.atomic():
        locked = _lock(exception)
        if locked.status not in ACTIVE_EXCEPTION_STATUSES:
            raise ExceptionActionRefused(f"It is {locked.get_status_display().lower()}; reopen it first.")
        before = _snapshot(locked)
        if user is not None:
            if not user_can_work(user, locked.team):
                raise ExceptionActionRefused(
                    f"{user.get_username()} does not work the {locked.get_team_display().lower()} queue.",
                    field="assignee",
                )
            if locked.assignee_id == user.pk:
                raise ExceptionActionRefused(f"It is already assigned to {user.get_username()}.")
            locked.assignee = user
            if locked.status == ExceptionStatus.OPEN:
                EXCEPTION_TRANSITIONS.check(locked.status, ExceptionStatus.IN_PROGRESS)
                locked.status = ExceptionStatus.IN_PROGRESS
            action = "exception.assigned"
        else:
            if locked.team == team:
                raise ExceptionActionRefused(f"It is already in the {locked.get_team_display().lower()} queue.")
            locked.team = team
            locked.assignee = None
            if locked.status == ExceptionStatus.IN_PROGRESS:
                EXCEPTION_TRANSITIONS.check(locked.status, ExceptionStatus.OPEN)
                locked.status = ExceptionStatus.OPEN
            action = "exception.team_changed"
        locked.save(update_fields=["assignee", "team", "status"])
        _audit(actor=actor, action=action, exception=locked, before=before)
    return locked


def _require_active(exception: IntegrationException) -> None:
    if exception.status not in ACTIVE_EXCEPTION_STATUSES:
        raise ExceptionActionRefused(f"It is {exception.get_status_display().lower()}; reopen it first.")


def _start_work(exception: IntegrationException) -> None:
    """A retry is under way: the exception stays active until the source succeeds."""
    if exception.status == ExceptionStatus.OPEN:
        EXCEPTION_TRANSITIONS.check(exception.status, ExceptionStatus.IN_PROGRESS)
        exception.status = ExceptionStatus.IN_PROGRESS
        exception.save(update_fields=["status"])


def exception_retry(*, exception: IntegrationException | int, actor: Actor) -> IntegrationException:
    """Retry the failed source: a dead delivery is queued again (the dispatcher resolves the
    exception when it is delivered); a failed inbound message is processed again (resolved at
    once if it goes through, otherwise the failure is counted on this exception again).
    """
    # Imported here: the delivery and inbound services raise exceptions through this module.
    from connectors.services.deliveries import delivery_retry
    from connectors.services.inbound import inbound_reprocess

    with transaction.atomic():
        locked = _lock(exception)
        _require_active(locked)
        before = _snapshot(locked)
        if locked.delivery_id:
            delivery_retry(delivery=locked.delivery, actor=actor)
            _start_work(locked)
            note = f"delivery {locked.delivery_id} queued again"
        elif locked.inbound_message_id:
            # Success resolves this exception inside inbound_reprocess; a failure counts on it again.
            inbound_reprocess(message=locked.inbound_message, actor=actor)
            locked.inbound_message.refresh_from_db()
            note = f"inbound message {locked.inbound_message_id} reprocessed: {locked.inbound_message.status}"
        else:
            raise ExceptionActionRefused("It has no delivery or inbound message to retry.")
        _audit(actor=actor, action="exception.retried", exception=locked, before=before, note=note)
    return locked


def exception_replay(*, exception: IntegrationException | int, actor: Actor) -> int:
    """Send the events of the failed delivery's aggregate to its subscription again (receivers
    de-duplicate by event id). Returns how many deliveries were queued.
    """
    from connectors.services.deliveries import deliveries_replay

    with transaction.atomic():
        locked = _lock(exception)
        if not locked.delivery_id:
            raise ExceptionActionRefused("Only an exception about a delivery can be replayed.")
        delivery = locked.delivery
        event = delivery.event
        before = _snapshot(locked)
        queued = deliveries_replay(
            actor=actor,
            subscription=delivery.subscription,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
        ).queued
        if locked.status in ACTIVE_EXCEPTION_STATUSES:
            _start_work(locked)
        _audit(
            actor=actor, action="exception.replayed", exception=locked, before=before,
            note=f"{queued} event(s) of {event.aggregate_type}:{event.aggregate_id} replayed "
                 f"to subscription {delivery.subscription_id}",
        )
    return queued


def exception_reprocess_with_edit(
    *, exception: IntegrationException | int, actor: Actor, body: str, note: str = ""
) -> IntegrationException:
    """Reprocess the exception's inbound message with an edited body (the inbound service keeps
    the revision and its diff); resolved when it goes through.
    """
    from connectors.services.inbound import inbound_current_body, inbound_reprocess

    with transaction.atomic():
        locked = _lock(exception)
        _require_active(locked)
        message = locked.inbound_message
        if message is None:
            raise ExceptionActionRefused("It has no inbound message to edit.")
        current = inbound_current_body(message)
        if _same_body(message, current, body):
            raise ExceptionActionRefused("The body was not changed; use Retry to reprocess it as it is.", field="body")
        before = _snapshot(locked)
        # The revision and its diff are kept by inbound_reprocess; success resolves this exception there.
        inbound_reprocess(message=message, actor=actor, body=body, note=note)
        message.refresh_from_db()
        _audit(
            actor=actor, action="exception.reprocessed_with_edit", exception=locked, before=before,
            note=f"inbound message {message.pk} edited and reprocessed: {message.status}. {note}".strip(),
        )
    return locked


def _same_body(message, current: str, edited: str) -> bool:
    """Whether the edit changes nothing; a JSON body must still be JSON (refused naming where not)."""
    is_json = "json" in (message.content_type or "").lower()
    try:
        original = json.loads(current)
        is_json = True
    except (ValueError, RecursionError):
        original = None
    if not is_json:
        return current == edited
    try:
        return json.loads(edited) == original
    except RecursionError:
        raise ExceptionActionRefused(f"The edited body is not usable: {TOO_DEEP}", field="body") from None
    except ValueError as exc:
        raise ExceptionActionRefused(
            f"The edited body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).", field="body",
        ) from exc


def exceptions_resolve_open(*, actor: Actor, note: str, **where) -> list[int]:
    """Resolve, with ``note``, the active exceptions matching ``where`` (e.g. ``order=..., category=...``):
    what a workflow does when the step an exception waited for has happened. Their ids, oldest first."""
    if not where:
        raise ValueError("Name the exceptions to resolve.")
    with transaction.atomic():
        pks = list(IntegrationException.objects.filter(status__in=ACTIVE_EXCEPTION_STATUSES, **where)
                   .order_by("pk").values_list("pk", flat=True))
        for pk in pks:
            exception_resolve(exception=pk, actor=actor, note=note)
    return pks


def credit_hold_exceptions_resolve(*, order, actor: Actor, note: str) -> list[int]:
    """Resolve the order's open credit-hold exceptions with ``note`` (its hold is decided, or the
    order is cancelled: finance has nothing left to decide); their ids."""
    return exceptions_resolve_open(actor=actor, note=note, order=order, category=Category.CREDIT_HOLD)


def credit_hold_exceptions_resolve_cancelled(*, order, system, actor: Actor) -> list[int]:
    """credit_hold_exceptions_resolve for an order its system of record ``system`` cancelled (by an
    ``order.status`` message or by writing the order); their ids."""
    return credit_hold_exceptions_resolve(order=order, actor=actor,
                                          note=f"Order {order.number} cancelled by {system.code}.")


def exceptions_resolve_for_source(*, actor: Actor, note: str, delivery=None, inbound_message=None) -> int:
    """Resolve the active exceptions of a source that has now succeeded (a dead delivery
    delivered on retry, a message processed on reprocessing). Returns how many.
    """
    if (delivery is None) == (inbound_message is None):
        raise ValueError("Pass exactly one of delivery or inbound_message.")
    source = {"delivery": delivery} if delivery is not None else {"inbound_message": inbound_message}
    return len(exceptions_resolve_open(actor=actor, note=note, **source))


# --- bulk -----------------------------------------------------------------------------------

# What a person can fix or choose to skip; anything else is a defect and propagates.
SKIPPABLE = (IllegalTransition, CanonicalError, ValidationError, IntegrityError, ValueError, LookupError)


def _cannot_become(exc: IllegalTransition) -> str:
    return f"it is {_words(exc.current)} and cannot become {_words(exc.target)}"


def each_in_its_own_transaction(
    items: Iterable, act: Callable[[Any], Any], *, gone: type[Exception],
    illegal: Callable[[IllegalTransition], str] = _cannot_become,
) -> Iterator[tuple[Any, Any, str]]:
    """``act(item)`` for each item in a transaction of its own: ``(item, its answer, "")`` when done,
    ``(item, None, why)`` when skipped.

    Skipped, with what a person reads: an item whose record no longer exists (``gone``: its
    model's DoesNotExist), a transition its status does not allow (``illegal`` words it), and
    whatever else a person can fix (SKIPPABLE). Anything else is a defect and propagates; the
    items done before it stay done.
    """
    for item in items:
        try:
            with transaction.atomic():
                answer = act(item)
        except gone:
            yield item, None, "no longer exists"
        except IllegalTransition as exc:
            yield item, None, illegal(exc)
        except SKIPPABLE as exc:
            yield item, None, getattr(exc, "detail", None) or str(exc)
        else:
            yield item, answer, ""


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def summary(self, verb: str) -> str:
        text = f"{len(self.done)} {verb}"
        if self.skipped:
            reasons: dict[str, list[int]] = {}
            for pk, why in self.skipped:
                reasons.setdefault(why, []).append(pk)
            details = "; ".join(f"{_id_list(pks)}: {why}" for why, pks in reasons.items())
            text += f", {len(self.skipped)} skipped ({details})"
        return text + "."


def _words(status: str) -> str:
    return status.replace("_", " ")


def _id_list(pks: list[int], shown: int = 10) -> str:
    text = ", ".join(f"#{pk}" for pk in pks[:shown])
    return text + (f" and {len(pks) - shown} more" if len(pks) > shown else "")


def _ids(exceptions: QuerySet | Iterable[int | IntegrationException]) -> list[int]:
    if isinstance(exceptions, QuerySet):
        return list(exceptions.order_by("pk").values_list("pk", flat=True))
    return sorted({item.pk if isinstance(item, IntegrationException) else int(item) for item in exceptions})


def exceptions_bulk(
    *, exceptions: QuerySet | Iterable[int | IntegrationException], action: Callable[[int], Any]
) -> BulkResult:
    """Run ``action(pk)`` for each exception in its own transaction; report done and skipped."""
    result = BulkResult()
    for pk, _, skipped in each_in_its_own_transaction(_ids(exceptions), action,
                                                       gone=IntegrationException.DoesNotExist):
        if skipped:
            result.skipped.append((pk, skipped))
        else:
            result.done.append(pk)
    return result


def exceptions_resolve(*, exceptions, actor: Actor, note: str) -> BulkResult:
    """Staff's generic resolve: refused, per exception, for the categories DECIDED_ELSEWHERE."""
    _require_text(note, "note")

    def resolve(pk: int) -> IntegrationException:
        exception_closable_by_hand(exception=pk)
        return exception_resolve(exception=pk, actor=actor, note=note)

    return exceptions_bulk(exceptions=exceptions, action=resolve)


def exceptions_ignore(*, exceptions, actor: Actor, reason: str) -> BulkResult:
    """Staff's generic ignore: refused, per exception, for the categories DECIDED_ELSEWHERE."""
    _require_text(reason, "reason")

    def ignore(pk: int) -> IntegrationException:
        exception_closable_by_hand(exception=pk)
        return exception_ignore(exception=pk, actor=actor, reason=reason)

    return exceptions_bulk(exceptions=exceptions, action=ignore)


def exceptions_reopen(*, exceptions, actor: Actor, note: str = "") -> BulkResult:
    return exceptions_bulk(exceptions=exceptions, action=lambda pk: exception_reopen(
        exception=pk, actor=actor, note=note))


def exceptions_assign(*, exceptions, actor: Actor, user=None, team: str | None = None) -> BulkResult:
    return exceptions_bulk(exceptions=exceptions, action=lambda pk: exception_assign(
        exception=pk, actor=actor, user=user, team=team))


def exceptions_retry(*, exceptions, actor: Actor) -> BulkResult:
    return exceptions_bulk(exceptions=exceptions, action=lambda pk: exception_retry(exception=pk, actor=actor))


def exceptions_replay(*, exceptions, actor: Actor) -> BulkResult:
    return exceptions_bulk(exceptions=exceptions, action=lambda pk: exception_replay(exception=pk, actor=actor))
