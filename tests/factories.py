"""factory_boy factories for test data; tests add fields by keyword."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from canonical.models import (
    Customer,
    ExternalRef,
    InventoryPosition,
    Location,
    Order,
    OrderLine,
    PriceList,
    PriceListItem,
    Product,
    System,
    SystemOfRecord,
)


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = System
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"sys{n}")
    name = factory.LazyAttribute(lambda o: f"System {o.code.upper()}")
    kind = "erp"


class SystemOfRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SystemOfRecord
        django_get_or_create = ("domain",)

    domain = "customers"
    system = factory.SubFactory(SystemFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    account_number = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Sequence(lambda n: f"Customer {n} Supply Co")
    credit_limit = Decimal("50000.00")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    description = factory.Sequence(lambda n: f"Product {n}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"wh{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")


class InventoryPositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InventoryPosition

    product = factory.SubFactory(ProductFactory)
    location = factory.SubFactory(LocationFactory)
    on_hand = Decimal("100")
    last_updated_at = factory.LazyFunction(timezone.now)


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList
        django_get_or_create = ("code",)

    code = "list-usd"
    name = "List prices USD"
    is_default = True


class PriceListItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    unit_price = Decimal("10.00")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SO-{n:07d}")
    customer = factory.SubFactory(CustomerFactory)
    ship_to = factory.SelfAttribute("customer")
    bill_to = factory.SelfAttribute("customer")
    placed_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    line_number = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory)
    quantity_ordered = Decimal("5")
    unit_price = Decimal("10.00")


class ExternalRefFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalRef

    system = factory.SubFactory(SystemFactory)
    entity_type = "customer"
    external_id = factory.Sequence(lambda n: f"EXT-{n}")
    object_id = 1
