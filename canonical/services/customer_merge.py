"""Merging a duplicate customer account into the account that survives.

Everything that hangs on the merged account moves to the survivor in one transaction: the ids
other systems know it by (external references), addresses, contacts, child accounts, orders (as
customer, ship-to and bill-to), invoices, returns, credit memos, contract prices, and any other
canonical record that points at a customer; a steward's "not a duplicate of X" decisions about the
merged account hold for the survivor too. The merged account stays as an empty shell, status
``merged`` with ``merged_into`` pointing at the survivor, so old ids and links still lead somewhere.
The merge is audited with both accounts before and after and the ids of every record moved, and
emits ``customer.merged`` (on the merged account) and ``customer.updated`` (on the survivor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import (
    Address,
    Contact,
    Customer,
    CustomerStatus,
    DuplicateDismissal,
    EntityType,
    ExternalRef,
    Onboarding,
)
from canonical.services.credit import credit_chain
from canonical.services.events import audit_record, event_record

_SNAPSHOT_FIELDS = ("account_number", "name", "status", "onboarding", "tax_id", "currency", "payment_terms",
                    "credit_status", "parent_id", "merged_into_id")


class MergeRefused(BusinessRuleViolation):
    slug = "merge-refused"
    title = "The accounts cannot be merged"


# How each kind of moved record is named to people: (one, many).
_KIND_NAMES = {
    "external_refs": ("external id", "external ids"),
    "addresses": ("address", "addresses"),
    "contacts": ("contact", "contacts"),
    "child_accounts": ("child account", "child accounts"),
    "earlier_merged_accounts": ("account merged earlier", "accounts merged earlier"),
    "orders": ("order", "orders"),
    "ship_to_orders": ("order shipped to it", "orders shipped to it"),
    "bill_to_orders": ("order billed to it", "orders billed to it"),
    "invoices": ("invoice", "invoices"),
    "returns": ("return", "returns"),
    "credit_memos": ("credit memo", "credit memos"),
    "contract_prices": ("contract price", "contract prices"),
    "duplicate_dismissals": ("not-a-duplicate decision", "not-a-duplicate decisions"),
}


def kind_name(kind: str, count: int) -> str:
    one, many = _KIND_NAMES.get(kind, (kind.replace("_", " "),) * 2)
    return f"{count} {one if count == 1 else many}"


def describe_counts(counts: dict[str, int]) -> str:
    """'1 external id, 3 orders' for people; 'nothing' when nothing moved."""
    return ", ".join(kind_name(kind, count) for kind, count in counts.items() if count) or "nothing"


@dataclass
class MergeResult:
    survivor: Customer
    merged: Customer
    # What moved, by kind: {"external_refs": [ExternalRef ids], "orders": [order ids], ...}
    moved: dict[str, list[int]] = field(default_factory=dict)
    # Addresses and contacts left with the merged account, as the survivor has them already.
    folded: dict[str, list[int]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {kind: len(ids) for kind, ids in self.moved.items() if ids}


def _ancestor_ids(customer: Customer) -> set[int]:
    return {account.pk for account in credit_chain(customer)[1:]}


def _snapshot(customer: Customer) -> dict:
    snapshot = {name: getattr(customer, name) for name in _SNAPSHOT_FIELDS}
    snapshot["credit_limit"] = str(customer.credit_limit)
    snapshot["external_refs"] = [
        f"{system}:{external_id}"
        for system, external_id in ExternalRef.objects.filter(entity_type=EntityType.CUSTOMER, object_id=customer.pk)
        .order_by("system__code", "external_id").values_list("system__code", "external_id")
    ]
    return snapshot


def customer_merge_check(*, survivor: Customer, merged: Customer) -> None:
    """Raise MergeRefused when ``merged`` cannot be merged into ``survivor`` (the checks customer_merge
    makes under its locks; a confirmation page asks them first, so it never offers a merge that fails)."""
    if survivor.pk == merged.pk:
        raise MergeRefused("An account cannot be merged into itself.", id=survivor.pk)
    for account in (merged, survivor):
        if account.status == CustomerStatus.MERGED:
            raise MergeRefused(
                f"Account {account.account_number} was already merged into account {account.merged_into_id}.",
                id=account.pk, merged_into=account.merged_into_id,
            )
    if merged.pk in _ancestor_ids(survivor) or survivor.pk in _ancestor_ids(merged):
        raise MergeRefused(
            f"Accounts {survivor.account_number} and {merged.account_number} are in one hierarchy (a sold-to "
            "and its ship-to or bill-to accounts): change the hierarchy in the CRM instead of merging.",
            survivor=survivor.pk, merged=merged.pk,
        )
    if survivor.currency != merged.currency:
        raise MergeRefused(
            f"Account {merged.account_number} trades in {merged.currency} and {survivor.account_number} in "
            f"{survivor.currency}: their orders and invoices cannot share one account.",
            survivor=survivor.pk, merged=merged.pk,
        )


def _move(queryset, **values) -> list[int]:
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    if ids:
        model = queryset.model
        if any(f.name == "updated_at" for f in model._meta.concrete_fields):
            values["updated_at"] = timezone.now()  # partners polling with updated_since see the change
        model._default_manager.filter(pk__in=ids).update(**values)
    return ids


def _text_key(*values) -> tuple:
    return tuple(" ".join(str(value or "").split()).casefold() for value in values)


def _address_key(address: Address) -> tuple:
    return _text_key(address.kind, address.line1, address.line2, address.city, address.region,
                     address.postal_code, address.country)


def _contact_key(contact: Contact) -> tuple:
    return _text_key(contact.email) if contact.email else _text_key(contact.name, contact.phone)


def _same_as_survivors(model, survivor: Customer, merged: Customer, key) -> list[int]:
    """Ids of the merged account's ``model`` rows that match one of the survivor's by ``key``."""
    theirs = {key(row) for row in model.objects.filter(customer=survivor)}
    return [row.pk for row in model.objects.filter(customer=merged).order_by("pk") if key(row) in theirs]


def customer_merge_folded(*, survivor: Customer, merged: Customer) -> dict[str, list[int]]:
    """Ids of the merged account's addresses and contacts that the survivor already has (the same once
    case and spacing are set aside): the merge leaves them with the merged account."""
    return {"addresses": _same_as_survivors(Address, survivor, merged, _address_key),
            "contacts": _same_as_survivors(Contact, survivor, merged, _contact_key)}


def customer_related_records() -> list[tuple[str, type, str]]:
    """(kind, model, field) for every canonical record that points at a customer, other than the
    ones the merge handles itself (addresses, contacts, the hierarchy and earlier merges)."""
    handled = {Address, Contact, Customer}
    found = []
    for relation in Customer._meta.related_objects:
        model = relation.related_model
        if model in handled or model._meta.app_label != "canonical" or relation.many_to_many:
            continue
        found.append((relation.get_accessor_name(), model, relation.field.name))
    return sorted(found, key=lambda item: item[0])


def _dismissals_carry_over(survivor: Customer, merged: Customer) -> list[int]:
    """"Not a duplicate of X" said of the merged account holds for the survivor too (they are one
    company): copy those decisions to the survivor; the originals stay as they were taken."""
    created = []
    pairs = DuplicateDismissal.objects.filter(Q(customer_low=merged) | Q(customer_high=merged)).order_by("pk")
    for dismissal in pairs:
        other = dismissal.customer_high_id if dismissal.customer_low_id == merged.pk else dismissal.customer_low_id
        if other == survivor.pk:
            continue
        low, high = sorted((survivor.pk, other))
        copy, made = DuplicateDismissal.objects.get_or_create(
            customer_low_id=low, customer_high_id=high,
            defaults={"reason": f"{dismissal.reason} (decided for {merged.account_number}, merged into "
                                f"{survivor.account_number})", "decided_by": dismissal.decided_by,
                      "correlation_id": dismissal.correlation_id},
        )
        if made:
            created.append(copy.pk)
    return created


def customer_merge(*, survivor: Customer, merged: Customer, actor: Actor, note: str = "") -> MergeResult:
    """Merge ``merged`` into ``survivor``; see the module docstring for what moves."""
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Customer.objects.select_for_update(of=("self",)).order_by("pk").filter(
                pk__in=[survivor.pk, merged.pk]
            )
        }
        if survivor.pk not in locked or merged.pk not in locked:
            raise MergeRefused("One of the accounts no longer exists.", survivor=survivor.pk, merged=merged.pk)
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        customer_merge_check(survivor=survivor, merged=merged)
        before = {"survivor": _snapshot(survivor), "merged": _snapshot(merged)}
        moved: dict[str, list[int]] = {}

        moved["external_refs"] = _move(
            ExternalRef.objects.filter(entity_type=EntityType.CUSTOMER, object_id=merged.pk), object_id=survivor.pk
        )
        # An address or contact the survivor already has (the same once case and spacing are set
        # aside) stays with the merged account instead of appearing twice. The survivor keeps its
        # own default address per kind and primary contact; the merged account's become ordinary
        # ones (one default per kind is a constraint).
        folded = customer_merge_folded(survivor=survivor, merged=merged)
        default_kinds = set(survivor.addresses.filter(is_default=True).values_list("kind", flat=True))
        merged.addresses.filter(is_default=True, kind__in=default_kinds).update(is_default=False)
        moved["addresses"] = _move(Address.objects.filter(customer=merged).exclude(pk__in=folded["addresses"]),
                                   customer=survivor)
        if survivor.contacts.filter(is_primary=True).exists():
            merged.contacts.filter(is_primary=True).update(is_primary=False)
        moved["contacts"] = _move(Contact.objects.filter(customer=merged).exclude(pk__in=folded["contacts"]),
                                  customer=survivor)
        moved["child_accounts"] = _move(Customer.objects.filter(parent=merged), parent=survivor)
        moved["earlier_merged_accounts"] = _move(Customer.objects.filter(merged_into=merged), merged_into=survivor)
        for kind, model, field_name in customer_related_records():
            moved[kind] = _move(model._default_manager.filter(**{field_name: merged}), **{field_name: survivor})
        moved["duplicate_dismissals"] = _dismissals_carry_over(survivor, merged)

        merged.status = CustomerStatus.MERGED
        merged.merged_into = survivor
        if merged.onboarding == Onboarding.DUPLICATE_REVIEW:  # the merge ends its review: it never onboards
            merged.onboarding = Onboarding.NONE
        merged.save(update_fields=["status", "merged_into", "onboarding", "updated_at"])
        survivor.save(update_fields=["updated_at"])
        result = MergeResult(survivor=survivor, merged=merged, moved=moved, folded=folded)
        after = {"survivor": _snapshot(survivor), "merged": _snapshot(merged), "moved": moved,
                 "already_on_survivor": folded}
        _record(result, before=before, after=after, actor=actor, note=note)
    return result


def _record(result: MergeResult, *, before: dict, after: dict, actor: Actor, note: str) -> None:
    from canonical.serializers.customers import CustomerSerializer, customer_for_event

    survivor, merged = result.survivor, result.merged
    counts = result.counts()
    summary = {"id": merged.pk, "account_number": merged.account_number, "name": merged.name,
               "external_refs": before["merged"]["external_refs"]}
    fresh = CustomerSerializer(customer_for_event(survivor.pk)).data
    event_record(
        event_type="customer.merged", aggregate_type="customer", aggregate_id=merged.pk, actor=actor,
        payload={"merged": summary, "survivor": fresh, "moved": counts},
    )
    event_record(
        event_type="customer.updated", aggregate_type="customer", aggregate_id=survivor.pk, actor=actor,
        payload={"customer": fresh, "changed": sorted(counts), "merged_from": summary},
    )
    audit_record(
        actor=actor, action="customer.merged", object_type="customer", object_id=survivor.pk,
        before=before, after=after,
        note=f"{merged.account_number} merged into {survivor.account_number}. {note}".strip(),
    )
    audit_record(
        actor=actor, action="customer.merged_into", object_type="customer", object_id=merged.pk,
        before=before["merged"], after=after["merged"],
        note=f"merged into {survivor.account_number} (customer {survivor.pk}). {note}".strip(),
    )
