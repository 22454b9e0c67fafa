"""A small but complete canonical data set for tests that sweep the whole API.

Every entity the partner API lists has several rows with their children (lines,
addresses, milestones, ...) and an external id in the ERP, so a list page of 50
holds more than one row with related data, and by-external-id reads can succeed.
Rows are fixture data written with the ORM; the behaviour under test is the API's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.models import (
    Address,
    AdvanceShipNotice,
    AdvanceShipNoticeLine,
    BusinessEvent,
    Contact,
    ContractPrice,
    CreditMemo,
    Customer,
    CustomerGroup,
    Domain,
    EntityType,
    ExternalRef,
    InventoryPosition,
    Invoice,
    InvoiceLine,
    Location,
    Order,
    OrderLine,
    OrderStatus,
    PriceList,
    PriceListItem,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    ReturnAuthorization,
    ReturnLine,
    Shipment,
    ShipmentLine,
    ShipmentMilestone,
    SupplierAcknowledgement,
    SupplierAcknowledgementLine,
    System,
    SystemOfRecord,
)
from canonical.services.events import events_feed_number
from governance.services import api_key_issue, consumer_create

SYSTEMS = [
    ("erp", "erp"), ("crm", "crm"), ("wms", "wms"), ("shop", "ecommerce"),
    ("carrier", "carrier"), ("supplier-a", "supplier"),
]


@dataclass
class World:
    systems: dict[str, System] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def key_for(self, code: str) -> str:
        """A real API key of a consumer acting for system ``code`` (issued on first use)."""
        if code not in self.keys:
            consumer = consumer_create(name=f"{code}-tests", system=self.systems[code], actor=Actor.hub())
            self.keys[code] = api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key
        return self.keys[code]


def _ref(system: System, entity_type: str, external_id: str, object_id: int) -> None:
    ExternalRef.objects.create(system=system, entity_type=entity_type, external_id=external_id, object_id=object_id)


def build_world(*, size: int = 5) -> World:
    """Systems (the ERP owns every domain), and ``size`` of each canonical record with its children."""
    world = World()
    for code, kind in SYSTEMS:
        world.systems[code] = System.objects.create(code=code, name=f"{code.upper()} system", kind=kind)
    erp, wms, supplier = world.systems["erp"], world.systems["wms"], world.systems["supplier-a"]
    for domain in Domain.values:
        SystemOfRecord.objects.create(domain=domain, system=erp)

    now = timezone.now()
    today = now.date()
    groups = [CustomerGroup.objects.create(code=f"group-{i}", name=f"Group {i}") for i in range(2)]
    locations = [Location.objects.create(code=f"wh-{i}", name=f"Warehouse {i}", city="Columbus") for i in range(2)]
    for location in locations:
        _ref(erp, EntityType.LOCATION, f"ERP-{location.code.upper()}", location.pk)
    price_list = PriceList.objects.create(code="list-usd", name="List USD", is_default=True, valid_from=today)
    _ref(erp, EntityType.PRICE_LIST, "ERP-PL-USD", price_list.pk)
    export_list = PriceList.objects.create(code="list-eur", name="Export EUR", currency="EUR", valid_from=today)
    _ref(erp, EntityType.PRICE_LIST, "ERP-PL-EUR", export_list.pk)

    parent = None
    for i in range(size):
        customer = Customer.objects.create(
            account_number=f"C{i:05d}", name=f"Customer {i} Supply Co", parent=parent, group=groups[i % 2],
            tax_id=f"TAX{i}", credit_limit=Decimal("50000.00"),
        )
        parent = parent or customer
        Address.objects.create(customer=customer, kind="shipping", line1=f"{i} Main St", city="Dayton",
                               postal_code="45402", is_default=True)
        Address.objects.create(customer=customer, kind="billing", line1=f"{i} Bill Rd", city="Dayton",
                               is_default=True)
        Contact.objects.create(customer=customer, name=f"Buyer {i}", email=f"buyer{i}@example.com", is_primary=True)
        _ref(erp, EntityType.CUSTOMER, f"ERP-C{i}", customer.pk)
        world.customers.append(customer)

        product = Product.objects.create(sku=f"SKU-{i:05d}", description=f"Widget {i}", weight_kg=Decimal("1.5"))
        _ref(erp, EntityType.PRODUCT, f"ERP-P{i}", product.pk)
        for min_quantity, price in ((0, "10.00"), (10, "9.00")):
            PriceListItem.objects.create(price_list=price_list, product=product, min_quantity=min_quantity,
                                         unit_price=Decimal(price))
        PriceListItem.objects.create(price_list=export_list, product=product, unit_price=Decimal("9.20"))
        contract = ContractPrice.objects.create(customer=customer, product=product, unit_price=Decimal("8.50"),
                                                valid_from=today - timedelta(days=30), contract_reference=f"K{i}")
        _ref(erp, EntityType.CONTRACT_PRICE, f"ERP-K{i}", contract.pk)
        ContractPrice.objects.create(customer_group=groups[i % 2], product=product, unit_price=Decimal("9.50"),
                                     valid_from=today - timedelta(days=30))
        for location in locations:
            InventoryPosition.objects.create(product=product, location=location, on_hand=Decimal("100"),
                                             reserved=Decimal("5"), last_updated_at=now, last_updated_by=wms)
        world.products.append(product)

    positions = list(InventoryPosition.objects.order_by("id"))
    statuses = [OrderStatus.RECEIVED, OrderStatus.ALLOCATED, OrderStatus.SHIPPED, OrderStatus.INVOICED,
                OrderStatus.CLOSED]
    for i in range(size):
        customer = world.customers[i]
        order = Order.objects.create(
            number=f"SO-{i:06d}", customer=customer, ship_to=customer, bill_to=customer,
            status=statuses[i % len(statuses)], placed_at=now - timedelta(days=i), total_amount=Decimal("100.00"),
            source_system=world.systems["shop"], customer_po=f"PO-{i}",
        )
        _ref(erp, EntityType.ORDER, f"ERP-SO{i}", order.pk)
        lines = [
            OrderLine.objects.create(
                order=order, line_number=n + 1, product=world.products[(i + n) % size], location=locations[0],
                quantity_ordered=Decimal("5"), quantity_allocated=Decimal("5"), quantity_shipped=Decimal("5"),
                quantity_invoiced=Decimal("5"), unit_price=Decimal("10.00"),
            )
            for n in range(2)
        ]
        Reservation.objects.create(order_line=lines[0], position=positions[i % len(positions)],
                                   quantity=Decimal("1"))
        shipment = Shipment.objects.create(number=f"SH-{i:06d}", order=order, location=locations[0],
                                           carrier="UPS", tracking_number=f"1Z{i:08d}")
        _ref(erp, EntityType.SHIPMENT, f"ERP-SH{i}", shipment.pk)
        _ref(wms, EntityType.SHIPMENT, f"WMS-SH{i}", shipment.pk)
        for line in lines:
            ShipmentLine.objects.create(shipment=shipment, order_line=line, quantity=Decimal("5"))
        for hours, code in ((3, "picked"), (2, "packed"), (1, "dispatched")):
            ShipmentMilestone.objects.create(shipment=shipment, code=code, occurred_at=now - timedelta(hours=hours),
                                             source_system=wms)
        invoice = Invoice.objects.create(number=f"INV-{i:06d}", customer=customer, order=order, shipment=shipment,
                                         amount=Decimal("100.00"), issued_at=now, due_date=today + timedelta(30))
        _ref(erp, EntityType.INVOICE, f"ERP-INV{i}", invoice.pk)
        for line in lines:
            InvoiceLine.objects.create(invoice=invoice, order_line=line, product=line.product,
                                       quantity=Decimal("5"), unit_price=Decimal("10.00"), amount=Decimal("50.00"))
        rma = ReturnAuthorization.objects.create(number=f"RMA-{i:06d}", order=order, customer=customer,
                                                 requested_at=now, reason="Damaged")
        _ref(erp, EntityType.RETURN, f"ERP-RMA{i}", rma.pk)
        ReturnLine.objects.create(rma=rma, order_line=lines[0], quantity_requested=Decimal("1"))
        memo = CreditMemo.objects.create(number=f"CM-{i:06d}", customer=customer, rma=rma, invoice=invoice,
                                         amount=Decimal("10.00"), issued_at=now)
        _ref(erp, EntityType.CREDIT_MEMO, f"ERP-CM{i}", memo.pk)

        po = PurchaseOrder.objects.create(number=f"PO-{i:06d}", supplier=supplier, status="acknowledged",
                                          ship_to_location=locations[1], ordered_at=now,
                                          requested_date=today + timedelta(days=7))
        _ref(erp, EntityType.PURCHASE_ORDER, f"ERP-PO{i}", po.pk)
        _ref(supplier, EntityType.PURCHASE_ORDER, f"SUP-PO{i}", po.pk)
        po_lines = [
            PurchaseOrderLine.objects.create(purchase_order=po, line_number=n + 1, product=world.products[n],
                                             quantity=Decimal("20"), unit_cost=Decimal("6.00"))
            for n in range(min(2, size))
        ]
        # The first purchase order has revised acknowledgements and split shipments; the others one of each.
        for revision in range(1, 4 if i == 0 else 2):
            ack = SupplierAcknowledgement.objects.create(purchase_order=po, revision=revision,
                                                         acknowledged_at=now - timedelta(hours=4 - revision))
            for po_line in po_lines:
                SupplierAcknowledgementLine.objects.create(acknowledgement=ack, po_line=po_line,
                                                           confirmed_quantity=Decimal("20"))
        for part in range(3 if i == 0 else 1):
            asn = AdvanceShipNotice.objects.create(number=f"ASN-{i}-{part}", purchase_order=po, shipped_at=now,
                                                   carrier="FedEx", tracking_number=f"FX{i}{part}")
            _ref(erp, EntityType.ADVANCE_SHIP_NOTICE, f"ERP-ASN{i}-{part}", asn.pk)
            for po_line in po_lines:
                AdvanceShipNoticeLine.objects.create(asn=asn, po_line=po_line, quantity=Decimal("5"))

        BusinessEvent.objects.create(
            event_type="order.created", aggregate_type="order", aggregate_id=str(order.pk), sequence=1,
            payload={"order": {"number": order.number}}, source_system=erp, actor="system:erp", occurred_at=now,
        )
        world.orders.append(order)
    with transaction.atomic():  # as the relay does: the events join the pull feed
        events_feed_number()
    return world
