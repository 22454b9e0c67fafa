"""The canonical side of onboarding an account created in the CRM: hold it for duplicate review,
request its activation in ERP, and record the ERP's activation (its customer number).

The decisions (is it a likely duplicate? what did the steward decide?) are the hub's
(hub/workflows/onboarding.py); these services only move the account's onboarding state, write
the events the ERP subscription sends, and keep the audit trail.

    (created, pending) ──likely duplicate──▶ duplicate_review ──dismissed / merged──┐
            │                                                                       ▼
            └──────────────clean──────────────────────────────────────▶ activation_requested
                                                                                    │ ERP: customer.activated
                                                                                    ▼
                                                                    activated (status active)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from canonical.access import AccessDenied
from canonical.context import Actor
from canonical.errors import BusinessRuleViolation, NaturalKeyConflict
from canonical.models import Customer, CustomerStatus, EntityType, ExternalRef, Onboarding, System, SystemKind
from canonical.services.events import audit_record, event_record
from canonical.services.refs import external_ref_bind


class ActivationRefused(BusinessRuleViolation):
    status_code = 409
    slug = "activation-refused"
    title = "The account cannot be activated"


@dataclass(frozen=True)
class ActivationResult:
    customer: Customer
    changed: bool
    reference_recorded: bool


def _payload(customer: Customer, **extra) -> dict:
    from canonical.serializers.customers import CustomerSerializer, customer_for_event

    return {"customer": CustomerSerializer(customer_for_event(customer.pk)).data, **extra}


def _lock(customer: Customer) -> Customer:
    return Customer.objects.select_for_update(of=("self",)).order_by().get(pk=customer.pk)


def _set_onboarding(customer: Customer, onboarding: str, *, actor: Actor, note: str = "", **fields) -> str:
    before = customer.onboarding
    customer.onboarding = onboarding
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.save(update_fields=["onboarding", *fields, "updated_at"])
    audit_record(
        actor=actor, action=f"customer.onboarding_{onboarding or 'review_released'}", object_type="customer",
        object_id=customer.pk,
        before={"onboarding": before}, after={"onboarding": onboarding, **{k: str(v) for k, v in fields.items()}},
        note=note,
    )
    return before


def erp_known_ids(customer: Customer) -> list[tuple[System, str]]:
    """The ERP systems that already know the account, with their ids for it."""
    refs = ExternalRef.objects.filter(
        entity_type=EntityType.CUSTOMER, object_id=customer.pk, system__kind=SystemKind.ERP
    ).select_related("system").order_by("system__code")
    return [(ref.system, ref.external_id) for ref in refs]


def customer_duplicate_review_hold(*, customer: Customer, actor: Actor, note: str = "") -> Customer:
    """Hold a pending account for a data steward: it is not sent to ERP while held."""
    with transaction.atomic():
        locked = _lock(customer)
        if locked.status != CustomerStatus.PENDING:
            raise ActivationRefused(f"Account {locked.account_number} is {locked.status}, not pending onboarding.")
        if locked.onboarding != Onboarding.DUPLICATE_REVIEW:
            _set_onboarding(locked, Onboarding.DUPLICATE_REVIEW, actor=actor, note=note)
    return locked


def customer_duplicate_review_release(*, customer: Customer, actor: Actor, note: str = "") -> Customer:
    """The data stewards have decided the account's review: it is no longer held (the hub then
    requests or records its activation)."""
    with transaction.atomic():
        locked = _lock(customer)
        if locked.onboarding == Onboarding.DUPLICATE_REVIEW:
            _set_onboarding(locked, Onboarding.NONE, actor=actor, note=note or "duplicate review decided")
    return locked


def customer_activation_request(*, customer: Customer, actor: Actor, note: str = "") -> Customer:
    """Ask ERP to open the account: emits ``customer.activation_requested``, which the ERP's
    subscription delivers; the account stays pending until ERP answers with ``customer.activated``."""
    with transaction.atomic():
        locked = _lock(customer)
        if locked.status != CustomerStatus.PENDING:
            raise ActivationRefused(
                f"Account {locked.account_number} is {locked.get_status_display().lower()}; only a pending "
                "account is sent to ERP for activation.", status=locked.status,
            )
        if locked.onboarding in (Onboarding.ACTIVATION_REQUESTED, Onboarding.ACTIVATED):
            return locked
        _set_onboarding(locked, Onboarding.ACTIVATION_REQUESTED, actor=actor, note=note,
                        activation_requested_at=timezone.now())
        event_record(
            event_type="customer.activation_requested", aggregate_type="customer", aggregate_id=locked.pk,
            actor=actor, payload=_payload(locked),
        )
    return locked


def customer_activation_record(
    *, customer: Customer, system: System, erp_customer_id: str, actor: Actor, note: str = ""
) -> ActivationResult:
    """ERP has opened the account as ``erp_customer_id``: bind that id, make a pending account
    active and emit ``customer.activated``. A repeat changes nothing."""
    if system.kind != SystemKind.ERP:
        raise AccessDenied(
            f"Only an ERP activates customer accounts; '{system.code}' is a {system.get_kind_display()} system.",
            system=system.code,
        )
    with transaction.atomic():
        locked = _lock(customer)
        if locked.status == CustomerStatus.MERGED:
            raise ActivationRefused(
                f"Account {locked.account_number} was merged into customer {locked.merged_into_id}; "
                "activate that account instead.", merged_into=locked.merged_into_id,
            )
        if locked.onboarding == Onboarding.DUPLICATE_REVIEW:
            raise ActivationRefused(
                f"Account {locked.account_number} is held for duplicate review; it was not sent for activation.",
                onboarding=locked.onboarding,
            )
        recorded = _erp_ref_bind(locked, system, erp_customer_id)
        if locked.onboarding == Onboarding.ACTIVATED and not recorded:
            return ActivationResult(customer=locked, changed=False, reference_recorded=False)
        status_before = locked.status
        fields = {"activated_at": timezone.now()}
        if locked.status == CustomerStatus.PENDING:
            fields["status"] = CustomerStatus.ACTIVE
        _set_onboarding(locked, Onboarding.ACTIVATED, actor=actor, note=note, **fields)
        event_record(
            event_type="customer.activated", aggregate_type="customer", aggregate_id=locked.pk, actor=actor,
            payload=_payload(locked, activated_by=system.code, erp_customer_id=erp_customer_id,
                             status_before=status_before),
        )
    return ActivationResult(customer=locked, changed=True, reference_recorded=recorded)


def _erp_ref_bind(customer: Customer, system: System, erp_customer_id: str) -> bool:
    """Bind ERP's id for the account; True when new. Another id for it, or the id on another account, is refused."""
    current = (
        ExternalRef.objects.filter(system=system, entity_type=EntityType.CUSTOMER, object_id=customer.pk)
        .values_list("external_id", flat=True)
    )
    current = list(current)
    if erp_customer_id in current:
        return False
    holder = (
        ExternalRef.objects.filter(system=system, entity_type=EntityType.CUSTOMER, external_id=erp_customer_id)
        .values_list("object_id", flat=True).first()
    )
    if holder is not None:
        raise NaturalKeyConflict(
            f"'{system.code}' customer '{erp_customer_id}' is already hub customer {holder}, not "
            f"{customer.pk} ({customer.account_number}).", id=holder, external_id=erp_customer_id,
        )
    if current:
        raise NaturalKeyConflict(
            f"Account {customer.account_number} is already known to '{system.code}' as '{current[0]}', "
            f"not '{erp_customer_id}'.", id=customer.pk, external_id=current[0],
        )
    external_ref_bind(system=system, entity_type=EntityType.CUSTOMER, external_id=erp_customer_id,
                      object_id=customer.pk)
    return True
