"""The ERP's answer to an activation request: ``customer.activated`` (see hub/workflows/onboarding.py)."""

from __future__ import annotations

from canonical.errors import UnknownReference
from canonical.models import Customer
from canonical.services.onboarding import customer_activation_record
from connectors.inbound.registry import HandlerContext, HandlerResult


def _customer(reference: dict) -> Customer:
    if "id" in reference:
        found = Customer.objects.filter(pk=reference["id"]).first()
        if found is None:
            raise UnknownReference(f"No customer with id {reference['id']}.", entity_type="customer",
                                   id=reference["id"])
        return found
    number = reference["account_number"]
    found = Customer.objects.filter(account_number=number).first() if "\x00" not in number else None
    if found is None:
        raise UnknownReference(f"No customer with account number '{number}'.", entity_type="customer",
                               account_number=number)
    return found


def customer_activated_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    customer = _customer(payload["customer"])
    ctx.links["customer"] = customer
    outcome = customer_activation_record(
        customer=customer, system=ctx.system, erp_customer_id=payload["erp_customer_id"], actor=ctx.actor,
        note=f"activated at {payload['activated_at']}" if payload.get("activated_at") else "",
    )
    customer = outcome.customer
    return HandlerResult(200, {
        "customer": {"id": customer.pk, "account_number": customer.account_number, "status": customer.status,
                     "onboarding": customer.onboarding},
        "changed": outcome.changed,
        "reference_recorded": outcome.reference_recorded,
    })
