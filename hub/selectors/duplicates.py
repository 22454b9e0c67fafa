"""Reads for the data stewards' duplicate reviews: the open reviews, and one review with the
account, its likely duplicates (scored now) and what each account carries (what a merge moves)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from canonical.models import Customer, EntityType, ExternalRef, Onboarding, SystemKind
from canonical.services.customer_merge import customer_related_records, kind_name
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


@dataclass
class AccountFootprint:
    """An account as the steward compares it: its ids elsewhere and how much hangs on it."""

    customer: Customer
    refs: list[tuple[str, str]]
    counts: dict[str, int]
    known_to_erp: bool
    addresses: list = field(default_factory=list)
    contacts: list = field(default_factory=list)

    @property
    def holdings(self) -> list[str]:
        """What hangs on the account, for people: ["2 addresses", "1 order", ...]."""
        return [kind_name(kind, n) for kind, n in self.counts.items() if n]


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


def account_footprint(customer: Customer) -> AccountFootprint:
    refs = list(
        ExternalRef.objects.filter(entity_type=EntityType.CUSTOMER, object_id=customer.pk)
        .order_by("system__code", "external_id").values_list("system__code", "external_id", "system__kind")
    )
    counts = {
        "addresses": customer.addresses.count(),
        "contacts": customer.contacts.count(),
        "child_accounts": customer.children.count(),
    }
    for kind, model, field_name in customer_related_records():
        counts[kind] = model._default_manager.filter(**{field_name: customer}).count()
    return AccountFootprint(
        customer=customer,
        refs=[(system, external_id) for system, external_id, _ in refs],
        counts=counts,
        known_to_erp=any(kind == SystemKind.ERP for _, _, kind in refs) or customer.onboarding == Onboarding.ACTIVATED,
        addresses=list(customer.addresses.all()),
        contacts=list(customer.contacts.all()),
    )


def duplicate_review(exception: IntegrationException) -> DuplicateReview:
    account = account_under_review(exception)
    listed = list((exception.context or {}).get("candidates", []))
    if account is None:
        return DuplicateReview(exception=exception, account=None, candidates=[], listed=listed)
    candidates = []
    if exception.status in ACTIVE_EXCEPTION_STATUSES:
        candidates = [(c, account_footprint(c.customer)) for c in customer_duplicates_find(customer=account)]
    return DuplicateReview(exception=exception, account=account_footprint(account), candidates=candidates,
                           listed=listed)

