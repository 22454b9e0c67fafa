"""End to end, over HTTP, with loopback partner systems the test starts (tests/hub/partners.py): a fake
ERP, warehouse and supplier, the demo's real connector configuration pointing at them, the hub
served by a live server, and deliveries relayed and dispatched by the real relay and dispatcher.

The story: the CRM opens an account (duplicate check, ERP activation) → quote → order (credit hold)
→ finance releases it → ERP acknowledges → the supplier confirms the purchase order raised for the
short line → partial shipment → ship notice → shipment → invoice → return → credit. The order's
timeline is checked after each step.
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from canonical.context import Actor
from canonical.models import (
    Customer,
    ExternalRef,
    InventoryPosition,
    Location,
    Order,
    PriceList,
    PriceListItem,
    Product,
    PurchaseOrder,
    ReturnAuthorization,
    System,
)
from connectors.config import DEMO_CONFIG
from connectors.models import Connector, Delivery, DeliveryStatus, IntegrationException
from governance.hub_api import hub_api_ensure_published
from governance.services import api_key_issue, consumer_create, consumer_subscribe_all
from hub.roles import FINANCE, roles_apply
from tests.connectors.outbound_support import deliver_all
from tests.connectors.receiver import Receiver
from tests.hub.partners import FakeErp, FakePartner, FakeSupplier, FakeWms

pytestmark = pytest.mark.django_db(transaction=True)

# The demo connectors' credentials are environment references; the fakes do not check them.
DEMO_SECRETS = ("HUB_DEMO_CRM_SIGNING_SECRET", "HUB_DEMO_ERP_TOKEN", "HUB_DEMO_ERP_SIGNING_SECRET",
                "HUB_DEMO_WMS_API_KEY", "HUB_DEMO_SHOP_SIGNING_SECRET", "HUB_DEMO_CARRIER_SIGNING_SECRET",
                "HUB_DEMO_ACME_PASSWORD", "HUB_DEMO_NORTHWIND_TOKEN")
CRM_ID = "0015g00000HarBr"


def _api_key(system_code: str) -> str:
    system = System.objects.get(code=system_code)
    consumer = consumer_create(name=f"{system_code} (end-to-end)", system=system, actor=Actor.hub())
    consumer_subscribe_all(consumer=consumer, actor=Actor.hub())
    return api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key


@pytest.fixture
def world(live_server, monkeypatch, django_user_model):
    for name in DEMO_SECRETS:
        monkeypatch.setenv(name, f"e2e-{name.lower()}")
    call_command("hub_config", "apply", str(DEMO_CONFIG), stdout=StringIO())
    hub_api_ensure_published(actor=Actor.hub())
    roles_apply(actor=Actor.hub())
    partners = {
        "crm": FakePartner(system="crm", hub_url=live_server.url, api_key=_api_key("crm")),
        "erp": FakeErp(system="erp", hub_url=live_server.url, api_key=_api_key("erp")),
        "wms": FakeWms(system="wms", hub_url=live_server.url, api_key=_api_key("wms")),
        "supplier": FakeSupplier(system="acme-supply", hub_url=live_server.url, api_key=_api_key("acme-supply")),
    }
    sink = Receiver()  # the other subscribers (web store, carrier, Northwind) answer 200
    targets = {"erp-rest": partners["erp"].url, "wms-rest": partners["wms"].url,
               "acme-supply-webhook": partners["supplier"].url, "crm-webhook": partners["crm"].url}
    for connector in Connector.objects.all():
        connector.base_url = targets.get(connector.code, sink.url)
        connector.save(update_fields=["base_url"])

    # The ERP's item master, prices and the warehouse's stock, as their loads would leave them.
    east = Location.objects.create(code="wh-east", name="East DC")
    widget = Product.objects.create(sku="WID-1", description="Widget")
    bolt = Product.objects.create(sku="BOLT-1", description="Bolt")
    price_list = PriceList.objects.create(code="list-usd", name="List", currency="USD", is_default=True)
    PriceListItem.objects.create(price_list=price_list, product=widget, unit_price=Decimal("10.00"))
    PriceListItem.objects.create(price_list=price_list, product=bolt, unit_price=Decimal("0.75"))
    InventoryPosition.objects.create(product=widget, location=east, on_hand=10, last_updated_at=timezone.now(),
                                     last_updated_by=System.objects.get(code="wms"))
    ExternalRef.objects.create(system=System.objects.get(code="acme-supply"), entity_type="product",
                               external_id="ACME-B1", object_id=bolt.pk)

    finance = django_user_model.objects.create_user("fran", is_staff=True)
    finance.groups.add(Group.objects.get(name=FINANCE))
    admin = django_user_model.objects.create_superuser("ada", "ada@example.com", "x-secret-pass-1")
    staff = Client()
    staff.force_login(admin)
    finance_client = Client()
    finance_client.force_login(finance)
    yield {**partners, "staff": staff, "finance": finance_client}
    for partner in partners.values():
        partner.close()
    sink.close()


def run(world) -> None:
    """The hub hands on what happened (relay + dispatcher); the partners then do their part."""
    deliver_all()
    for name in ("erp", "wms", "supplier"):
        world[name].work()
    failed = Delivery.objects.exclude(status=DeliveryStatus.DELIVERED)
    assert not failed.exists(), [(d.subscription.name, d.event.event_type, d.status, d.last_error) for d in failed]


class Timeline:
    """The order's timeline as staff read it (GET /api/v1/orders/{id}/timeline)."""

    def __init__(self, client: Client, order_id: int):
        response = client.get(f"/api/v1/orders/{order_id}/timeline")
        assert response.status_code == 200, response.content
        self.body = response.json()
        self.entries = self.body["entries"]
        assert [e["at"] for e in self.entries] == sorted(e["at"] for e in self.entries)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.entries if e["kind"] == kind]

    @property
    def statuses(self) -> list[str]:
        return [e["status"] for e in self.of("status_change")]

    @property
    def events(self) -> list[str]:
        return [e["data"]["event_type"] for e in self.of("event")]

    @property
    def messages(self) -> list[tuple[str, str, str]]:
        return [(e["data"]["system"], e["data"]["message_type"], e["status"]) for e in self.of("inbound_message")]

    def attempts_to(self, connector: str) -> list[tuple[str, str]]:
        return [(e["data"]["event_type"], e["status"]) for e in self.of("delivery_attempt")
                if e["data"]["connector"] == connector]


def test_quote_to_credit_across_crm_erp_warehouse_and_supplier(world):
    crm, erp, wms, supplier, staff = world["crm"], world["erp"], world["wms"], world["supplier"], world["staff"]

    # 1. The CRM opens the account: no likely duplicate, so it is sent to ERP, which activates it.
    opened = crm.call("PUT", f"/api/v1/systems/crm/customers/{CRM_ID}", {
        "account_number": "A-7001", "name": "Harbor Mechanical Supply LLC", "tax_id": "74-1234567",
        "credit_limit": "50.00", "payment_terms": "net30",
        "addresses": [{"kind": "shipping", "line1": "4 Harbor Way", "city": "Dallas", "postal_code": "75201",
                       "is_default": True}],
    })
    assert opened.status_code == 201, opened.text
    assert (opened.json()["status"], opened.json()["onboarding"]) == ("pending", "activation_requested")
    customer = Customer.objects.get(account_number="A-7001")
    refused = crm.call("POST", "/api/v1/orders", {"customer": {"system": "crm", "external_id": CRM_ID},
                                                  "lines": [{"sku": "WID-1", "quantity": "1"}]},
                       **{"Idempotency-Key": "order-too-early"})
    assert refused.status_code == 422 and "not active" in refused.text, refused.text
    run(world)
    assert [d.event_type for d in erp.delivered() if d.event_type.startswith("customer.")] == [
        "customer.activation_requested"]
    assert erp.sent[-1].message_type == "customer.activated" and erp.sent[-1].status == 200
    customer.refresh_from_db()
    assert (customer.status, customer.onboarding) == ("active", "activated")
    erp_customer = ExternalRef.objects.get(system__code="erp", entity_type="customer", object_id=customer.pk)
    assert erp_customer.external_id == erp.customers[customer.pk]

    # 2. Quote: prices with their rule, availability per location, and the credit standing.
    quote = crm.call("POST", "/api/v1/pricing/quote", {
        "customer": {"system": "crm", "external_id": CRM_ID},
        "lines": [{"sku": "WID-1", "quantity": "6"}, {"sku": "BOLT-1", "quantity": "20"}],
    })
    assert quote.status_code == 200, quote.text
    quoted = quote.json()
    assert [(line["price"]["rule"], line["price"]["unit_price"], line["available_to_promise"])
            for line in quoted["lines"]] == [("list_price", "10.00", "10.000"), ("list_price", "0.75", "0.000")]
    assert quoted["total"] == "75.00" and quoted["credit"]["limit"] == "50.00" and quoted["within_credit"] is False

    # 3. The order goes over the limit: it is held for finance and the ERP books it held.
    body = {"customer": {"system": "crm", "external_id": CRM_ID}, "customer_po": "HM-PO-17",
            "lines": [{"sku": "WID-1", "quantity": "6", "unit_price": "10.00"}, {"sku": "BOLT-1", "quantity": "20"}]}
    placed = crm.call("POST", "/api/v1/orders", body, **{"Idempotency-Key": "hm-po-17"})
    assert placed.status_code == 201, placed.text
    again = crm.call("POST", "/api/v1/orders", body, **{"Idempotency-Key": "hm-po-17"})
    assert (again.status_code, again.json()) == (201, placed.json()), "the same key answers the same"
    assert placed.json()["outcome"] == "credit_hold"
    order = Order.objects.get(pk=placed.json()["order"]["id"])
    run(world)
    assert erp.orders[order.number]["held"] and not erp.orders[order.number]["acknowledged"]
    timeline = Timeline(staff, order.pk)
    assert timeline.statuses == ["credit_hold"]
    assert "order.credit_hold" in timeline.events
    [hold] = timeline.of("exception")
    assert (hold["data"]["category"], hold["status"]) == ("credit_hold", "open")
    assert ("order.created", "delivered") in timeline.attempts_to("erp-rest")
    assert timeline.body["order"]["correlation_id"] == placed.headers["X-Correlation-ID"]

    # 4. Finance releases it: stock is reserved, the short line goes to the supplier, the warehouse
    #    gets the pick list, and the ERP, told of the release, acknowledges with its order number.
    released = world["finance"].post("/portal/credit-holds/decide/", {
        "decision": "release", "orders": [order.pk], "note": "Customer paid a deposit by wire."})
    assert released.status_code == 302
    order.refresh_from_db()
    assert order.status == "backordered"
    run(world)
    order.refresh_from_db()
    assert order.status == "submitted_to_erp"
    assert wms.pick_lists[order.number] == [
        {"location": "wh-east", "lines": [{"line_number": 1, "sku": "WID-1", "quantity": "6.000"}]}]
    purchase_order = PurchaseOrder.objects.get(supplier__code="acme-supply")
    assert list(supplier.purchase_orders) == [purchase_order.number]
    purchase_order.refresh_from_db()
    assert purchase_order.status == "acknowledged"
    timeline = Timeline(staff, order.pk)
    assert timeline.statuses == ["credit_hold", "released", "backordered", "submitted_to_erp"]
    assert {"order.credit_hold_released", "order.fulfilment_requested", "purchase_order.created"} <= set(
        timeline.events)
    assert ("erp", "order.acknowledgement", "processed") in timeline.messages
    assert ("acme-supply", "supplier.acknowledgement", "processed") in timeline.messages
    assert "supplier.ack_received" in timeline.events
    assert timeline.of("exception")[0]["status"] == "resolved"
    assert ("order.credit_hold_released", "delivered") in timeline.attempts_to("erp-rest")
    assert ("order.fulfilment_requested", "delivered") in timeline.attempts_to("wms-rest")
    assert ExternalRef.objects.get(system__code="erp", entity_type="order").external_id == \
        erp.orders[order.number]["erp_number"]

    # 5. The warehouse ships the widgets: partially shipped.
    wms.ship(order_id=order.pk, shipment="SH-E2E-1", lines=[(1, "6")])
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    run(world)
    timeline = Timeline(staff, order.pk)
    assert timeline.statuses[-1] == "partially_shipped"
    assert ("wms", "shipment.milestone", "processed") in timeline.messages
    assert "shipment.dispatched" in timeline.events

    # 6. The supplier's bolts are on their way, arrive, and go out: shipped.
    supplier.ship_notice(purchase_order.number, asn="ASN-E2E-1")
    wms.ship(order_id=order.pk, shipment="SH-E2E-2", lines=[(2, "20")])
    order.refresh_from_db()
    assert order.status == "shipped"
    run(world)
    timeline = Timeline(staff, order.pk)
    assert timeline.statuses[-2:] == ["partially_shipped", "shipped"]
    assert ("acme-supply", "supplier.asn", "processed") in timeline.messages
    assert "supplier.asn_received" in timeline.events

    # 7. The ERP invoices it: invoiced.
    erp.invoice(order.number, [(1, "WID-1", "6", "10.00"), (2, "BOLT-1", "20", "0.75")], number="INV-E2E-1")
    order.refresh_from_db()
    assert order.status == "invoiced"
    run(world)
    timeline = Timeline(staff, order.pk)
    assert timeline.statuses[-1] == "invoiced" and "invoice.posted" in timeline.events
    assert ("erp", "invoice.posted", "processed") in timeline.messages

    # 8. Two widgets come back: the CRM asks for an RMA (authorised by the rules), the warehouse
    #    receives them, the ERP credits them.
    asked = crm.call("POST", "/api/v1/returns", {"external_id": "CASE-881", "order": order.pk,
                                                 "reason": "Two arrived bent",
                                                 "lines": [{"line_number": 1, "quantity": "2"}]})
    assert asked.status_code == 201, asked.text
    rma = ReturnAuthorization.objects.get(pk=asked.json()["id"])
    assert rma.status == "authorised"
    run(world)
    assert wms.returns_expected == [rma.number]
    wms.receive_return(rma.number, [(1, "2")])
    erp.credit(rma_id=rma.pk, customer_id=customer.pk, invoice_number="INV-E2E-1", amount="20.00", number="CM-E2E-1")
    rma.refresh_from_db()
    assert rma.status == "credited"
    run(world)

    timeline = Timeline(staff, order.pk)
    assert timeline.statuses == ["credit_hold", "released", "backordered", "submitted_to_erp", "partially_shipped",
                                 "shipped", "invoiced"]
    assert [e for e in timeline.events if e.startswith(("return.", "credit_memo."))] == [
        "return.requested", "return.authorised", "return.received", "credit_memo.issued", "return.credited"]
    assert [m for m in timeline.messages if m[0] in ("erp", "wms")] == [
        ("erp", "order.acknowledgement", "processed"), ("wms", "shipment.milestone", "processed"),
        ("wms", "shipment.milestone", "processed"), ("erp", "invoice.posted", "processed"),
        ("wms", "return.receipt", "processed"), ("erp", "credit_memo.posted", "processed")]
    assert all(status == "delivered" for _, status in timeline.attempts_to("erp-rest") + timeline.attempts_to("wms-rest"))
    assert timeline.body["truncated"] == []
    assert not IntegrationException.objects.exclude(status="resolved").exists()
    # Every partner message the hub took was answered 2xx, and the ERP and warehouse got each event once.
    assert all(200 <= s.status < 300 for p in (crm, erp, wms, supplier) for s in p.sent)
    for partner in (erp, wms, supplier):
        ids = [d.event_id for d in partner.delivered()]
        assert len(ids) == len(set(ids)), partner.system
