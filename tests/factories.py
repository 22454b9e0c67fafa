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


class CustomerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.CustomerGroup"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"group{n}")
    name = factory.LazyAttribute(lambda o: f"Group {o.code}")


class ContractPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.ContractPrice"

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    unit_price = Decimal("9.00")
    valid_from = factory.LazyFunction(lambda: timezone.localdate())


# Fulfilment, billing and supply (models named by label: this block appends without new imports).


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.Shipment"

    number = factory.Sequence(lambda n: f"SH-{n:07d}")
    order = factory.SubFactory(OrderFactory)


class ShipmentLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.ShipmentLine"

    shipment = factory.SubFactory(ShipmentFactory)
    order_line = factory.SubFactory(OrderLineFactory, order=factory.SelfAttribute("..shipment.order"))
    quantity = Decimal("1")


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.Invoice"

    number = factory.Sequence(lambda n: f"INV-{n:07d}")
    customer = factory.SubFactory(CustomerFactory)
    issued_at = factory.LazyFunction(timezone.now)


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.InvoiceLine"

    invoice = factory.SubFactory(InvoiceFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal("1")
    unit_price = Decimal("10.00")
    amount = Decimal("10.00")


class ReturnAuthorizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.ReturnAuthorization"

    number = factory.Sequence(lambda n: f"RMA-{n:07d}")
    order = factory.SubFactory(OrderFactory)
    customer = factory.SelfAttribute("order.customer")
    requested_at = factory.LazyFunction(timezone.now)


class CreditMemoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.CreditMemo"

    number = factory.Sequence(lambda n: f"CM-{n:07d}")
    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("10.00")
    issued_at = factory.LazyFunction(timezone.now)


class PurchaseOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.PurchaseOrder"

    number = factory.Sequence(lambda n: f"PO-{n:07d}")
    supplier = factory.SubFactory(SystemFactory, kind="supplier")
    ordered_at = factory.LazyFunction(timezone.now)


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "canonical.PurchaseOrderLine"

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    line_number = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal("10")


class OutboundConnectorFactory(factory.django.DjangoModelFactory):
    """A webhook connector tuned for fast tests: short timeout, tiny backoff."""

    class Meta:
        model = "connectors.Connector"

    code = factory.Sequence(lambda n: f"partner-{n}")
    name = factory.LazyAttribute(lambda o: f"Partner {o.code}")
    system = factory.SubFactory(SystemFactory, kind="ecommerce")
    kind = "webhook"
    direction = "outbound"
    base_url = "http://127.0.0.1:9"
    timeout_seconds = 1.0
    max_attempts = 3
    backoff_base_seconds = 0.01
    backoff_cap_seconds = 0.05
    breaker_failure_threshold = 50
    breaker_cooldown_seconds = 1


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "connectors.Subscription"

    name = factory.Sequence(lambda n: f"subscription-{n}")
    connector = factory.SubFactory(OutboundConnectorFactory)
    event_types = factory.LazyFunction(lambda: ["order.*"])


class IntegrationExceptionFactory(factory.django.DjangoModelFactory):
    """An exception opened through the real service (exception_raise): SLA, audit entry and all."""

    class Meta:
        model = "connectors.IntegrationException"

    category = "partner_error"
    team = "integration"
    severity = "medium"
    title = factory.Sequence(lambda n: f"Partner refused message {n}")
    fingerprint = factory.Sequence(lambda n: f"test-failure:{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from canonical.context import Actor
        from connectors.services.exceptions import exception_raise

        return exception_raise(actor=kwargs.pop("actor", None) or Actor.hub(), **kwargs)


# --- governance registry (appended by the governance registry work) ---------------------------


def _openapi_document(version: str = "1.0.0") -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Orders", "version": version},
        "paths": {"/v1/orders": {"get": {"operationId": "listOrders", "summary": "List orders",
                                         "responses": {"200": {"description": "The orders"}}}}},
    }


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "governance.Team"
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    contact_email = factory.LazyAttribute(lambda o: f"{o.slug}@example.com")


class ApiProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "governance.ApiProduct"
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Orders API {n}")
    slug = factory.Sequence(lambda n: f"orders-{n}")
    domain = "orders"
    layer = "process"
    owner_team = factory.SubFactory(TeamFactory)


class ApiVersionFactory(factory.django.DjangoModelFactory):
    """A version row as fixture data; lifecycle behaviour is tested through governance.services."""

    class Meta:
        model = "governance.ApiVersion"

    product = factory.SubFactory(ApiProductFactory)
    version = "1.0.0"
    major = factory.LazyAttribute(lambda o: int(o.version.split(".")[0]))
    minor = factory.LazyAttribute(lambda o: int(o.version.split(".")[1]))
    patch = factory.LazyAttribute(lambda o: int(o.version.split(".")[2].split("-")[0]))
    status = "published"
    openapi = factory.LazyAttribute(lambda o: _openapi_document(o.version))
    published_at = factory.LazyFunction(timezone.now)


class RatePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "governance.RatePlan"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"plan-{n}")


def governance_registry_sample(*, consumer, reviewer) -> dict:
    """One row of every governance registry model, for admin smoke tests (fixture data, written with the ORM)."""
    from governance.models import (
        ApiSubscription,
        EventContract,
        EventContractVersion,
        Review,
        UsageCounter,
    )

    version = ApiVersionFactory(product=ApiProductFactory(slug="sample-orders", name="Sample orders API"))
    plan = RatePlanFactory(name="sample-plan", per_minute=600, per_day=100_000, burst=20)
    subscription = ApiSubscription.objects.create(consumer=consumer, version=version, status="active",
                                                  rate_plan=plan)
    review = Review.objects.create(version=version, round=1, reviewer=reviewer, decision="approve", comment="ok")
    contract = EventContract.objects.create(event_type="order.created", aggregate_type="order")
    EventContractVersion.objects.create(contract=contract, version=1, schema={"type": "object"})
    usage = UsageCounter.objects.create(consumer=consumer, version=version, day=timezone.now().date(),
                                        status_class="2xx", count=3, last_called_at=timezone.now())
    return {"version": version, "plan": plan, "subscription": subscription, "review": review,
            "contract": contract, "usage": usage}
