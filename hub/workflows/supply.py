"""Order-to-supplier: a supplier's acknowledgement recorded in the canonical store, then checked
against the promise window, opening (or resolving) the supplier-management exception in the same
transaction. The inbound supplier.acknowledgement handler does the same in the connectors app."""

from __future__ import annotations

from django.db import transaction

from canonical.context import Actor
from canonical.models import PurchaseOrder, System
from canonical.services.refs import UpsertResult
from canonical.services.supply import supplier_acknowledgement_record
from connectors.services.supply_exceptions import supplier_date_miss_review


def supplier_acknowledgement_receive(
    *, supplier: System, purchase_order: PurchaseOrder, data: dict, actor: Actor
) -> UpsertResult:
    """Record the acknowledgement; a new one is checked against the promise window (a repeat is not)."""
    with transaction.atomic():
        result = supplier_acknowledgement_record(
            supplier=supplier, purchase_order=purchase_order, data=data, actor=actor
        )
        if result.created:
            supplier_date_miss_review(purchase_order=purchase_order, actor=actor, acknowledgement=result.instance)
    return result
