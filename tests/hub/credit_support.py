"""Orders on credit hold made the way the hub makes them: a priced request for a customer whose
credit limit it would exceed goes through order_submit, which holds it and opens the finance
exception. Stock is on hand, so a release allocates the order in full.
"""

from __future__ import annotations

from decimal import Decimal

from canonical.context import Actor
from canonical.models import Customer, Order, OrderStatus, Product
from canonical.services.order_entry import LineRequest, order_request_check
from hub.workflows.orders import order_submit
from tests.factories import (
    CustomerFactory,
    InventoryPositionFactory,
    LocationFactory,
    PriceListItemFactory,
    ProductFactory,
    SystemFactory,
)


def stocked_product(*, sku: str | None = None, price: str = "100.00", on_hand: str = "50") -> Product:
    product = ProductFactory(**({"sku": sku} if sku else {}))
    PriceListItemFactory(product=product, unit_price=Decimal(price))
    InventoryPositionFactory(product=product, location=LocationFactory(code="main"), on_hand=Decimal(on_hand))
    return product


def held_order(*, customer: Customer | None = None, product: Product | None = None, quantity: str = "3",
               limit: str = "100.00", actor: Actor | None = None) -> Order:
    """An order of ``quantity`` × ``product`` (100.00 each by default) that the credit check holds."""
    customer = customer or CustomerFactory(credit_limit=Decimal(limit))
    product = product or stocked_product()
    checked = order_request_check(customer=customer, ship_to=None,
                                  lines=[LineRequest(sku=product.sku, quantity=Decimal(quantity))])
    submission = order_submit(checked=checked, source_system=SystemFactory(code="crm", kind="crm"),
                              actor=actor or Actor.hub())
    order = submission.order
    assert order.status == OrderStatus.CREDIT_HOLD, (order.status, submission.credit)
    return order
