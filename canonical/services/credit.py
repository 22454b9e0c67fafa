"""A customer's credit standing: limit, exposure (open orders + open invoices), what is left, holds.

Rules (the account hierarchy, see canonical.models.customers):

* Credit is extended to the **credit account**: the root of the customer's hierarchy, the
  top sold-to. Its ``credit_limit``, ``credit_status`` and ``currency`` are the ones that count;
  ship-to and bill-to accounts below it (which carry no limit of their own) draw on it.
* **Exposure** is everything the credit account's whole tree owes or has ordered and not yet been
  invoiced for: the uninvoiced value of open orders (OPEN_ORDER_STATUSES; per line
  ``(ordered - invoiced) × unit price``) of any account in the tree, plus the unpaid part of
  open invoices (OPEN_INVOICE_STATUSES; ``amount - amount_paid``) billed to any account in the tree.
  The hub holds no exchange rates: documents are summed at face value in the credit account's currency.
* **On hold** when the credit account, or any account between it and the customer asked about,
  has credit status ``hold``. A limit of 0 extends no credit: any order is over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import DecimalField, F, Func, Subquery
from django.db.models.expressions import RawSQL

from canonical.models import (
    OPEN_INVOICE_STATUSES,
    OPEN_ORDER_STATUSES,
    CreditStatus,
    Customer,
    Invoice,
    OrderLine,
)

_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CreditStanding:
    """Where a customer stands against its credit limit, in the credit account's currency."""

    credit_account_id: int
    limit: Decimal
    exposure: Decimal
    available: Decimal
    on_hold: bool
    currency: str
    open_orders: Decimal = _ZERO
    open_invoices: Decimal = _ZERO
    credit_status: str = CreditStatus.GOOD

    def would_exceed(self, amount: Decimal) -> bool:
        """True when ``amount`` more exposure would take the account over its limit."""
        return self.exposure + amount > self.limit

    def as_dict(self) -> dict:
        return {
            "credit_account": self.credit_account_id,
            "currency": self.currency,
            "limit": str(self.limit),
            "exposure": str(self.exposure),
            "open_orders": str(self.open_orders),
            "open_invoices": str(self.open_invoices),
            "available": str(self.available),
            "credit_status": self.credit_status,
            "on_hold": self.on_hold,
        }


def credit_chain(customer: Customer) -> list[Customer]:
    """The customer and its ancestors, the customer first and the credit account (root) last."""
    chain = [customer]
    seen = {customer.pk}
    node = customer
    while node.parent_id and node.parent_id not in seen:
        node = Customer.objects.get(pk=node.parent_id)
        chain.append(node)
        seen.add(node.pk)
    return chain


def credit_account_for(customer: Customer) -> Customer:
    """The account whose limit ``customer`` draws on: the root of its hierarchy."""
    return credit_chain(customer)[-1]


def credit_tree_sql(root: Customer) -> RawSQL:
    """The ids of the credit account's tree as a subquery (a recursive CTE: any depth, no round trip)."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    return RawSQL(
        f"WITH RECURSIVE credit_tree(id) AS (SELECT r.id FROM {table} r WHERE r.id = %s UNION SELECT c.id FROM {table} c "
        "INNER JOIN credit_tree t ON c.parent_id = t.id) SELECT id FROM credit_tree",
        [root.pk],
    )


def _money(value) -> Decimal:
    return (value or _ZERO).quantize(_CENT)


def customer_credit_standing(*, customer: Customer) -> CreditStanding:
    """The credit standing of ``customer``'s credit account (see the module docstring for the rules)."""
    chain = credit_chain(customer)
    root = chain[-1]
    tree = credit_tree_sql(root)
    money = DecimalField(max_digits=20, decimal_places=5)
    # SUM as a plain function, not an aggregate: no GROUP BY, one row over everything the filter keeps.
    orders_sum = (
        OrderLine.objects.filter(order__customer_id__in=tree, order__status__in=OPEN_ORDER_STATUSES)
        .annotate(value=Func((F("quantity_ordered") - F("quantity_invoiced")) * F("unit_price"), function="SUM",
                             output_field=money))
        .values("value")
    )
    invoices_sum = (
        Invoice.objects.filter(customer_id__in=tree, status__in=OPEN_INVOICE_STATUSES)
        .annotate(value=Func(F("amount") - F("amount_paid"), function="SUM", output_field=money))
        .values("value")
    )
    # Both sums in one round trip, as scalar subqueries of the credit account's row.
    open_orders, open_invoices = (
        Customer.objects.filter(pk=root.pk)
        .annotate(open_orders=Subquery(orders_sum.order_by()[:1]), open_invoices=Subquery(invoices_sum.order_by()[:1]))
        .values_list("open_orders", "open_invoices")
        .get()
    )
    orders_value, invoices_value = _money(open_orders), _money(open_invoices)
    exposure = orders_value + invoices_value
    limit = _money(root.credit_limit)
    return CreditStanding(
        credit_account_id=root.pk,
        limit=limit,
        exposure=exposure,
        available=limit - exposure,
        on_hold=any(account.credit_status == CreditStatus.HOLD for account in chain),
        currency=root.currency,
        open_orders=orders_value,
        open_invoices=invoices_value,
        credit_status=root.credit_status,
    )
