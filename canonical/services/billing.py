"""Writes to invoices (the invoices' system of record), returns and credit memos (the returns' one).

Invoice and return statuses change only along INVOICE_TRANSITIONS and RETURN_TRANSITIONS.
Quantities received on returns roll up into the order lines' returned quantities.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Sum

from canonical.context import Actor
from canonical.models import (
    CreditMemo,
    Domain,
    EntityType,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Order,
    ReturnAuthorization,
    ReturnLine,
    ReturnStatus,
    System,
)
from canonical.models.billing import INVOICE_TRANSITIONS, RETURN_TRANSITIONS
from canonical.services.events import event_record
from canonical.services.orders import document_find, line_problem, number_taken_refuse, order_payload
from canonical.services.refs import (
    UpsertResult,
    changed_fields,
    external_ref_bind,
    system_of_record_assert,
)

_CENT = Decimal("0.01")
INVOICE_STATUS_EVENTS = {InvoiceStatus.PAID: "invoice.paid", InvoiceStatus.DISPUTED: "invoice.disputed"}
RETURN_STATUS_EVENTS = {
    ReturnStatus.REQUESTED: "return.requested",
    ReturnStatus.AUTHORISED: "return.authorised",
    ReturnStatus.RECEIVED: "return.received",
    ReturnStatus.CREDITED: "return.credited",
    ReturnStatus.REJECTED: "return.rejected",
}


def _emit(*, aggregate_type: str, record: models.Model, event_type: str, payload: dict, actor: Actor) -> None:
    event_record(
        event_type=event_type, aggregate_type=aggregate_type, aggregate_id=record.pk, payload=payload, actor=actor
    )


# Invoices


def invoice_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the invoice ``system`` knows as ``external_id``; the amount is computed from the lines."""
    from canonical.serializers.billing import InvoiceSerializer, invoice_queryset

    system_of_record_assert(system=system, domain=Domain.INVOICES)
    data = dict(data)
    lines = data.pop("lines")
    status = data.pop("status")
    header = {
        "number": data["number"],
        "customer_id": data["customer"].pk,
        "order_id": data["order"].pk if data["order"] else None,
        "shipment_id": data["shipment"].pk if data["shipment"] else None,
        "amount": sum(((i["quantity"] * i["unit_price"]).quantize(_CENT) for i in lines), Decimal("0.00")),
        **{k: data[k] for k in ("currency", "amount_paid", "issued_at", "due_date", "paid_at", "dispute_reason")},
    }
    with transaction.atomic():
        invoice = document_find(
            model=Invoice, system=system, entity_type=EntityType.INVOICE, external_id=external_id, number=data["number"]
        )
        created = invoice is None
        previous_status = None if created else invoice.status
        if created:
            invoice = Invoice(**header, status=status)
            invoice.save()
            changes = {}
        else:
            if status != invoice.status:
                INVOICE_TRANSITIONS.check(invoice.status, status)
            number_taken_refuse(invoice, header["number"])
            changes = {k.removesuffix("_id"): v for k, v in changed_fields(invoice, {**header, "status": status}).items()}
        if _invoice_lines_apply(invoice=invoice, lines=lines, created=created):
            changes["lines"] = "replaced"
        if changes:
            invoice.save()
        external_ref_bind(system=system, entity_type=EntityType.INVOICE, external_id=external_id, object_id=invoice.pk)
        if created or changes:
            payload = {"invoice": InvoiceSerializer(invoice_queryset().get(pk=invoice.pk)).data}
            status_event = INVOICE_STATUS_EVENTS.get(status) if "status" in changes else None
            if created:
                event_types = ["invoice.posted"]
            elif status_event:
                event_types = ["invoice.updated", status_event] if set(changes) - {"status"} else [status_event]
                payload.update({"from": previous_status, "to": status})
            else:
                event_types = ["invoice.updated"]
            if not created:
                payload["changed"] = sorted(changes)
            for event_type in event_types:
                _emit(aggregate_type="invoice", record=invoice, event_type=event_type, payload=payload, actor=actor)
    return UpsertResult(instance=invoice, created=created, changes=changes)


def _invoice_lines_apply(*, invoice: Invoice, lines: list[dict], created: bool) -> bool:
    fields = ("order_line_id", "product_id", "quantity", "unit_price")
    wanted = [
        {"order_line_id": i["order_line_id"], "product_id": i["sku"].pk, "quantity": i["quantity"],
         "unit_price": i["unit_price"]}
        for i in lines
    ]
    if not created:
        current = Counter(invoice.lines.values_list(*fields))
        if current == Counter(tuple(w[f] for f in fields) for w in wanted):
            return False
        invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(
        [InvoiceLine(invoice=invoice, amount=(w["quantity"] * w["unit_price"]).quantize(_CENT), **w) for w in wanted]
    )
    return not created


# Returns (RMA)


def return_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the return ``system`` knows as ``external_id``, with its lines.

    Quantities received roll up into the order lines' returned quantities (never more than shipped).
    """
    from canonical.serializers.billing import ReturnSerializer, return_queryset

    system_of_record_assert(system=system, domain=Domain.RETURNS)
    data = dict(data)
    lines = data.pop("lines")
    status = data.pop("status")
    header = {
        "number": data["number"],
        "order_id": data["order"].pk,
        "customer_id": data["customer"].pk,
        **{k: data[k] for k in ("reason", "decision_reason", "requested_at", "received_at")},
    }
    with transaction.atomic():
        rma = document_find(
            model=ReturnAuthorization, system=system, entity_type=EntityType.RETURN, external_id=external_id,
            number=data["number"],
        )
        created = rma is None
        previous_status = None if created else rma.status
        if created:
            rma = ReturnAuthorization(**header, status=status)
            rma.save()
            changes = {}
        else:
            if status != rma.status:
                RETURN_TRANSITIONS.check(rma.status, status)
            if rma.order_id != header["order_id"]:
                raise line_problem(f"Return {rma.number} belongs to another order.", "/order")
            number_taken_refuse(rma, header["number"])
            changes = {k.removesuffix("_id"): v for k, v in changed_fields(rma, {**header, "status": status}).items()}
        lines_changed = _return_lines_apply(rma=rma, lines=lines, created=created)
        if lines_changed:
            changes["lines"] = "replaced"
        if changes:
            rma.save()
        if created or lines_changed or "status" in changes:
            pointers = {i["order_line_id"]: f"/lines/{n}/quantity_received" for n, i in enumerate(lines)}
            _returned_quantities_sync(order_id=rma.order_id, actor=actor, pointers=pointers)
        external_ref_bind(system=system, entity_type=EntityType.RETURN, external_id=external_id, object_id=rma.pk)
        if created or changes:
            payload = {"return": ReturnSerializer(return_queryset().get(pk=rma.pk)).data}
            if created:
                event_type = RETURN_STATUS_EVENTS[status]
            elif "status" in changes:
                event_type = RETURN_STATUS_EVENTS[status]
                payload.update({"from": previous_status, "to": status})
            else:
                event_type = "return.updated"
            if not created:
                payload["changed"] = sorted(changes)
            _emit(aggregate_type="return", record=rma, event_type=event_type, payload=payload, actor=actor)
    return UpsertResult(instance=rma, created=created, changes=changes)


def _return_lines_apply(*, rma: ReturnAuthorization, lines: list[dict], created: bool) -> bool:
    fields = ("order_line_id", "quantity_requested", "quantity_received")
    wanted = [{f: i[f] for f in fields} for i in lines]
    if not created:
        current = Counter(rma.lines.values_list(*fields))
        if current == Counter(tuple(w[f] for f in fields) for w in wanted):
            return False
        rma.lines.all().delete()
    ReturnLine.objects.bulk_create([ReturnLine(rma=rma, **w) for w in wanted])
    return not created


def _returned_quantities_sync(*, order_id: int, actor: Actor, pointers: dict[int, str]) -> None:
    """Order lines' returned quantity = received on the order's returns that were not rejected."""
    order = Order.objects.select_for_update().get(pk=order_id)
    totals = dict(
        ReturnLine.objects.filter(rma__order_id=order_id)
        .exclude(rma__status=ReturnStatus.REJECTED)
        .values("order_line")
        .annotate(total=Sum("quantity_received"))
        .values_list("order_line", "total")
    )
    changed = []
    for line in order.lines.select_for_update().order_by("line_number"):
        returned = totals.get(line.pk) or Decimal("0")
        if returned > line.quantity_shipped:
            raise line_problem(
                f"Order {order.number} line {line.line_number}: {returned} received back is more than the "
                f"{line.quantity_shipped} shipped.",
                pointers.get(line.pk, "/lines"),
            )
        if returned != line.quantity_returned:
            line.quantity_returned = returned
            line.save(update_fields=["quantity_returned", "updated_at"])
            changed.append(line.line_number)
    if changed:
        order.save(update_fields=["updated_at"])
        event_record(
            event_type="order.updated", aggregate_type="order", aggregate_id=order.pk,
            payload={"order": order_payload(order), "changed": ["lines"], "lines": changed}, actor=actor,
        )


# Credit memos


def credit_memo_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the credit memo ``system`` knows as ``external_id`` (written by the returns' owner)."""
    from canonical.serializers.billing import CreditMemoSerializer

    system_of_record_assert(system=system, domain=Domain.RETURNS)
    values = {
        "number": data["number"],
        "customer_id": data["customer"].pk,
        "rma_id": data["rma"].pk if data["rma"] else None,
        "invoice_id": data["invoice"].pk if data["invoice"] else None,
        **{k: data[k] for k in ("currency", "amount", "issued_at")},
    }
    with transaction.atomic():
        memo = document_find(
            model=CreditMemo, system=system, entity_type=EntityType.CREDIT_MEMO, external_id=external_id,
            number=data["number"],
        )
        created = memo is None
        if created:
            memo = CreditMemo(**values)
            memo.save()
            changes = {}
        else:
            number_taken_refuse(memo, values["number"])
            changes = {k.removesuffix("_id"): v for k, v in changed_fields(memo, values).items()}
            if changes:
                memo.save()
        external_ref_bind(
            system=system, entity_type=EntityType.CREDIT_MEMO, external_id=external_id, object_id=memo.pk
        )
        if created or changes:
            payload = {"credit_memo": CreditMemoSerializer(memo).data}
            if not created:
                payload["changed"] = sorted(changes)
            _emit(
                aggregate_type="credit_memo", record=memo, payload=payload, actor=actor,
                event_type="credit_memo.issued" if created else "credit_memo.updated",
            )
    return UpsertResult(instance=memo, created=created, changes=changes)
