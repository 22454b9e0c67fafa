"""A small distributor for the quote and order process API tests: accounts, catalogue, prices, stock,
a supplier that knows two of the products, and the systems with their system of record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from canonical.models import (
    Address,
    ContractPrice,
    Customer,
    CustomerGroup,
    ExternalRef,
    InventoryPosition,
    Location,
    PriceList,
    PriceListItem,
    Product,
    System,
    SystemOfRecord,
)


@dataclass
class Shop:
    crm: System
    erp: System
    supplier: System
    customer: Customer
    site: Customer
    payables: Customer
    other: Customer
    widget: Product  # 10 at wh-east, 3 at wh-west; list 10.00, break 8.00 from 100
    gadget: Product  # 2 at wh-east; contract 15.00 for the customer (list 20.00)
    bolt: Product  # no stock; group contract 0.50 (list 0.75); supplier knows it
    crate: Product  # drop-ship; supplier knows it
    retired: Product
    unpriced: Product
    east: Location
    west: Location


def shop_build(*, credit_limit: Decimal = Decimal("10000.00")) -> Shop:
    erp = System.objects.get_or_create(code="erp", defaults={"name": "ERP", "kind": "erp"})[0]
    crm = System.objects.get_or_create(code="crm", defaults={"name": "CRM", "kind": "crm"})[0]
    supplier = System.objects.get_or_create(code="acme-supply", defaults={"name": "Acme", "kind": "supplier"})[0]
    for domain in ("orders", "prices", "products", "supplier_commitments", "invoices"):
        SystemOfRecord.objects.get_or_create(domain=domain, defaults={"system": erp})
    group = CustomerGroup.objects.create(code=f"contractors-{uuid.uuid4().hex[:6]}", name="Contractors")
    customer = Customer.objects.create(account_number="C-100", name="Acme Builders", credit_limit=credit_limit,
                                       group=group, is_ship_to=False, is_bill_to=False)
    site = Customer.objects.create(account_number="C-100-1", name="Acme Builders - Yard", parent=customer,
                                   is_sold_to=False, is_bill_to=False)
    Address.objects.create(customer=site, kind="shipping", line1="1 Yard Rd", city="Dallas", postal_code="75201",
                           is_default=True)
    payables = Customer.objects.create(account_number="C-100-AP", name="Acme Builders - AP", parent=customer,
                                       is_sold_to=False, is_ship_to=False)
    other = Customer.objects.create(account_number="C-200", name="Other Co", credit_limit=credit_limit)
    ExternalRef.objects.create(system=crm, entity_type="customer", external_id="CRM-100", object_id=customer.pk)
    ExternalRef.objects.create(system=crm, entity_type="customer", external_id="CRM-100-1", object_id=site.pk)
    east = Location.objects.create(code="wh-east", name="East DC")
    west = Location.objects.create(code="wh-west", name="West DC")
    widget = Product.objects.create(sku="WID-1", description="Widget")
    gadget = Product.objects.create(sku="GAD-1", description="Gadget")
    bolt = Product.objects.create(sku="BOLT-1", description="Bolt")
    crate = Product.objects.create(sku="CRATE-1", description="Crate", drop_ship=True)
    retired = Product.objects.create(sku="OLD-1", description="Old", status="discontinued")
    unpriced = Product.objects.create(sku="NOPRICE-1", description="Unpriced")
    price_list = PriceList.objects.create(code="list-usd", name="List", currency="USD", is_default=True)
    for product, price in ((widget, "10.00"), (gadget, "20.00"), (bolt, "0.75"), (crate, "400.00"),
                           (retired, "1.00")):
        PriceListItem.objects.create(price_list=price_list, product=product, unit_price=Decimal(price))
    PriceListItem.objects.create(price_list=price_list, product=widget, min_quantity=100, unit_price=Decimal("8.00"))
    today = timezone.localdate()
    ContractPrice.objects.create(customer=customer, product=gadget, unit_price=Decimal("15.00"), valid_from=today,
                                 contract_reference="K-1")
    ContractPrice.objects.create(customer_group=group, product=bolt, unit_price=Decimal("0.50"), valid_from=today,
                                 contract_reference="G-7")
    now = timezone.now()
    InventoryPosition.objects.create(product=widget, location=east, on_hand=10, last_updated_at=now)
    InventoryPosition.objects.create(product=widget, location=west, on_hand=3, last_updated_at=now)
    InventoryPosition.objects.create(product=gadget, location=east, on_hand=2, last_updated_at=now)
    for product, item in ((bolt, "ACME-B1"), (crate, "ACME-C9")):
        ExternalRef.objects.create(system=supplier, entity_type="product", external_id=item, object_id=product.pk)
    return Shop(crm=crm, erp=erp, supplier=supplier, customer=customer, site=site, payables=payables, other=other,
                widget=widget, gadget=gadget, bolt=bolt, crate=crate, retired=retired, unpriced=unpriced,
                east=east, west=west)


def new_key() -> str:
    return str(uuid.uuid4())
