"""Return-to-credit: a customer-facing system requests an RMA, which the return rules authorise or
refuse on the spot, line by line (``return_request``); the warehouse reports what came back
(``return_receipt_record``); the ERP's credit memo then credits it (canonical.services.billing).

The rules, per order line: within the return window (HUB_RETURN_WINDOW_DAYS after the line last
shipped, or after its first invoice with HUB_RETURN_WINDOW_FROM=invoice), and a quantity of at most
shipped − returned − what open returns already hold.
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation, CanonicalError, UnknownReference
from canonical.models import (
    Domain,
    EntityType,
    InvoiceLine,
    InvoiceStatus,
    Order,
    OrderLine,
    ReturnAuthorization,
    ReturnLine,
    ReturnStatus,
    ShipmentLine,
    System,
    SystemOfRecord,
)
from canonical.services.billing import (
    _emit,
    _returned_quantities_sync,
    return_credit_when_received,
    return_status_move,
)
from canonical.services.orders import line_problem
from canonical.services.refs import UpsertResult, external_ref_bind, external_ref_find

# Return requests (the process API for customer-facing systems)


class ReturnRefused(BusinessRuleViolation):
    slug = "return-refused"
    title = "Return refused"


class ReturnRequestConflict(CanonicalError):
    status_code = 409
    slug = "return-request-conflict"
    title = "Return request already made with other content"


class ReturnRequesterRefused(CanonicalError):
    status_code = 403
    slug = "not-a-return-requester"
    title = "Not a customer-facing system"


# Who may ask for an RMA on a customer's behalf: the systems customers and sales reps use.
RETURN_REQUESTER_KINDS = frozenset({"crm", "ecommerce"})
# Where each refusal of a line points in the request body, by the kind of rule that refused it.
_REFUSAL_FIELDS = {"window": "line_number", "quantity": "quantity"}


@dataclass
class ReturnRequestOutcome:
    """What a return request did: the RMA (authorised or rejected), whether it is new, and for a
    rejected one the refusals per line as problem-detail errors."""

    rma: ReturnAuthorization
    created: bool
    refusals: list[dict] = field(default_factory=list)

    @property
    def authorised(self) -> bool:
        return self.rma.status != ReturnStatus.REJECTED

    def refused(self) -> ReturnRefused:
        return ReturnRefused(
            f"Return {self.rma.number} is refused: {self.rma.decision_reason}",
            errors=self.refusals,
            rma={"id": self.rma.pk, "number": self.rma.number, "status": self.rma.status},
        )


def return_requester_assert(*, system: System) -> None:
    if system.kind not in RETURN_REQUESTER_KINDS:
        raise ReturnRequesterRefused(
            f"Return requests come from customer-facing systems (CRM, ecommerce); '{system.code}' is a "
            f"{system.get_kind_display()} system. The returns' system of record upserts its own RMAs instead.",
            system=system.code,
        )


def return_request(*, system: System, external_id: str, data: dict, actor: Actor) -> ReturnRequestOutcome:
    """Request an RMA for a customer and authorise or refuse it by the return rules, line by line.

    Rules, per line: it must be within the return window (HUB_RETURN_WINDOW_DAYS after the line last
    shipped, or after its first invoice with HUB_RETURN_WINDOW_FROM=invoice), and the quantity at
    most shipped − returned − what open returns already hold for it. Every line must pass for the
    RMA to be authorised; otherwise it is recorded as rejected with the reason on each refused line.
    Either way the RMA is kept and its events emitted (return.requested, then return.authorised or
    return.rejected).

    ``external_id`` is the caller's id for the request: the same id with the same content returns
    the RMA already made (created False), with other content it is refused (ReturnRequestConflict).
    """
    return_requester_assert(system=system)
    order, lines = data["order"], data["lines"]
    customer = data["customer"] or order.customer
    content = (order.pk, customer.pk, data["reason"], Counter((i["order_line_id"], i["quantity"]) for i in lines))
    with transaction.atomic():
        # One request at a time per order: two requests must not both take the last returnable unit.
        order = Order.objects.select_for_update().get(pk=order.pk)
        existing = external_ref_find(
            system=system, entity_type=EntityType.RETURN, external_id=external_id, model=ReturnAuthorization
        )
        if existing is not None:
            stored = (existing.order_id, existing.customer_id, existing.reason,
                      Counter(existing.lines.values_list("order_line_id", "quantity_requested")))
            if stored != content:
                raise ReturnRequestConflict(
                    f"Return request '{external_id}' was already made (RMA {existing.number}) with other content; "
                    "send a new request with its own id.",
                    external_id=external_id, rma=existing.number,
                )
            return ReturnRequestOutcome(rma=existing, created=False, refusals=_stored_refusals(existing, lines))
        now = timezone.now()
        decisions = _return_lines_refusals(order=order, items=lines, at=now)
        rma = ReturnAuthorization.objects.create(
            number=f"tmp-{uuid.uuid4().hex}", order=order, customer=customer, reason=data["reason"],
            status=ReturnStatus.REQUESTED, requested_at=now,
        )
        rma.number = _hub_rma_number(rma.pk)
        rma.save(update_fields=["number"])
        ReturnLine.objects.bulk_create([
            ReturnLine(rma=rma, order_line_id=item["order_line_id"], quantity_requested=item["quantity"],
                       refusal_reason="\n".join(f"{kind}: {message}" for kind, message in refused)[:300])
            for item, refused in zip(lines, decisions, strict=True)
        ])
        external_ref_bind(system=system, entity_type=EntityType.RETURN, external_id=external_id, object_id=rma.pk)
        from canonical.serializers.billing import ReturnSerializer, return_queryset

        _emit(aggregate_type="return", record=rma, event_type="return.requested", actor=actor,
              payload={"return": ReturnSerializer(return_queryset().get(pk=rma.pk)).data})
        refused_numbers = [item["line_number"] for item, refused in zip(lines, decisions, strict=True) if refused]
        if refused_numbers:
            rma.decision_reason = (
                f"line{'s' if len(refused_numbers) > 1 else ''} {', '.join(map(str, refused_numbers))} "
                "failed the return rules (the reason is on each line)."
            )
            rma.save(update_fields=["decision_reason"])
            refusals = _refusal_errors(lines, decisions)
            return_status_move(rma=rma, status=ReturnStatus.REJECTED, actor=actor, refusals=refusals)
            return ReturnRequestOutcome(rma=rma, created=True, refusals=refusals)
        rma.decision_reason = "Authorised by the return rules."
        rma.save(update_fields=["decision_reason"])
        return_status_move(rma=rma, status=ReturnStatus.AUTHORISED, actor=actor)
    return ReturnRequestOutcome(rma=rma, created=True)


def _hub_rma_number(pk: int) -> str:
    number = f"RMA-H{pk:06d}"
    suffix = 1
    while ReturnAuthorization.objects.filter(number=number).exists():  # an ERP number may look the same
        suffix += 1
        number = f"RMA-H{pk:06d}-{suffix}"
    return number


def _refusal_errors(lines: list[dict], decisions: list[list[tuple[str, str]]]) -> list[dict]:
    errors = []
    for index, (item, refused) in enumerate(zip(lines, decisions, strict=True)):
        for kind, message in refused:
            name = _REFUSAL_FIELDS.get(kind, "line_number")
            errors.append({"pointer": f"/lines/{index}/{name}", "field": name, "line_number": item["line_number"],
                           "rule": kind, "messages": [message]})
    return errors


def _stored_refusals(rma: ReturnAuthorization, lines: list[dict]) -> list[dict]:
    """The refusals of a rejected RMA, pointed at the lines of a repeated request."""
    if rma.status != ReturnStatus.REJECTED:
        return []
    stored = dict(rma.lines.values_list("order_line_id", "refusal_reason"))
    decisions = []
    for item in lines:
        entries = [entry.partition(": ") for entry in (stored.get(item["order_line_id"]) or "").splitlines()]
        decisions.append([(kind, message) for kind, _, message in entries if message])
    return _refusal_errors(lines, decisions)


@dataclass(frozen=True)
class _LineFacts:
    """What the return rules read of an order line's history."""

    first_invoiced: datetime.datetime | None  # its first invoice that was not credited
    last_shipped: datetime.datetime | None  # its latest shipment: delivered, else dispatched, else recorded
    held: Decimal  # requested but not yet received on returns still requested or authorised


def _lines_facts(line_ids: list[int]) -> dict[int, _LineFacts]:
    """_LineFacts of each of these order lines, in three queries whatever their number."""
    first_invoiced = dict(
        InvoiceLine.objects.filter(order_line_id__in=line_ids).exclude(invoice__status=InvoiceStatus.CREDITED)
        .order_by().values("order_line_id").annotate(first=Min("invoice__issued_at"))
        .values_list("order_line_id", "first")
    )
    last_shipped = dict(
        ShipmentLine.objects.filter(order_line_id__in=line_ids).order_by().values("order_line_id")
        .annotate(last=Max(Coalesce("shipment__delivered_at", "shipment__dispatched_at", "shipment__created_at")))
        .values_list("order_line_id", "last")
    )
    held = dict.fromkeys(line_ids, Decimal("0"))
    open_returns = ReturnLine.objects.filter(
        order_line_id__in=line_ids, rma__status__in=[ReturnStatus.REQUESTED, ReturnStatus.AUTHORISED]
    ).values_list("order_line_id", "quantity_requested", "quantity_received")
    for line_id, requested, received in open_returns:
        held[line_id] += max(requested - received, Decimal("0"))
    return {pk: _LineFacts(first_invoiced.get(pk), last_shipped.get(pk), held[pk]) for pk in line_ids}


def _window_opened(facts: _LineFacts) -> tuple[datetime.datetime | None, str]:
    """When the return window of an order line opened, and what opened it ("shipped" or "invoiced").

    By shipment (the default): the latest of the line's shipments, at delivery where known, else
    dispatch, else when the warehouse recorded it; with no shipment on record, its first invoice.
    By invoice (HUB_RETURN_WINDOW_FROM=invoice): its first invoice that was not credited.
    """
    if getattr(settings, "HUB_RETURN_WINDOW_FROM", "shipment") == "invoice":
        return facts.first_invoiced, "invoiced"
    if facts.last_shipped is not None:
        return facts.last_shipped, "shipped"
    return facts.first_invoiced, "invoiced"


def _available(line: OrderLine, facts: _LineFacts) -> tuple[Decimal, Decimal]:
    """(quantity that may still be returned, quantity open returns hold) for an order line:
    shipped − returned (received on returns not rejected) − requested but not yet received on
    returns still requested or authorised."""
    return max(line.quantity_shipped - line.quantity_returned - facts.held, Decimal("0")), facts.held


def _return_lines_refusals(*, order: Order, items: list[dict], at: datetime.datetime) -> list[list[tuple[str, str]]]:
    """Each requested line's refusals by the return rules (none: it passes); the same queries for any number."""
    wanted = {item["order_line_id"] for item in items}
    lines = {line.pk: line for line in OrderLine.objects.filter(order=order, pk__in=wanted)}
    if wanted - set(lines):
        raise OrderLine.DoesNotExist(f"Order {order.number} has no line with id {min(wanted - set(lines))}.")
    facts = _lines_facts(sorted(wanted))
    return [_return_line_refusals(line=lines[item["order_line_id"]], facts=facts[item["order_line_id"]],
                                  requested=item["quantity"], at=at) for item in items]


def _return_line_refusals(*, line: OrderLine, facts: _LineFacts, requested: Decimal,
                          at: datetime.datetime) -> list[tuple[str, str]]:
    number = line.line_number
    refused: list[tuple[str, str]] = []
    days = int(getattr(settings, "HUB_RETURN_WINDOW_DAYS", 30))
    opened, basis = _window_opened(facts)
    if opened is None and basis == "invoiced" and line.quantity_shipped > 0:
        refused.append(("window", f"Line {number} is not invoiced yet; its return window opens when it is."))
    elif opened is not None and at > opened + datetime.timedelta(days=days):
        closed = opened + datetime.timedelta(days=days)
        refused.append((
            "window",
            f"The return window for line {number} closed on {closed:%Y-%m-%d}: returns are accepted for {days} "
            f"days after the line {basis} ({opened:%Y-%m-%d}).",
        ))
    available, held = _available(line, facts)
    if requested > available:
        if line.quantity_shipped == 0:
            reason = f"Nothing of line {number} has shipped yet, so nothing can be returned."
        else:
            reason = (
                f"At most {_qty(available)} of line {number} can be returned ({_qty(line.quantity_shipped)} shipped, "
                f"{_qty(line.quantity_returned)} returned, {_qty(held)} on open returns); {_qty(requested)} requested."
            )
        refused.append(("quantity", reason))
    return refused


def _qty(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


# Return receipts (the warehouse)


class NotReturnReceiver(CanonicalError):
    status_code = 409
    slug = "not-return-receiver"
    title = "Not the receiving warehouse"


class ReturnNotReceivable(CanonicalError):
    status_code = 409
    slug = "return-not-receivable"
    title = "Return cannot be received"


def return_receiver_assert(*, system: System) -> None:
    """Receipts come from the warehouse: the system of record for inventory (or for shipments)."""
    owners = dict(
        SystemOfRecord.objects.filter(domain__in=[Domain.INVENTORY, Domain.SHIPMENTS])
        .values_list("domain", "system__code")
    )
    if system.code not in owners.values():
        warehouse = owners.get(Domain.INVENTORY) or owners.get(Domain.SHIPMENTS)
        raise NotReturnReceiver(
            f"Return receipts come from the warehouse that receives the goods (the inventory system of record"
            f"{f', {warehouse!r}' if warehouse else ''}); '{system.code}' is not it.",
            writer=system.code, warehouse=warehouse,
        )


def return_for_receiver(*, system: System, reference: str, lock: bool = False) -> ReturnAuthorization:
    """The return ``system`` calls ``reference``: its own id for it, else the RMA number."""
    found = external_ref_find(
        system=system, entity_type=EntityType.RETURN, external_id=reference, model=ReturnAuthorization, lock=lock
    )
    if found is None and "\x00" not in reference:
        queryset = ReturnAuthorization.objects.select_for_update() if lock else ReturnAuthorization.objects
        found = queryset.filter(number=reference).first()
    if found is None:
        raise UnknownReference(
            f"No return with number '{reference}', and '{system.code}' has no return with that id.",
            system=system.code, entity_type=EntityType.RETURN, external_id=reference,
        )
    return found


def return_receipt_record(*, system: System, rma: ReturnAuthorization, data: dict, actor: Actor) -> UpsertResult:
    """Record what the warehouse received back against an authorised return.

    ``data["lines"]`` give, per return line (``return_line_id``), the total received so far: a
    repeat changes nothing, a later count corrects it. The first receipt moves the return to
    received (return.received); a correction of a received one emits return.updated. Returned
    quantities roll up into the order lines (never more than shipped), and a return the ERP has
    already credited moves on to credited. Received more than authorised is refused at the line.
    Stock is not added here: the warehouse reports its own counts.
    """
    return_receiver_assert(system=system)
    with transaction.atomic():
        rma = ReturnAuthorization.objects.select_for_update().get(pk=rma.pk)
        if rma.status not in (ReturnStatus.AUTHORISED, ReturnStatus.RECEIVED):
            if rma.status == ReturnStatus.REQUESTED:
                why = "it is not authorised yet"
            else:
                why = f"it is already {rma.get_status_display().lower()}"
            raise ReturnNotReceivable(
                f"Return {rma.number} cannot be received: {why}.", rma=rma.number, return_status=rma.status
            )
        by_id = {line.pk: line for line in rma.lines.select_for_update().select_related("order_line")}
        changed = []
        for index, item in enumerate(data["lines"]):
            line = by_id[item["return_line_id"]]
            received = item["quantity_received"]
            if received > line.quantity_requested:
                raise line_problem(
                    f"Return {rma.number} line {line.order_line.line_number}: {_qty(received)} received is more "
                    f"than the {_qty(line.quantity_requested)} authorised.",
                    f"/lines/{index}/quantity_received",
                )
            if received != line.quantity_received:
                line.quantity_received = received
                line.save(update_fields=["quantity_received"])
                changed.append(line.order_line.line_number)
        first = rma.status == ReturnStatus.AUTHORISED
        if rma.received_at is None:
            rma.received_at = data["received_at"]
        if not first and not changed:
            return UpsertResult(instance=rma, created=False)
        rma.save(update_fields=["received_at", "updated_at"])
        pointers = {by_id[i["return_line_id"]].order_line_id: f"/lines/{n}/quantity_received"
                    for n, i in enumerate(data["lines"])}
        _returned_quantities_sync(order_id=rma.order_id, actor=actor, pointers=pointers)
        if first:
            return_status_move(rma=rma, status=ReturnStatus.RECEIVED, actor=actor, lines=sorted(changed))
            return_credit_when_received(rma=rma, actor=actor)
        else:
            from canonical.serializers.billing import ReturnSerializer, return_queryset

            _emit(aggregate_type="return", record=rma, event_type="return.updated", actor=actor,
                  payload={"return": ReturnSerializer(return_queryset().get(pk=rma.pk)).data,
                           "changed": ["lines"], "lines": sorted(changed)})
    return UpsertResult(instance=rma, created=first, changes={"lines": sorted(changed)} if changed else {})
