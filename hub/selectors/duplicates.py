"""Reads for the data stewards' duplicate reviews: the open reviews, and one review with the
account, its likely duplicates (scored now) and what each account carries (what a merge moves)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, ExpressionWrapper, F, QuerySet, Sum

from canonical.models import (
    OPEN_INVOICE_STATUSES,
    OPEN_ORDER_STATUSES,
    Address,
    Contact,
    Customer,
    EntityType,
    ExternalRef,
    Invoice,
    Onboarding,
    Order,
    SystemKind,
)
from canonical.services.customer_merge import customer_merge_folded, customer_related_records, kind_name
from canonical.services.duplicates import DuplicateCandidate, customer_duplicates_find
from connectors.models import ACTIVE_EXCEPTION_STATUSES, Category, IntegrationException
from hub.workflows.onboarding import account_under_review

REVIEWS_SHOWN = 200


def duplicate_reviews_open() -> QuerySet:
    """Open duplicate-customer exceptions, most urgent first, with their account."""
    return (
        IntegrationException.objects.filter(category=Category.DUPLICATE_CUSTOMER, status__in=ACTIVE_EXCEPTION_STATUSES)
        .select_related("customer", "assignee")
        .order_by("sla_due_at", "pk")
    )


_ZERO = Decimal("0.00")


@dataclass
class AccountFootprint:
    """An account as the steward compares it: its standing, its ids elsewhere and how much hangs on it."""

    customer: Customer
    refs: list[tuple[str, str]]
    counts: dict[str, int]
    known_to_erp: bool
    addresses: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    parent: Customer | None = None
    children: list = field(default_factory=list)
    open_orders: int = 0
    open_orders_value: Decimal = _ZERO  # what is ordered and not yet invoiced, as credit exposure counts it
    open_invoices: int = 0
    open_invoices_value: Decimal = _ZERO  # unpaid

    @property
    def holdings(self) -> list[str]:
        """What hangs on the account, for people: ["2 addresses", "1 order", ...]."""
        return [kind_name(kind, n) for kind, n in self.counts.items() if n]

    @property
    def roles(self) -> list[str]:
        customer = self.customer
        return [role for role, has in (("sold-to", customer.is_sold_to), ("bill-to", customer.is_bill_to),
                                       ("ship-to", customer.is_ship_to)) if has]

    @property
    def systems(self) -> dict[str, list[str]]:
        """The external ids by system: {"erp": ["100001", "900001"], ...}."""
        found: dict[str, list[str]] = {}
        for system, external_id in self.refs:
            found.setdefault(system, []).append(external_id)
        return found


@dataclass
class DuplicateReview:
    exception: IntegrationException
    account: AccountFootprint | None
    candidates: list[tuple[DuplicateCandidate, AccountFootprint]]
    listed: list[dict]  # the candidates as the exception recorded them when it was raised

    def suggested_survivor(self, footprint: AccountFootprint) -> Customer:
        """Keep the account ERP already knows (or is active), else the older one."""
        account = self.account
        ranked = sorted([account, footprint], key=lambda f: (not f.known_to_erp, f.customer.status != "active",
                                                               f.customer.pk))
        return ranked[0].customer


def _by_customer(rows, key: str = "customer") -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


def account_footprints(customers) -> list[AccountFootprint]:
    """The footprint of each of ``customers``, in their order: a fixed number of queries (one per kind
    of record) however many accounts the page shows."""
    customers = list(customers)
    ids = [c.pk for c in customers]
    refs = _by_customer(
        ExternalRef.objects.filter(entity_type=EntityType.CUSTOMER, object_id__in=ids)
        .select_related("system").order_by("system__code", "external_id"), key="object_id")
    addresses = _by_customer(Address.objects.filter(customer__in=ids).order_by("customer", "pk"), key="customer_id")
    contacts = _by_customer(Contact.objects.filter(customer__in=ids).order_by("customer", "pk"), key="customer_id")
    children = _by_customer(Customer.objects.filter(parent__in=ids).order_by("account_number"), key="parent_id")
    parents = Customer.objects.in_bulk({c.parent_id for c in customers if c.parent_id})
    counts: dict[str, dict[int, int]] = {}
    for kind, model, field_name in customer_related_records():
        counts[kind] = dict(model._default_manager.filter(**{f"{field_name}__in": ids}).order_by()
                            .values_list(field_name).annotate(n=Count("pk")))
    uninvoiced = ExpressionWrapper(
        (F("lines__quantity_ordered") - F("lines__quantity_invoiced")) * F("lines__unit_price"),
        output_field=Order._meta.get_field("total_amount"),
    )
    open_orders = {
        row["customer"]: row for row in Order.objects.filter(customer__in=ids, status__in=OPEN_ORDER_STATUSES)
        .order_by().values("customer").annotate(n=Count("pk", distinct=True), value=Sum(uninvoiced))
    }
    open_invoices = {
        row["customer"]: row for row in Invoice.objects.filter(customer__in=ids, status__in=OPEN_INVOICE_STATUSES)
        .order_by().values("customer").annotate(n=Count("pk"), value=Sum(F("amount") - F("amount_paid")))
    }
    footprints = []
    for customer in customers:
        own_refs = refs.get(customer.pk, [])
        orders = open_orders.get(customer.pk, {})
        invoices = open_invoices.get(customer.pk, {})
        footprints.append(AccountFootprint(
            customer=customer,
            refs=[(ref.system.code, ref.external_id) for ref in own_refs],
            counts={
                "addresses": len(addresses.get(customer.pk, [])),
                "contacts": len(contacts.get(customer.pk, [])),
                "child_accounts": len(children.get(customer.pk, [])),
                **{kind: by_id.get(customer.pk, 0) for kind, by_id in counts.items()},
            },
            known_to_erp=(any(ref.system.kind == SystemKind.ERP for ref in own_refs)
                          or customer.onboarding == Onboarding.ACTIVATED),
            addresses=addresses.get(customer.pk, []),
            contacts=contacts.get(customer.pk, []),
            parent=parents.get(customer.parent_id),
            children=children.get(customer.pk, []),
            open_orders=orders.get("n", 0),
            open_orders_value=orders.get("value") or _ZERO,
            open_invoices=invoices.get("n", 0),
            open_invoices_value=invoices.get("value") or _ZERO,
        ))
    return footprints


def duplicate_review(exception: IntegrationException) -> DuplicateReview:
    account = account_under_review(exception)
    listed = list((exception.context or {}).get("candidates", []))
    if account is None:
        return DuplicateReview(exception=exception, account=None, candidates=[], listed=listed)
    found = customer_duplicates_find(customer=account) if exception.status in ACTIVE_EXCEPTION_STATUSES else []
    account_found, *candidates_found = account_footprints([account, *(c.customer for c in found)])
    return DuplicateReview(exception=exception, account=account_found,
                           candidates=list(zip(found, candidates_found, strict=True)), listed=listed)



# The kept account's own terms and names: a merge moves records, never these.
KEPT_FIELDS = (("name", "Name"), ("account_number", "Account number"), ("currency", "Currency"),
               ("payment_terms", "Payment terms"), ("credit_limit", "Credit limit"), ("credit_status", "Credit status"))


@dataclass
class MergePreview:
    """What a merge of ``merged`` into ``survivor`` will do, for the confirmation page."""

    survivor: AccountFootprint
    merged: AccountFootprint
    kept: list[dict]  # per field of KEPT_FIELDS: label, the kept value, the merged account's, differs
    moving: dict[str, int]  # counts of what moves (addresses and contacts the survivor has already left out)
    staying: dict[str, list]  # {"addresses": [...], "contacts": [...]}: the survivor's already, they stay behind
    shared_systems: list[tuple[str, list[str], list[str]]]  # (system, survivor's ids, merged's ids)

    @property
    def moving_holdings(self) -> list[str]:
        return [kind_name(kind, n) for kind, n in self.moving.items() if n]


def _shown(customer: Customer, name: str) -> str:
    if name == "credit_limit":
        return f"{customer.credit_limit:,.2f}"
    display = getattr(customer, f"get_{name}_display", None)
    return str(display() if display else getattr(customer, name))


def merge_preview(*, survivor: Customer, merged: Customer) -> MergePreview:
    kept_footprint, merged_footprint = account_footprints([survivor, merged])
    folded = customer_merge_folded(survivor=survivor, merged=merged)
    staying = {"addresses": [a for a in merged_footprint.addresses if a.pk in folded["addresses"]],
               "contacts": [c for c in merged_footprint.contacts if c.pk in folded["contacts"]]}
    moving = dict(merged_footprint.counts)
    for kind, rows in staying.items():
        moving[kind] -= len(rows)
    moving = {"external_refs": len(merged_footprint.refs), **moving}
    kept = [{"label": label, "kept": _shown(survivor, name), "dropped": _shown(merged, name),
             "differs": getattr(survivor, name) != getattr(merged, name)} for name, label in KEPT_FIELDS]
    theirs = merged_footprint.systems
    shared = [(system, ids, theirs[system]) for system, ids in kept_footprint.systems.items() if system in theirs]
    return MergePreview(survivor=kept_footprint, merged=merged_footprint, kept=kept, moving=moving, staying=staying,
                        shared_systems=shared)
