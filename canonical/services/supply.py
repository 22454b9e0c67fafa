"""Writes on the supplier side: the ERP's purchase orders, and what the supplier sends back.

Acknowledgements and advance ship notices are written by the supplier system the purchase
order is addressed to, never by the system of record. A supplier addresses a PO by its own
external id for it (given as ``supplier_reference`` in an acknowledgement) or by the PO number,
and only ever finds the POs addressed to it: any other answers as if it did not exist.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation, CanonicalError
from canonical.models import (
    AdvanceShipNotice,
    AdvanceShipNoticeLine,
    Domain,
    EntityType,
    ExternalRef,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    SupplierAcknowledgement,
    SupplierAcknowledgementLine,
    System,
    SystemKind,
)
from canonical.models.supply import PURCHASE_ORDER_TRANSITIONS, AcknowledgementStatus
from canonical.services.events import event_record
from canonical.services.orders import DuplicateReference, document_find, line_problem, number_taken_refuse
from canonical.services.refs import (
    UpsertResult,
    changed_fields,
    external_ref_bind,
    system_of_record_assert,
    unknown_reference,
)
from canonical.services.supply_promises import (
    InTransit,
    asn_promises_apply,
    in_transit_apply,
    in_transit_state,
)


class NotTheSupplier(CanonicalError):
    status_code = 409
    slug = "not-the-supplier"
    title = "Not the supplier"


class RevisionConflict(CanonicalError):
    status_code = 409
    slug = "revision-conflict"
    title = "Revision already recorded"


def _emit(*, purchase_order: PurchaseOrder, event_type: str, payload: dict, actor: Actor) -> None:
    event_record(
        event_type=event_type, aggregate_type="purchase_order", aggregate_id=purchase_order.pk, payload=payload,
        actor=actor,
    )


def purchase_order_payload(purchase_order: PurchaseOrder) -> dict:
    from canonical.serializers.supply import PurchaseOrderSerializer, purchase_order_queryset

    return PurchaseOrderSerializer(purchase_order_queryset().get(pk=purchase_order.pk)).data


# Purchase orders (the ERP)


def purchase_order_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the purchase order ``system`` knows as ``external_id``, lines matched by number."""
    system_of_record_assert(system=system, domain=Domain.SUPPLIER_COMMITMENTS)
    data = dict(data)
    lines = data.pop("lines")
    status = data.pop("status")
    header = {
        "number": data["number"],
        "supplier_id": data["supplier"].pk,
        "ship_to_location_id": data["ship_to_location"].pk if data["ship_to_location"] else None,
        "order_id": data["order"].pk if data["order"] else None,
        **{k: data[k] for k in ("kind", "currency", "ordered_at", "requested_date")},
    }
    with transaction.atomic():
        po = document_find(
            model=PurchaseOrder, system=system, entity_type=EntityType.PURCHASE_ORDER, external_id=external_id,
            number=header["number"],
        )
        created = po is None
        in_transit_before = InTransit(location_id=None, quantities={}) if created else in_transit_state(purchase_order=po)
        if created:
            po = PurchaseOrder(**header, status=status)
            po.save()
            changes: dict = {}
            previous_status = None
        else:
            previous_status = po.status
            if status != po.status:
                PURCHASE_ORDER_TRANSITIONS.check(po.status, status)
            number_taken_refuse(po, header["number"])
            if header["supplier_id"] != po.supplier_id and (
                po.acknowledgements.exists() or po.ship_notices.exists()
            ):
                raise line_problem(
                    f"Purchase order {po.number} has acknowledgements or ship notices from its supplier; "
                    "it cannot be moved to another supplier.",
                    "/supplier",
                )
            changes = {k.removesuffix("_id"): v for k, v in changed_fields(po, {**header, "status": status}).items()}
        changed_lines = _po_lines_apply(po=po, lines=lines, created=created)
        if changed_lines and not created:
            changes["lines"] = changed_lines
        if changes:
            po.save()
        external_ref_bind(
            system=system, entity_type=EntityType.PURCHASE_ORDER, external_id=external_id, object_id=po.pk
        )
        in_transit = []
        if not created and changes:
            # Goods received (or a changed receiving location) move what the hub counted in transit.
            in_transit = in_transit_apply(
                purchase_order=po, before=in_transit_before, actor=actor, reason="purchase order received",
                reference=po.number,
            )
        if created or changes:
            payload = {"purchase_order": purchase_order_payload(po)}
            if in_transit:
                payload["in_transit"] = in_transit
            if not created:
                payload["changed"] = sorted(changes)
                if "status" in changes:
                    payload.update({"from": previous_status, "to": status})
            _emit(
                purchase_order=po, event_type="purchase_order.created" if created else "purchase_order.updated",
                payload=payload, actor=actor,
            )
    return UpsertResult(instance=po, created=created, changes=changes)


def _po_lines_apply(*, po: PurchaseOrder, lines: list[dict], created: bool) -> list[int]:
    current = {} if created else {line.line_number: line for line in po.lines.select_for_update()}
    wanted = {item["line_number"] for item in lines}
    removed = [line for number, line in current.items() if number not in wanted]
    shipped = sorted(
        AdvanceShipNoticeLine.objects.filter(po_line__in=removed).values_list("po_line__line_number", flat=True)
    ) if removed else []
    if shipped:
        raise BusinessRuleViolation(
            f"Purchase order {po.number}: lines {sorted(set(shipped))} are on advance ship notices and cannot be "
            "removed.",
            line_numbers=sorted(set(shipped)),
        )
    touched = []
    for item in lines:
        values = {
            "product_id": item["sku"].pk,
            "quantity": item["quantity"],
            "unit_cost": item["unit_cost"],
            "order_line_id": item["order_line_id"],
        }
        if "received_quantity" in item:
            values["received_quantity"] = item["received_quantity"]
        line = current.get(item["line_number"])
        if line is None:
            PurchaseOrderLine.objects.create(purchase_order=po, line_number=item["line_number"], **values)
            touched.append(item["line_number"])
        elif changed_fields(line, values):
            line.save()
            touched.append(item["line_number"])
    if removed:
        PurchaseOrderLine.objects.filter(pk__in=[line.pk for line in removed]).delete()
    return sorted([*touched, *(line.line_number for line in removed)])


# What the supplier sends


def purchase_order_for_supplier(*, supplier: System, reference: str, lock: bool = False) -> PurchaseOrder:
    """The PO addressed to ``supplier`` that it calls ``reference`` (its own id for it, or the PO number)."""
    queryset = PurchaseOrder.objects.filter(supplier=supplier)
    if lock:
        queryset = queryset.select_for_update()
    own = ExternalRef.objects.filter(
        system=supplier, entity_type=EntityType.PURCHASE_ORDER, external_id=reference
    ).values("object_id")
    found = queryset.filter(pk__in=own).first() or queryset.filter(number=reference).first()
    if found is None:
        raise unknown_reference(system=supplier, entity_type=EntityType.PURCHASE_ORDER, external_id=reference)
    return found


def supplier_writer_assert(*, system: System) -> None:
    if system.kind != SystemKind.SUPPLIER:
        raise NotTheSupplier(
            f"Acknowledgements and advance ship notices come from the supplier a purchase order is addressed to; "
            f"'{system.code}' is not a supplier system.",
            writer=system.code,
        )


def _ack_content(*, status: str, acknowledged_at, note: str, lines) -> tuple:
    return status, acknowledged_at, note, Counter(lines)


def supplier_acknowledgement_record(
    *, supplier: System, purchase_order: PurchaseOrder, data: dict, actor: Actor
) -> UpsertResult:
    """Record an acknowledgement (or a revision of it) from the PO's supplier.

    Revisions are kept, never overwritten: a repeat of a recorded revision returns it, the same
    revision number with other content is refused. Without a revision number the next one is
    taken, unless the body repeats the latest. Only the latest revision updates the PO lines'
    confirmed quantities and dates, and moves the PO to acknowledged where the lifecycle allows.
    """
    from canonical.serializers.supply import AcknowledgementSerializer, acknowledgement_queryset

    supplier_writer_assert(system=supplier)
    lines = [(i["po_line_id"], i["confirmed_quantity"], i["confirmed_date"]) for i in data["lines"]]
    wanted = _ack_content(
        status=data["status"], acknowledged_at=data["acknowledged_at"], note=data["note"], lines=lines
    )
    with transaction.atomic():
        po = PurchaseOrder.objects.select_for_update().get(pk=purchase_order.pk, supplier=supplier)
        ordered = dict(po.lines.values_list("pk", "quantity"))
        for index, (item, (line_id, quantity, _)) in enumerate(zip(data["lines"], lines, strict=True)):
            if quantity > ordered[line_id]:
                raise line_problem(
                    f"Line {item['line_number']} of purchase order {po.number} orders {ordered[line_id]}; the "
                    f"supplier cannot confirm {quantity}.", f"/lines/{index}/confirmed_quantity")
        recorded = {ack.revision: ack for ack in acknowledgement_queryset().filter(purchase_order=po)}
        latest = max(recorded, default=0)
        revision = data["revision"]
        candidate = recorded.get(revision if revision is not None else latest)
        if candidate is not None and _recorded_content(candidate) == wanted:
            return UpsertResult(instance=candidate, created=False)
        if revision is not None and candidate is not None:
            raise RevisionConflict(
                f"Revision {revision} of purchase order {po.number} is already recorded with other content; "
                f"acknowledgements are never overwritten: send it as revision {latest + 1}.",
                revision=revision,
                next_revision=latest + 1,
            )
        revision = revision if revision is not None else latest + 1
        ack = SupplierAcknowledgement.objects.create(
            purchase_order=po, revision=revision, acknowledged_at=data["acknowledged_at"], status=data["status"],
            note=data["note"],
        )
        SupplierAcknowledgementLine.objects.bulk_create(
            [SupplierAcknowledgementLine(acknowledgement=ack, po_line_id=line_id, confirmed_quantity=qty,
                                         confirmed_date=day) for line_id, qty, day in lines]
        )
        if data["supplier_reference"]:
            _bind_supplier_reference(supplier=supplier, po=po, reference=data["supplier_reference"])
        applied = revision > latest
        late = _apply_confirmations(po=po, lines=lines) if applied else []
        if applied and data["status"] != AcknowledgementStatus.REJECTED and PURCHASE_ORDER_TRANSITIONS.can(
            po.status, PurchaseOrderStatus.ACKNOWLEDGED
        ):
            po.status = PurchaseOrderStatus.ACKNOWLEDGED
        po.save()
        ack = acknowledgement_queryset().get(pk=ack.pk)
        _emit(
            purchase_order=po, event_type="supplier.ack_received", actor=actor,
            payload={
                "purchase_order": purchase_order_payload(po),
                "acknowledgement": AcknowledgementSerializer(ack).data,
                "applied": applied,
                "lines_after_requested_date": late,
            },
        )
    return UpsertResult(instance=ack, created=True)


def _recorded_content(ack: SupplierAcknowledgement) -> tuple:
    return _ack_content(
        status=ack.status, acknowledged_at=ack.acknowledged_at, note=ack.note,
        lines=[(line.po_line_id, line.confirmed_quantity, line.confirmed_date) for line in ack.lines.all()],
    )


def _bind_supplier_reference(*, supplier: System, po: PurchaseOrder, reference: str) -> None:
    ref = external_ref_bind(
        system=supplier, entity_type=EntityType.PURCHASE_ORDER, external_id=reference, object_id=po.pk
    )
    if ref.object_id != po.pk:
        raise DuplicateReference(
            f"'{reference}' already names another purchase order of '{supplier.code}'.",
            external_id=reference,
        )


def _apply_confirmations(*, po: PurchaseOrder, lines: list[tuple]) -> list[int]:
    """Copy the confirmed quantities and dates onto the PO lines; returns the lines confirmed after the
    requested date, for the promise check downstream."""
    by_id = {line.pk: line for line in po.lines.select_for_update()}
    late = []
    for line_id, quantity, day in lines:
        line = by_id[line_id]
        line.confirmed_quantity, line.confirmed_date = quantity, day
        line.save(update_fields=["confirmed_quantity", "confirmed_date"])
        if day and po.requested_date and day > po.requested_date:
            late.append(line.line_number)
    dates = [line.confirmed_date for line in by_id.values() if line.confirmed_date]
    po.confirmed_date = max(dates) if dates else po.confirmed_date
    return sorted(late)


def _ship_notice_quantities_assert(*, po: PurchaseOrder, number: str, lines: list[dict]) -> None:
    """Refuse a notice that, with the PO's other notices, ships more of a line than the PO orders
    (what it ships is counted in transit: more would promise stock that is not coming)."""
    ordered = {pk: (line_number, quantity) for pk, line_number, quantity
               in po.lines.values_list("pk", "line_number", "quantity")}
    shipped = dict(
        AdvanceShipNoticeLine.objects.filter(asn__purchase_order=po).exclude(asn__number=number)
        .values("po_line_id").annotate(total=Sum("quantity")).values_list("po_line_id", "total")
    )
    for index, item in enumerate(lines):
        line_number, quantity = ordered[item["po_line_id"]]
        other = Decimal(shipped.get(item["po_line_id"]) or 0).quantize(quantity)  # SQLite sums lose the places
        if other + item["quantity"] > quantity:
            raise line_problem(
                f"Line {line_number} of purchase order {po.number} orders {quantity}; {other:f} is on its other "
                f"ship notices, so this one may ship at most {max(quantity - other, Decimal(0)):f}, not "
                f"{item['quantity']}.", f"/lines/{index}/quantity")


def advance_ship_notice_upsert(
    *, supplier: System, purchase_order: PurchaseOrder, number: str, data: dict, actor: Actor
) -> UpsertResult:
    """Create or update the supplier's advance ship notice ``number`` for a PO addressed to it.

    What it ships is counted in transit at the PO's receiving location (until the ERP records it
    received), and the customer order lines waiting on it are promised the expected arrival plus
    handling (see supply_promises). The supplier.asn_received event, written last, lists both.
    """
    from canonical.serializers.supply import AdvanceShipNoticeSerializer, advance_ship_notice_queryset

    supplier_writer_assert(system=supplier)
    header = {k: data[k] for k in ("shipped_at", "expected_at", "carrier", "tracking_number")}
    wanted = Counter((i["po_line_id"], i["quantity"]) for i in data["lines"])
    with transaction.atomic():
        po = PurchaseOrder.objects.select_for_update().get(pk=purchase_order.pk, supplier=supplier)
        _ship_notice_quantities_assert(po=po, number=number, lines=data["lines"])
        in_transit_before = in_transit_state(purchase_order=po)
        asn = po.ship_notices.filter(number=number).first()
        created = asn is None
        changes: dict = {}
        if created:
            asn = AdvanceShipNotice.objects.create(purchase_order=po, number=number, **header)
        else:
            changes = changed_fields(asn, header)
            if Counter(asn.lines.values_list("po_line_id", "quantity")) != wanted:
                asn.lines.all().delete()
                changes["lines"] = "replaced"
            if changes:
                asn.save()
        if created or "lines" in changes:
            AdvanceShipNoticeLine.objects.bulk_create(
                [AdvanceShipNoticeLine(asn=asn, po_line_id=i["po_line_id"], quantity=i["quantity"])
                 for i in data["lines"]]
            )
        if created or changes:
            # Orders before stock positions: the order that waits is locked first, as order submission does.
            promised = asn_promises_apply(asn=asn, actor=actor)
            in_transit = in_transit_apply(
                purchase_order=po, before=in_transit_before, actor=actor, reason="advance ship notice",
                reference=asn.number,
            )
            payload = {
                "purchase_order": {"id": po.pk, "number": po.number, "supplier": supplier.code},
                "advance_ship_notice": AdvanceShipNoticeSerializer(advance_ship_notice_queryset().get(pk=asn.pk)).data,
                "in_transit": in_transit,
                "promised_dates": promised,
            }
            if not created:
                payload["changed"] = sorted(changes)
            _emit(purchase_order=po, event_type="supplier.asn_received", payload=payload, actor=actor)
    return UpsertResult(instance=asn, created=created, changes=changes)
