"""Writes to customer accounts: the CRM's upsert (addresses and contacts included), and finance's
changes to an account's credit terms."""

from __future__ import annotations

from django.db import transaction

from canonical.context import Actor
from canonical.models import Address, Contact, Customer, Domain, EntityType, System
from canonical.services.events import audit_record, event_record
from canonical.services.extension import write_service
from canonical.services.refs import (
    UpsertResult,
    keyed_record_upsert,
    system_of_record_assert,
)

# Finance's fields: what the credit check reads (canonical.services.credit; the limit is in the
# account's currency) and the terms invoices are due on. Staff change them only with this permission.
CREDIT_TERMS_FIELDS = ("currency", "payment_terms", "credit_limit", "credit_status")
CREDIT_TERMS_PERMISSION = "canonical.change_credit_terms"

_ADDRESS_FIELDS = ("kind", "line1", "line2", "city", "region", "postal_code", "country", "is_default")
_CONTACT_FIELDS = ("name", "email", "phone", "role", "is_primary")


def _rows(items, fields) -> list[tuple]:
    def value(item, name):
        return item.get(name) if isinstance(item, dict) else getattr(item, name)

    return sorted(tuple(str(value(item, name)) for name in fields) for item in items)


def _replace_children(customer: Customer, model, related_name: str, items: list[dict] | None, fields) -> bool:
    """Replace a customer's addresses or contacts with ``items``; True when they differ."""
    if items is None:
        return False
    current = list(getattr(customer, related_name).all())
    normalised = [{f: item.get(f, model._meta.get_field(f).get_default()) for f in fields} for item in items]
    if _rows(current, fields) == _rows(normalised, fields):
        return False
    getattr(customer, related_name).all().delete()
    model.objects.bulk_create([model(customer=customer, **item) for item in normalised])
    return True


def customer_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the customer ``system`` knows as ``external_id``.

    Only the customers' system of record may write. A repeat of the same body
    changes nothing and emits no event. An unknown external id whose account number
    the hub already has is linked to that account rather than creating a second one
    (see keyed_record_upsert for the conflicts that are refused).
    """
    from canonical.serializers.customers import CustomerSerializer

    system_of_record_assert(system=system, domain=Domain.CUSTOMERS)
    data = dict(data)
    addresses = data.pop("addresses", None)
    contacts = data.pop("contacts", None)
    with transaction.atomic():
        result = keyed_record_upsert(
            system=system, external_id=external_id, entity_type=EntityType.CUSTOMER, model=Customer,
            natural_key="account_number", data=data,
        )
        customer, created, changes = result.instance, result.created, result.changes
        if _replace_children(customer, Address, "addresses", addresses, _ADDRESS_FIELDS):
            changes["addresses"] = "replaced"
        if _replace_children(customer, Contact, "contacts", contacts, _CONTACT_FIELDS):
            changes["contacts"] = "replaced"
        if created or changes:
            if changes and not created:
                customer.save(update_fields=["updated_at"])
            payload = {"customer": CustomerSerializer(customer).data}
            if not created:
                payload["changed"] = sorted(changes)
            event_record(
                event_type="customer.created" if created else "customer.updated",
                aggregate_type="customer",
                aggregate_id=customer.pk,
                payload=payload,
                actor=actor,
            )
    return UpsertResult(instance=customer, created=created, changes=changes)


def customer_credit_terms_change(*, customer: Customer | int, terms: dict, actor: Actor, note: str = "") -> dict:
    """Set some of an account's credit terms (CREDIT_TERMS_FIELDS) as finance decided them.

    The change is audited with the terms before and after and emitted as ``customer.updated`` (the
    event every customer change gives subscribers), in one transaction. Returns {field: (before,
    after)} of what changed; terms equal to the current ones change nothing and record nothing.
    """
    from canonical.serializers.customers import CustomerSerializer, customer_for_event

    unknown = sorted(set(terms) - set(CREDIT_TERMS_FIELDS))
    if unknown:
        raise ValueError(f"Not credit terms: {', '.join(unknown)}.")
    pk = customer.pk if isinstance(customer, Customer) else customer
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=pk)
        changes = {name: (getattr(locked, name), value) for name, value in terms.items()
                   if getattr(locked, name) != value}
        if not changes:
            return {}
        for name, (_, value) in changes.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=[f.name for f in Customer._meta.fields if f.name not in changes])
        locked.save(update_fields=[*changes, "updated_at"])
        fresh = customer_for_event(locked.pk)  # values as stored
        changes = {name: (old, getattr(fresh, name)) for name, (old, _) in changes.items()}
        audit_record(
            actor=actor, action="customer.credit_terms_changed", object_type="customer", object_id=locked.pk,
            before={name: str(old) for name, (old, _) in changes.items()},
            after={name: str(new) for name, (_, new) in changes.items()},
            note=note,
        )
        event_record(
            event_type="customer.updated", aggregate_type="customer", aggregate_id=locked.pk, actor=actor,
            payload={"customer": CustomerSerializer(fresh).data, "changed": sorted(changes)},
        )
    if isinstance(customer, Customer):
        for name, (_, value) in changes.items():
            setattr(customer, name, value)
    return changes


def customer_write(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """A write from the customers' system of record, as the PUT API and the inbound customer.upsert
    message make it: through ``settings.HUB_CUSTOMER_WRITE_SERVICE`` (the hub's onboarding workflow:
    customer_upsert, then the duplicate check and the ERP activation of a new account), or plain
    customer_upsert where that setting is empty. canonical cannot import the hub, hence the setting.
    """
    service = write_service("HUB_CUSTOMER_WRITE_SERVICE", customer_upsert)
    return service(system=system, external_id=external_id, data=data, actor=actor)
