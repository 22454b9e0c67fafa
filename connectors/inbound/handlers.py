"""What each inbound message type does: validate its content and call the canonical service.

A handler receives the message after JSON Schema validation and mapping, in the hub's
contract shape (see schemas/). It runs inside the pipeline's transaction; anything it
raises (a CanonicalError, IllegalTransition, InboundFailure) rolls back its writes and
becomes the partner's problem detail and the exception a person works.
"""

from __future__ import annotations

from django.db import transaction
from rest_framework import serializers

from canonical.api.serializers.billing import InvoiceUpsertInput
from canonical.api.serializers.customers import CustomerUpsertInput
from canonical.api.serializers.fulfilment import MilestoneReportInput
from canonical.api.serializers.supply import AcknowledgementInput, AdvanceShipNoticeInput
from canonical.errors import BusinessRuleViolation, UnknownReference, pointers_under
from canonical.models import (
    ORDER_TRANSITIONS,
    Customer,
    Domain,
    EntityType,
    ExternalRef,
    Invoice,
    Order,
    OrderStatus,
    Shipment,
)
from canonical.serializers.orders import OrderSerializer, order_queryset
from canonical.services.billing import invoice_write
from canonical.services.cancellation import order_status_set
from canonical.services.customers import customer_write
from canonical.services.events import event_record
from canonical.services.fulfilment import shipment_milestone_record
from canonical.services.orders import (
    DuplicateReference,
    order_fulfilment_status_catch_up,
    order_status_change,
)
from canonical.services.refs import (
    external_ref_bind,
    external_ref_find,
    system_of_record_assert,
    unknown_reference,
)
from canonical.services.supply import (
    advance_ship_notice_upsert,
    purchase_order_for_supplier,
    supplier_writer_assert,
)
from connectors.inbound.errors import InboundFailure, flatten_field_errors
from connectors.inbound.onboarding import customer_activated_message
from connectors.inbound.registry import HandlerContext, HandlerResult
from connectors.inbound.returns import credit_memo_posted_message, return_receipt_message
from connectors.services.exceptions import credit_hold_exceptions_resolve_cancelled
from connectors.services.supply_exceptions import supplier_acknowledgement_receive


def validated(serializer_class, data: dict, ctx: HandlerContext, pointer: str) -> dict:
    """The serializer's validated data; field errors become a 400 naming each pointer under ``pointer``."""
    return _valid(serializer_class(data=data, context={"system": ctx.system}), pointer)


def _valid(serializer: serializers.Serializer, pointer: str = "") -> dict:
    try:
        serializer.is_valid(raise_exception=True)
    except serializers.ValidationError as exc:
        errors = flatten_field_errors(exc.detail, pointer)
        raise InboundFailure(
            400,
            "The message content is not valid: " + "; ".join(f"{e['pointer']}: {e['messages'][0]}" for e in errors),
            slug="validation-error",
            title="Validation failed",
            category="validation",
            errors=errors,
        ) from exc
    return serializer.validated_data


def customer_upsert_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    known = external_ref_find(
        system=ctx.system, entity_type=EntityType.CUSTOMER, external_id=payload["external_id"], model=Customer
    )
    if known is not None:
        ctx.links["customer"] = known
    data = validated(CustomerUpsertInput, payload["customer"], ctx, "/customer")
    # Through the hub's onboarding (duplicate check, ERP activation): see customer_write.
    with pointers_under("/customer"):
        outcome = customer_write(system=ctx.system, external_id=payload["external_id"], data=data, actor=ctx.actor)
    customer = outcome.instance
    ctx.links["customer"] = customer
    return HandlerResult(
        201 if outcome.created else 200,
        {
            "customer": {"id": customer.pk, "account_number": customer.account_number, "status": customer.status,
                         "onboarding": customer.onboarding},
            "created": outcome.created,
            "changed": [] if outcome.created else sorted(outcome.changes),
        },
    )


def _order_locked(ctx: HandlerContext, reference: dict) -> Order:
    """The order named by the sender's id for it or by the hub's number, locked for the change."""
    by_ref = by_number = None
    if "external_id" in reference:
        by_ref = external_ref_find(
            system=ctx.system, entity_type=EntityType.ORDER, external_id=reference["external_id"], model=Order,
            lock=True,
        )
        if by_ref is None:
            raise unknown_reference(system=ctx.system, entity_type=EntityType.ORDER, external_id=reference["external_id"])
    if "number" in reference:
        by_number = Order.objects.select_for_update().filter(number=reference["number"]).first()
        if by_number is None:
            raise UnknownReference(
                f"No order with number '{reference['number']}'.", entity_type=EntityType.ORDER,
                number=reference["number"],
            )
    if by_ref is not None and by_number is not None and by_ref.pk != by_number.pk:
        raise BusinessRuleViolation(
            f"Your order '{reference['external_id']}' is hub order {by_ref.number}, not {reference['number']}.",
            errors=[{"pointer": "/order/number", "field": "number", "messages": ["Names a different order."]}],
        )
    order = by_ref or by_number
    ctx.links["order"] = order
    ctx.links["customer"] = order.customer
    return order


def _order_ref_bind(ctx: HandlerContext, order: Order, external_id: str) -> bool:
    """Record ``external_id`` as the sender's id for ``order``; True when it is new."""
    current = (
        ExternalRef.objects.filter(system=ctx.system, entity_type=EntityType.ORDER, object_id=order.pk)
        .values_list("external_id", flat=True)
        .first()
    )
    if current == external_id:
        return False
    if current is not None:
        raise DuplicateReference(
            f"Order {order.number} is already known to '{ctx.system.code}' as '{current}', not '{external_id}'.",
            number=order.number,
            external_id=current,
        )
    taken = external_ref_find(system=ctx.system, entity_type=EntityType.ORDER, external_id=external_id, model=Order)
    if taken is not None:
        raise DuplicateReference(
            f"'{ctx.system.code}' order '{external_id}' is already hub order {taken.number}.",
            number=taken.number,
            external_id=external_id,
        )
    external_ref_bind(system=ctx.system, entity_type=EntityType.ORDER, external_id=external_id, object_id=order.pk)
    return True


def _order_summary(order: Order) -> dict:
    return {"id": order.pk, "number": order.number, "status": order.status}


def order_status_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    system_of_record_assert(system=ctx.system, domain=Domain.ORDERS)
    with transaction.atomic():
        order = _order_locked(ctx, payload["order"])
        bound = False
        if payload.get("erp_order_number"):
            bound = _order_ref_bind(ctx, order, payload["erp_order_number"])
        status = payload["status"]
        changed = order_status_set(order=order, status=status, system=ctx.system, actor=ctx.actor,
                                   reason=payload.get("reason", ""))
        if changed and status == OrderStatus.CANCELLED:  # what the order held is given back; finance's hold too
            credit_hold_exceptions_resolve_cancelled(order=order, system=ctx.system, actor=ctx.actor)
        elif changed:
            order_fulfilment_status_catch_up(order=order, actor=ctx.actor)
    return HandlerResult(200, {"order": _order_summary(order), "changed": changed, "reference_recorded": bound})


def order_acknowledgement_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    system_of_record_assert(system=ctx.system, domain=Domain.ORDERS)
    with transaction.atomic():
        order = _order_locked(ctx, payload["order"])
        bound = _order_ref_bind(ctx, order, payload["erp_order_number"])
        if bound:
            event_record(
                event_type="order.updated", aggregate_type="order", aggregate_id=order.pk, actor=ctx.actor,
                payload={
                    "order": OrderSerializer(order_queryset().get(pk=order.pk)).data,
                    "changed": ["external_refs"],
                    "acknowledged_by": ctx.system.code,
                    "erp_order_number": payload["erp_order_number"],
                },
            )
        moved = False
        if ORDER_TRANSITIONS.can(order.status, OrderStatus.SUBMITTED_TO_ERP):
            moved = order_status_change(
                order=order, status=OrderStatus.SUBMITTED_TO_ERP, actor=ctx.actor, reason="acknowledged by ERP"
            )
            if moved:
                order_fulfilment_status_catch_up(order=order, actor=ctx.actor)
    return HandlerResult(
        200, {"order": _order_summary(order), "reference_recorded": bound, "status_changed": moved}
    )


def shipment_milestone_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    def known_shipment():
        return external_ref_find(
            system=ctx.system, entity_type=EntityType.SHIPMENT, external_id=payload["shipment_id"], model=Shipment
        )

    # Looked up only if the message fails (the success path links what the service returns).
    ctx.links["shipment"] = known_shipment
    ctx.links["order"] = lambda: getattr(known_shipment(), "order", None)
    fields = ("code", "occurred_at", "location_text", "detail", "shipment")
    data = validated(MilestoneReportInput, {k: payload[k] for k in fields if k in payload}, ctx, "")
    if data.get("shipment") is not None:
        ctx.links["order"] = data["shipment"]["order"]
    # No savepoint of its own: the pipeline rolls the message's whole transaction back on a failure.
    # Heard of when the partner's message arrived, however long it then waited for a worker.
    outcome = shipment_milestone_record(
        system=ctx.system, external_id=payload["shipment_id"], data=data, actor=ctx.actor,
        received_at=ctx.received_at,
        savepoint=False,
    )
    milestone = outcome.instance
    shipment = milestone.shipment
    ctx.links["shipment"] = shipment
    ctx.links["order"] = lambda: shipment.order  # only a failure links it; nothing fails after this
    return HandlerResult(
        201 if outcome.created else 200,
        {
            "shipment": {"id": shipment.pk, "number": shipment.number, "status": shipment.status},
            "milestone": {"id": milestone.pk, "code": milestone.code, "occurred_at": milestone.occurred_at.isoformat()},
            "created": outcome.created,
        },
    )


def invoice_posted_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    known = external_ref_find(
        system=ctx.system, entity_type=EntityType.INVOICE, external_id=payload["external_id"], model=Invoice
    )
    if known is not None:
        ctx.links.update(invoice=known, customer=known.customer, order=known.order)
    data = validated(InvoiceUpsertInput, payload["invoice"], ctx, "/invoice")
    ctx.links.update(customer=data["customer"], order=data["order"])
    with pointers_under("/invoice"):
        outcome = invoice_write(system=ctx.system, external_id=payload["external_id"], data=data, actor=ctx.actor)
    invoice = outcome.instance
    ctx.links["invoice"] = invoice
    return HandlerResult(
        201 if outcome.created else 200,
        {
            "invoice": {"id": invoice.pk, "number": invoice.number, "status": invoice.status,
                        "amount": str(invoice.amount)},
            "created": outcome.created,
            "changed": [] if outcome.created else sorted(outcome.changes),
        },
    )


def _supplier_content(payload: dict, *excluded: str) -> dict:
    return {k: v for k, v in payload.items() if k not in {"message_id", "purchase_order", *excluded}}


def _purchase_order(ctx: HandlerContext, reference: str):
    supplier_writer_assert(system=ctx.system)
    purchase_order = purchase_order_for_supplier(supplier=ctx.system, reference=reference)
    ctx.links.update(purchase_order=purchase_order, order=purchase_order.order)
    return purchase_order


def supplier_acknowledgement_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    purchase_order = _purchase_order(ctx, payload["purchase_order"])
    serializer_context = {"system": ctx.system, "purchase_order": purchase_order}
    serializer = AcknowledgementInput(data=_supplier_content(payload), context=serializer_context)
    data = _valid(serializer)
    outcome, date_miss = supplier_acknowledgement_receive(
        supplier=ctx.system, purchase_order=purchase_order, data=data, actor=ctx.actor
    )
    ack = outcome.instance
    purchase_order.refresh_from_db()
    return HandlerResult(
        201 if outcome.created else 200,
        {
            "purchase_order": {"id": purchase_order.pk, "number": purchase_order.number,
                               "status": purchase_order.status},
            "acknowledgement": {"id": ack.pk, "revision": ack.revision, "status": ack.status},
            "created": outcome.created,
            "date_miss_exception": date_miss.pk if date_miss is not None else None,
        },
    )


def supplier_asn_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    purchase_order = _purchase_order(ctx, payload["purchase_order"])
    serializer = AdvanceShipNoticeInput(
        data=_supplier_content(payload, "asn_number"), context={"system": ctx.system, "purchase_order": purchase_order}
    )
    data = _valid(serializer)
    outcome = advance_ship_notice_upsert(
        supplier=ctx.system, purchase_order=purchase_order, number=payload["asn_number"], data=data, actor=ctx.actor
    )
    asn = outcome.instance
    return HandlerResult(
        201 if outcome.created else 200,
        {
            "purchase_order": {"id": purchase_order.pk, "number": purchase_order.number},
            "advance_ship_notice": {"id": asn.pk, "number": asn.number},
            "created": outcome.created,
            "changed": [] if outcome.created else sorted(outcome.changes),
        },
    )


HANDLERS = {
    "customer.upsert": customer_upsert_message,
    "customer.activated": customer_activated_message,
    "order.status": order_status_message,
    "order.acknowledgement": order_acknowledgement_message,
    "shipment.milestone": shipment_milestone_message,
    "invoice.posted": invoice_posted_message,
    "supplier.acknowledgement": supplier_acknowledgement_message,
    "supplier.asn": supplier_asn_message,
    "return.receipt": return_receipt_message,
    "credit_memo.posted": credit_memo_posted_message,
}
