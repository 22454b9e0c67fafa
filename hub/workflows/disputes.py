"""Invoice disputes: a customer (through CRM or the web store) or finance staff contest an invoice.

The invoice moves to ``disputed`` through INVOICE_TRANSITIONS and ``invoice.disputed`` is written
(the ERP, the invoices' system of record, hears of it through its subscription), and a finance
exception is opened with the invoice, its order and its customer linked, so a person owns the
dispute until it is settled. Audited with the invoice before and after.

The ERP settles a dispute by sending the invoice with another status (posted, paid, credited):
``invoice_settling_upsert`` (settings.HUB_INVOICE_WRITE_SERVICE, for the PUT API and the inbound
invoice.posted message) then resolves the dispute's open exception, naming the new status. A
posting that leaves the status out keeps the invoice disputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation, CanonicalError
from canonical.models import Invoice, InvoiceStatus
from canonical.models.billing import INVOICE_TRANSITIONS
from canonical.serializers.billing import InvoiceSerializer, invoice_queryset
from canonical.services.billing import invoice_upsert
from canonical.services.events import audit_record, event_record
from canonical.services.refs import UpsertResult
from connectors.models import Category, IntegrationException, Severity, Team
from connectors.services.exceptions import exception_raise, exceptions_resolve_open

REASON_MAX_LENGTH = 2000
# Disputes of at least this amount (in the invoice's currency) are urgent for finance.
HIGH_SEVERITY_AMOUNT = Decimal("10000.00")


class DisputeRefused(CanonicalError):
    status_code = 409
    slug = "invoice-dispute-refused"
    title = "Invoice dispute refused"


@dataclass(frozen=True)
class DisputeResult:
    invoice: Invoice
    exception: IntegrationException
    disputed_amount: Decimal


def _field_problem(detail: str, name: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(detail, errors=[{"pointer": f"/{name}", "field": name, "messages": [detail]}])


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise _field_problem("A reason is required: say what the customer contests.", "reason")
    if len(text) > REASON_MAX_LENGTH:
        raise _field_problem(f"The reason is longer than {REASON_MAX_LENGTH} characters.", "reason")
    return text


def _snapshot(invoice: Invoice) -> dict:
    return {"status": invoice.status, "dispute_reason": invoice.dispute_reason,
            "disputed_amount": None if invoice.disputed_amount is None else str(invoice.disputed_amount),
            "amount": str(invoice.amount), "amount_paid": str(invoice.amount_paid)}


def invoice_dispute(
    *, invoice: Invoice | int, reason: str, actor: Actor, disputed_amount: Decimal | None = None
) -> DisputeResult:
    """Dispute a posted (or paid) invoice; ``disputed_amount`` defaults to the whole invoice.

    Refused when the invoice is already disputed (the open exception is named) or credited.
    """
    reason = _reason(reason)
    pk = invoice.pk if isinstance(invoice, Invoice) else invoice
    with transaction.atomic():
        locked = (Invoice.objects.select_for_update(of=("self",))
                  .select_related("customer", "order", "shipment").get(pk=pk))
        if locked.status == InvoiceStatus.DISPUTED:
            open_exception = (
                IntegrationException.objects.filter(invoice=locked, category=Category.INVOICE_DISPUTE)
                .order_by("-pk").values_list("pk", flat=True).first()
            )
            raise DisputeRefused(
                f"Invoice {locked.number} is already disputed"
                + (f" (exception {open_exception})." if open_exception else "."),
                invoice=locked.number, exception=open_exception,
            )
        INVOICE_TRANSITIONS.check(locked.status, InvoiceStatus.DISPUTED)
        amount = locked.amount if disputed_amount is None else disputed_amount
        if amount <= 0 or amount > locked.amount:
            raise _field_problem(
                f"The disputed amount must be more than 0 and at most the invoice's {locked.amount} "
                f"{locked.currency}.", "disputed_amount",
            )
        before = _snapshot(locked)
        previous = locked.status
        locked.status = InvoiceStatus.DISPUTED
        locked.dispute_reason = reason
        locked.disputed_amount = amount
        locked.save(update_fields=["status", "dispute_reason", "disputed_amount", "updated_at"])
        payload = {
            "invoice": InvoiceSerializer(invoice_queryset().get(pk=locked.pk)).data,
            "from": previous, "to": InvoiceStatus.DISPUTED, "reason": reason,
            "disputed_amount": str(amount), "raised_by": actor.label,
        }
        event_record(event_type="invoice.disputed", aggregate_type="invoice", aggregate_id=locked.pk,
                     payload=payload, actor=actor)
        exception = invoice_dispute_exception_open(invoice=locked, disputed_amount=amount, reason=reason,
                                                   previous_status=previous, actor=actor)
        audit_record(actor=actor, action="invoice.disputed", object_type="invoice", object_id=locked.pk,
                     before=before, after={**_snapshot(locked), "disputed_amount": str(amount),
                                           "exception": exception.pk}, note=reason)
    return DisputeResult(locked, exception, amount)


def invoice_dispute_exception_open(
    *, invoice: Invoice, disputed_amount: Decimal, reason: str, previous_status: str, actor: Actor
) -> IntegrationException:
    """The finance exception that owns a dispute until it is settled (invoice_settling_upsert resolves it)."""
    order = invoice.order
    return exception_raise(
        category=Category.INVOICE_DISPUTE,
        team=Team.FINANCE,
        severity=Severity.HIGH if disputed_amount >= HIGH_SEVERITY_AMOUNT else Severity.MEDIUM,
        title=f"Invoice {invoice.number} disputed by {invoice.customer.name}: {disputed_amount} {invoice.currency}",
        detail=reason,
        fingerprint=f"invoice-dispute:{invoice.pk}",
        actor=actor,
        workflow_step="invoice.dispute",
        context={
            "invoice": invoice.number, "order": order.number if order else None,
            "customer": invoice.customer.account_number, "amount": str(invoice.amount),
            "amount_paid": str(invoice.amount_paid), "disputed_amount": str(disputed_amount),
            "currency": invoice.currency, "previous_status": previous_status, "raised_by": actor.label,
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        },
        invoice=invoice,
        order=order,
        customer=invoice.customer,
        shipment=invoice.shipment,
    )


def invoice_settling_upsert(*, system, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """canonical.services.billing.invoice_upsert; when the write moves a disputed invoice to another
    status, the dispute's open finance exceptions are resolved with a note naming it."""
    with transaction.atomic():
        result = invoice_upsert(system=system, external_id=external_id, data=data, actor=actor)
        before, after = result.changes.get("status", (None, None))
        if before == InvoiceStatus.DISPUTED and after != InvoiceStatus.DISPUTED:
            invoice = result.instance
            exceptions_resolve_open(
                actor=actor, invoice=invoice, category=Category.INVOICE_DISPUTE,
                note=f"Settled by {system.code}: invoice {invoice.number} moved from disputed to {after}.",
            )
    return result
