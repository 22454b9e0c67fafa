"""What a partner system may read and write, by the kind of system it is.

A consumer acts for exactly one system: it writes only that system's records
(and only in domains its system owns, see system_of_record_assert), and reads
only the domains its kind of system needs. Staff signed in to the portal read
everything. Row-level rules (a supplier sees only its own purchase orders) are
applied by each endpoint's queryset.
"""

from __future__ import annotations

from canonical.errors import CanonicalError
from canonical.models import Domain, System, SystemKind

D = Domain
ALL_DOMAINS = frozenset(D.values)
READABLE_DOMAINS: dict[str, frozenset[str]] = {
    SystemKind.ERP: ALL_DOMAINS,
    SystemKind.HUB: ALL_DOMAINS,
    SystemKind.CRM: frozenset(
        {D.CUSTOMERS, D.PRODUCTS, D.PRICES, D.INVENTORY, D.ORDERS, D.SHIPMENTS, D.INVOICES, D.RETURNS}
    ),
    SystemKind.ECOMMERCE: frozenset(
        {D.CUSTOMERS, D.PRODUCTS, D.PRICES, D.INVENTORY, D.ORDERS, D.SHIPMENTS, D.INVOICES, D.RETURNS}
    ),
    SystemKind.WMS: frozenset(
        {D.PRODUCTS, D.INVENTORY, D.ORDERS, D.SHIPMENTS, D.RETURNS, D.SUPPLIER_COMMITMENTS}
    ),
    SystemKind.TMS: frozenset({D.ORDERS, D.SHIPMENTS}),
    SystemKind.CARRIER: frozenset({D.SHIPMENTS}),
    SystemKind.SUPPLIER: frozenset({D.PRODUCTS, D.SUPPLIER_COMMITMENTS}),
}


# The domain each event aggregate belongs to, for deciding who may see an event.
AGGREGATE_DOMAINS: dict[str, str] = {
    "customer": D.CUSTOMERS,
    "product": D.PRODUCTS,
    "price_list": D.PRICES,
    "contract_price": D.PRICES,
    "location": D.INVENTORY,
    "inventory": D.INVENTORY,
    "order": D.ORDERS,
    "shipment": D.SHIPMENTS,
    "invoice": D.INVOICES,
    "return": D.RETURNS,
    "credit_memo": D.RETURNS,
    "purchase_order": D.SUPPLIER_COMMITMENTS,
}


def readable_aggregate_types(user) -> list[str] | None:
    """Aggregate types whose events ``user`` may read; None means all."""
    if is_staff_reader(user):
        return None
    system = acting_system(user)
    if system is None:
        return []
    domains = READABLE_DOMAINS.get(system.kind, frozenset())
    return sorted(agg for agg, domain in AGGREGATE_DOMAINS.items() if domain in domains)


class AccessDenied(CanonicalError):
    status_code = 403
    slug = "access-denied"
    title = "Forbidden"


def acting_system(user) -> System | None:
    """The system a request acts for (an API-key principal), or None for staff and anonymous users."""
    return getattr(user, "system", None)


def is_staff_reader(user) -> bool:
    return bool(getattr(user, "is_staff", False) and getattr(user, "is_active", False))


def domain_read_assert(user, domain: str) -> None:
    if is_staff_reader(user):
        return
    system = acting_system(user)
    if system is None:
        raise AccessDenied("Only partner API keys and hub staff may read the canonical API.")
    if domain not in READABLE_DOMAINS.get(system.kind, frozenset()):
        raise AccessDenied(
            f"System '{system.code}' ({system.get_kind_display()}) may not read {domain}.",
            system=system.code,
            domain=domain,
        )


def write_as_assert(user, target: System) -> System:
    """A consumer writes only as its own system; returns that system."""
    system = acting_system(user)
    if system is None:
        raise AccessDenied("Writes need a partner API key; staff change records in the admin portal.")
    if system.pk != target.pk:
        raise AccessDenied(
            f"This API key acts for system '{system.code}' and cannot write records of system '{target.code}'.",
            system=system.code,
            target_system=target.code,
        )
    return system
