"""Writes to invoices (the invoices' system of record), returns and credit memos (the returns' one).

Invoice and return statuses change only along INVOICE_TRANSITIONS and RETURN_TRANSITIONS.
Quantities invoiced (on invoices not credited) roll up into the order lines' invoiced quantities,
and an order whose every line is invoiced moves from shipped to invoiced. Quantities received on
returns roll up into the order lines' returned quantities.

Return-to-credit: the ERP's credit memo for a received return credits it (requests and warehouse
receipts are in canonical.services.returns).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Sum

from canonical.context import Actor
from canonical.models import (
    ORDER_TRANSITIONS,
    CreditMemo,
    Domain,
    EntityType,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Order,
    OrderStatus,
    ReturnAuthorization,
    ReturnLine,
    ReturnStatus,
    System,
)
from canonical.models.billing import INVOICE_TRANSITIONS, RETURN_TRANSITIONS
from canonical.services.events import event_record
from canonical.services.extension import write_service
from canonical.services.orders import (
    document_find,
    line_amounts_assert,
    line_problem,
    number_taken_refuse,
    order_payload,
    order_status_change,
)
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
    # Left out, the status and the dispute reason of a known invoice stay as they are: a re-sent
    # posting must not undo a dispute raised in the hub (hub.workflows.disputes).
    status = data.pop("status", None)
    line_amounts_assert(lines, quantity="quantity", total="The invoice's amount")
    header = {
        "number": data["number"],
        "customer_id": data["customer"].pk,
        "order_id": data["order"].pk if data["order"] else None,
        "shipment_id": data["shipment"].pk if data["shipment"] else None,
        "amount": sum(((i["quantity"] * i["unit_price"]).quantize(_CENT) for i in lines), Decimal("0.00")),
        **{k: data[k] for k in ("currency", "amount_paid", "issued_at", "due_date", "paid_at")},
        **({"dispute_reason": data["dispute_reason"]} if "dispute_reason" in data else {}),
    }
    with transaction.atomic():
        invoice = document_find(
            model=Invoice, system=system, entity_type=EntityType.INVOICE, external_id=external_id, number=data["number"]
        )
        created = invoice is None
        previous_status = None if created else invoice.status
        previous_order_id = None if created else invoice.order_id
        status = status or (InvoiceStatus.POSTED if created else invoice.status)
        if not created and invoice.status == InvoiceStatus.DISPUTED and status != InvoiceStatus.DISPUTED:
            header["disputed_amount"] = None  # the dispute is settled: nothing is contested any more
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
        if created or {"lines", "status", "order"} & set(changes):
            pointers = {i["order_line_id"]: f"/lines/{n}/quantity" for n, i in enumerate(lines) if i["order_line_id"]}
            for order_id in sorted({previous_order_id, invoice.order_id} - {None}):
                order = Order.objects.select_for_update().get(pk=order_id)
                _invoiced_quantities_sync(order=order, actor=actor, pointers=pointers)
                order_invoiced_advance(order=order, actor=actor)
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


def invoice_write(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """A write from the invoices' system of record, as the PUT API and the inbound invoice.posted
    message make it: through ``settings.HUB_INVOICE_WRITE_SERVICE`` (the hub's: invoice_upsert,
    then the dispute exceptions the new status settles), or plain invoice_upsert where it is empty."""
    service = write_service("HUB_INVOICE_WRITE_SERVICE", invoice_upsert)
    return service(system=system, external_id=external_id, data=data, actor=actor)


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


def _line_quantities_roll_up(
    *, order: Order, actor: Actor, totals: dict, field: str, bound: str, too_many, pointers: dict[int, str]
) -> list[int]:
    """Set each locked line's ``field`` to its total from ``totals``; a total above the line's ``bound``
    is refused at the line with ``too_many(line, total)``. One order.updated event names the lines changed."""
    changed = []
    for line in order.lines.select_for_update().order_by("line_number"):
        total = totals.get(line.pk) or Decimal("0")
        if total > getattr(line, bound):
            raise line_problem(too_many(line, total), pointers.get(line.pk, "/lines"))
        if total != getattr(line, field):
            setattr(line, field, total)
            line.save(update_fields=[field, "updated_at"])
            changed.append(line.line_number)
    if changed:
        order.save(update_fields=["updated_at"])
        event_record(
            event_type="order.updated", aggregate_type="order", aggregate_id=order.pk, actor=actor,
            payload={"order": order_payload(order), "changed": ["lines"], "lines": changed},
        )
    return changed


def _invoiced_quantities_sync(*, order: Order, actor: Actor, pointers: dict[int, str]) -> list[int]:
    """A locked order's invoiced quantities = its lines on invoices that are not credited (a credited
    invoice was reversed; the ERP invoices again). More than ordered is refused at the line."""
    totals = dict(
        InvoiceLine.objects.filter(order_line__order=order)
        .exclude(invoice__status=InvoiceStatus.CREDITED)
        .values("order_line")
        .annotate(total=Sum("quantity"))
        .values_list("order_line", "total")
    )
    return _line_quantities_roll_up(
        order=order, actor=actor, totals=totals, field="quantity_invoiced", bound="quantity_ordered",
        pointers=pointers,
        too_many=lambda line, total: (f"Order {order.number} line {line.line_number}: invoices would bill {total} "
                                      f"but only {line.quantity_ordered} is ordered."),
    )


def order_invoiced_advance(*, order: Order, actor: Actor) -> bool:
    """Move a locked, shipped order to invoiced once every line is invoiced in full; True when it moved.

    Called when invoices change and when shipments complete an order, so the order moves whichever
    comes last. Never moves an order back.
    """
    if not ORDER_TRANSITIONS.can(order.status, OrderStatus.INVOICED):
        return False
    lines = list(order.lines.values_list("quantity_ordered", "quantity_invoiced"))
    if not lines or any(invoiced < ordered for ordered, invoiced in lines):
        return False
    return order_status_change(order=order, status=OrderStatus.INVOICED, actor=actor, reason="fully invoiced")


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
    _line_quantities_roll_up(
        order=order, actor=actor, totals=totals, field="quantity_returned", bound="quantity_shipped",
        pointers=pointers,
        too_many=lambda line, total: (f"Order {order.number} line {line.line_number}: {total} received back is "
                                      f"more than the {line.quantity_shipped} shipped."),
    )


# Credit memos


def credit_memo_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the credit memo ``system`` knows as ``external_id`` (written by the returns' owner)."""
    from canonical.serializers.billing import CreditMemoSerializer

    system_of_record_assert(system=system, domain=Domain.RETURNS)
    if data["rma"] is not None and data["rma"].status == ReturnStatus.REJECTED:
        raise line_problem(f"Return {data['rma'].number} was rejected; there is nothing to credit.", "/rma")
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
        _credit_memo_bounds_assert(memo=None if created else memo, amount=values["amount"], rma=data["rma"],
                                   invoice=data["invoice"])
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
        if memo.rma_id is not None:
            return_credit_when_received(rma=ReturnAuthorization.objects.select_for_update().get(pk=memo.rma_id), actor=actor)
    return UpsertResult(instance=memo, created=created, changes=changes)


def _credit_memo_bounds_assert(*, memo: CreditMemo | None, amount: Decimal, rma, invoice) -> None:
    """Refuse a memo that would credit a return or an invoice for more than it is worth, counting the
    other memos against it (the return and the invoice are locked, so two memos cannot both pass).

    A return is worth its lines' requested quantities at the order's prices; an invoice its amount.
    """
    others = CreditMemo.objects.exclude(pk=memo.pk) if memo is not None else CreditMemo.objects.all()
    bounds = []
    if rma is not None:
        rma = ReturnAuthorization.objects.select_for_update().get(pk=rma.pk)
        worth = sum(((line.quantity_requested * line.order_line.unit_price).quantize(_CENT)
                     for line in rma.lines.select_related("order_line")), Decimal("0.00"))
        bounds.append((f"Return {rma.number}", worth, others.filter(rma=rma)))
    if invoice is not None:
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        bounds.append((f"Invoice {invoice.number}", invoice.amount, others.filter(invoice=invoice)))
    for what, worth, credits in bounds:
        credited = Decimal(credits.aggregate(total=Sum("amount"))["total"] or 0).quantize(_CENT)
        if credited + amount > worth:
            raise line_problem(
                f"{what} is worth {worth}; {credited} is credited against it already (other memos), so this "
                f"memo may credit at most {max(worth - credited, Decimal('0.00'))}, not {amount}.", "/amount")


def return_status_move(*, rma: ReturnAuthorization, status: str, actor: Actor, **extra) -> None:
    """Move a locked return along RETURN_TRANSITIONS and emit the new status's event."""
    from canonical.serializers.billing import ReturnSerializer, return_queryset

    RETURN_TRANSITIONS.check(rma.status, status)
    previous, rma.status = rma.status, status
    rma.save(update_fields=["status", "updated_at"])
    payload = {"return": ReturnSerializer(return_queryset().get(pk=rma.pk)).data, "from": previous, "to": status,
               **extra}
    _emit(aggregate_type="return", record=rma, event_type=RETURN_STATUS_EVENTS[status], payload=payload, actor=actor)


def return_credit_when_received(*, rma: ReturnAuthorization, actor: Actor) -> bool:
    """A received return with a credit memo is credited. A memo may come before the goods do (the
    return stays authorised); the receipt then credits it."""
    if rma.status != ReturnStatus.RECEIVED or not rma.credit_memos.exists():
        return False
    memos = list(rma.credit_memos.order_by("issued_at", "pk").values_list("number", flat=True))
    return_status_move(rma=rma, status=ReturnStatus.CREDITED, actor=actor, credit_memos=memos)
    return True
