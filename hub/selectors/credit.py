"""Reads for the finance queue: orders on credit hold with what finance needs to decide them.

For each held order: the customer, the order's value, how long it has been held and why (its
``order.credit_hold`` event: when, and the reason with the figures at the time), the credit account's standing (exposure against limit, what is
available; canonical.services.credit) and the account's open invoices. Filters by customer and
age, sorted by age or value. The last decisions come from the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import CharField, Count, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from canonical.models import (
    OPEN_INVOICE_STATUSES,
    AuditEntry,
    BusinessEvent,
    Customer,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
)
from canonical.services.credit import (
    CreditStanding,
    credit_chains,
    credit_exposure_read,
    credit_standing_of,
    credit_trees_read,
)
from canonical.services.prepared import reads_together
from hub.workflows.orders import HOLD_ACCOUNT_ON_HOLD, HOLD_OVER_LIMIT, HOLD_REASONS

DECISION_ACTIONS = ("order.credit_hold_released", "order.credit_hold_rejected")
INVOICES_LISTED = 10

AGE_FILTERS: dict[str, tuple[str, timedelta | None, timedelta | None]] = {
    # value: (label, held at least, held less than)
    "lt1d": ("Less than a day", None, timedelta(days=1)),
    "1to3d": ("1 to 3 days", timedelta(days=1), timedelta(days=3)),
    "gt3d": ("More than 3 days", timedelta(days=3), None),
    "gt7d": ("More than a week", timedelta(days=7), None),
}
SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "age": ("Oldest first", ("held_since", "pk")),
    "-age": ("Newest first", ("-held_since", "-pk")),
    "-value": ("Highest value first", ("-total_amount", "held_since")),
    "value": ("Lowest value first", ("total_amount", "held_since")),
    "customer": ("Customer A–Z", ("customer__name", "held_since")),
}
DEFAULT_SORT = "age"


def held_orders(*, customer: int | None = None, order: int | None = None, age: str = "", sort: str = DEFAULT_SORT,
                now: datetime | None = None) -> QuerySet:
    """Orders on credit hold with ``held_since`` (when the hold was placed), ``hold_payload`` (the
    hold event's payload, for hold_reason_of) and ``line_count``."""
    now = now or timezone.now()
    hold_event = (
        BusinessEvent.objects.filter(
            aggregate_type="order", aggregate_id=Cast(OuterRef("pk"), CharField()), event_type="order.credit_hold"
        ).order_by("-id")
    )
    lines = OrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order").annotate(n=Count("pk"))
    orders = (
        Order.objects.filter(status=OrderStatus.CREDIT_HOLD)
        .select_related("customer", "source_system")
        .annotate(held_since=Coalesce(Subquery(hold_event.values("recorded_at")[:1]), F("updated_at")),
                  hold_payload=Subquery(hold_event.values("payload")[:1]),
                  line_count=Coalesce(Subquery(lines.values("n")), 0))
    )
    if customer:
        orders = orders.filter(customer_id=customer)
    if order:
        orders = orders.filter(pk=order)
    if age in AGE_FILTERS:
        _, at_least, less_than = AGE_FILTERS[age]
        if at_least is not None:
            orders = orders.filter(held_since__lte=now - at_least)
        if less_than is not None:
            orders = orders.filter(held_since__gt=now - less_than)
    return orders.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT])[1])




@dataclass(frozen=True)
class HoldReason:
    """Why an order was held, as its ``order.credit_hold`` event recorded it when the hold was placed
    (hub.workflows.orders._credit_hold_open): the reason and the credit figures at that moment."""

    code: str  # HOLD_OVER_LIMIT, HOLD_ACCOUNT_ON_HOLD, or "" when the event recorded no reason we know
    exposure: Decimal | None = None  # the account's exposure before this order
    order_value: Decimal | None = None
    limit: Decimal | None = None
    currency: str = ""
    text: str = ""  # a reason recorded only as words (holds from before reasons were codes)

    @property
    def over_limit(self) -> bool:
        return self.code == HOLD_OVER_LIMIT

    @property
    def account_on_hold(self) -> bool:
        return self.code == HOLD_ACCOUNT_ON_HOLD

    @property
    def has_figures(self) -> bool:
        return None not in (self.exposure, self.order_value, self.limit)

    @property
    def exposure_with_order(self) -> Decimal | None:
        return self.exposure + self.order_value if self.has_figures else None


def _amount(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and value != "" else None
    except InvalidOperation:
        return None


def hold_reason_of(payload) -> HoldReason:
    """The reason in an ``order.credit_hold`` payload (``held_orders``' ``hold_payload``); tolerant of
    old events that recorded no reason, or only a sentence."""
    if not isinstance(payload, dict):
        return HoldReason("")
    reason = payload.get("reason")
    if reason not in HOLD_REASONS:
        return HoldReason("", text=reason.strip() if isinstance(reason, str) else "")
    credit = payload.get("credit") if isinstance(payload.get("credit"), dict) else {}
    return HoldReason(reason, exposure=_amount(credit.get("exposure")), order_value=_amount(payload.get("order_value")),
                      limit=_amount(credit.get("limit")), currency=str(credit.get("currency") or ""))


@dataclass(frozen=True)
class RejectionPreview:
    """What rejecting the selected orders would cancel, for the confirmation page."""

    orders: list[Order]
    value_by_currency: list[tuple[str, Decimal]]
    customers: int
    not_held: int  # selected but no longer on hold (decided already, or gone): they will be skipped


def rejection_preview(*, order_ids: list[int]) -> RejectionPreview:
    orders = list(Order.objects.filter(pk__in=order_ids, status=OrderStatus.CREDIT_HOLD)
                  .select_related("customer").order_by("customer__name", "number"))
    totals: dict[str, Decimal] = {}
    for order in orders:
        totals[order.currency] = totals.get(order.currency, Decimal("0")) + order.total_amount
    return RejectionPreview(orders=orders, value_by_currency=sorted(totals.items()),
                            customers=len({order.customer_id for order in orders}),
                            not_held=len(set(order_ids)) - len(orders))


@dataclass(frozen=True)
class HoldSummary:
    count: int
    customers: int
    value_by_currency: list[tuple[str, Decimal]]
    oldest: datetime | None


def hold_summary(queryset: QuerySet) -> HoldSummary:
    by_currency = list(queryset.order_by().values("currency").annotate(total=Sum("total_amount"))
                       .values_list("currency", "total").order_by("currency"))
    totals = queryset.order_by().aggregate(count=Count("pk"), customers=Count("customer", distinct=True))
    oldest = queryset.order_by("held_since").values_list("held_since", flat=True).first()
    return HoldSummary(totals["count"], totals["customers"], by_currency, oldest)


def customers_on_hold() -> list[tuple[int, str, int]]:
    """(id, label, held orders) for every customer with an order on hold, for the customer filter."""
    rows = (
        Order.objects.filter(status=OrderStatus.CREDIT_HOLD).order_by()
        .values("customer_id", "customer__name", "customer__account_number")
        .annotate(n=Count("pk")).order_by("customer__name")
    )
    return [(r["customer_id"], f"{r['customer__name']} ({r['customer__account_number']})", r["n"]) for r in rows]


@dataclass
class CustomerCredit:
    standing: CreditStanding
    open_invoices: list[Invoice] = field(default_factory=list)
    open_invoice_count: int = 0
    open_balance: Decimal = Decimal("0.00")
    overdue_count: int = 0

    @property
    def used_percent(self) -> int:
        if self.standing.limit <= 0:
            return 100
        return int(min(self.standing.exposure / self.standing.limit * 100, Decimal(100)))

    @property
    def over_limit(self) -> Decimal:
        return max(self.standing.exposure - self.standing.limit, Decimal("0.00"))


def credit_by_customer(customers: list[Customer]) -> dict[int, CustomerCredit]:
    """The credit standing and open invoices of each customer's credit account (its hierarchy's root).

    However many customers: one query for their credit chains (none when all are roots), one
    round trip for each credit account's exposure and tree, one query for the trees' open
    invoices. Customers of one credit account share its exposure and invoices.
    """
    chains = credit_chains(list({customer.pk: customer for customer in customers}.values()))
    if not chains:
        return {}
    accounts = {chain[-1].pk: chain[-1] for chain in chains.values()}
    *exposures, trees = reads_together(*(credit_exposure_read(account) for account in accounts.values()),
                                       credit_trees_read(accounts))
    exposure_of = dict(zip(accounts, exposures, strict=True))
    invoices = list(
        Invoice.objects.filter(customer_id__in={pk for ids in trees.values() for pk in ids},
                               status__in=OPEN_INVOICE_STATUSES)
        .select_related("customer").order_by("due_date", "issued_at")
    )
    today = timezone.localdate()
    for invoice in invoices:
        invoice.balance = invoice.amount - invoice.amount_paid
        invoice.is_overdue = invoice.due_date is not None and invoice.due_date < today
    invoices_of = {}
    for account, ids in trees.items():
        tree = set(ids)
        invoices_of[account] = [invoice for invoice in invoices if invoice.customer_id in tree]
    found = {}
    for pk, chain in chains.items():
        account = chain[-1].pk
        own = invoices_of[account]
        found[pk] = CustomerCredit(
            credit_standing_of(chain, *exposure_of[account]),
            open_invoices=own[:INVOICES_LISTED],
            open_invoice_count=len(own),
            open_balance=sum((invoice.balance for invoice in own), Decimal("0.00")),
            overdue_count=sum(1 for invoice in own if invoice.is_overdue),
        )
    return found


@dataclass(frozen=True)
class Decision:
    entry: AuditEntry
    order: Order | None

    @property
    def released(self) -> bool:
        return self.entry.action == "order.credit_hold_released"


def recent_decisions(limit: int = 10) -> list[Decision]:
    """The last credit-hold decisions from the audit log, with each order as it is now."""
    entries = list(
        AuditEntry.objects.filter(action__in=DECISION_ACTIONS, object_type="order")
        .select_related("actor_user").order_by("-at", "-id")[:limit]
    )
    ids = [int(entry.object_id) for entry in entries if entry.object_id.isdigit()]
    orders = Order.objects.select_related("customer").in_bulk(ids)
    return [Decision(entry, orders.get(int(entry.object_id)) if entry.object_id.isdigit() else None)
            for entry in entries]
