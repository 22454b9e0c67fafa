"""Small fake partner systems for the end-to-end test: an ERP, a warehouse (WMS) and a supplier, each
a loopback HTTP server the hub's connectors deliver to, and each a client of the hub's HTTP API
(its inbound endpoint, with its own API key), as the real systems are.

They keep what they were sent and react the way the real systems do, but only when the test says
``work()``, so each step of the story is one the test can check before the next:

* the ERP activates an account it is asked to (``customer.activated`` with its own customer
  number), books orders, and acknowledges an order once it is not on credit hold
  (``order.acknowledgement`` with its order number); the test asks it to invoice and to credit;
* the warehouse keeps the pick lists it is sent; the test asks it to ship and to receive returns;
* the supplier acknowledges each purchase order it is sent in full, on the requested date, and
  sends its ship notice when asked.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
from django.utils import timezone

from tests.connectors.receiver import Received, Receiver


@dataclass
class Delivered:
    """One event as a partner received it: its type, its data (envelope or bare, mapped or not)."""

    event_type: str
    data: dict
    path: str
    event_id: str
    correlation_id: str
    authorization: str


def _delivered(received: Received) -> Delivered:
    body = received.json or {}
    # Webhooks carry the envelope; REST calls the event's data (or the partner's mapped shape).
    data = body.get("data", body) if isinstance(body, dict) and "type" in body and "data" in body else body
    return Delivered(
        event_type=received.headers.get("x-hub-event-type", ""), data=data, path=received.path,
        event_id=received.event_id, correlation_id=received.headers.get("x-correlation-id", ""),
        authorization=received.headers.get("authorization", "") or received.headers.get("x-api-key", ""),
    )


@dataclass
class Sent:
    message_type: str
    body: dict
    status: int
    answer: dict


class FakePartner:
    def __init__(self, *, system: str, hub_url: str, api_key: str):
        self.system = system
        self.hub_url = hub_url.rstrip("/")
        self.api_key = api_key
        self.receiver = Receiver()
        self.sent: list[Sent] = []
        self._seen = 0
        self._ids = itertools.count(1)
        self.http = httpx.Client(base_url=self.hub_url, timeout=30,
                                 headers={"Authorization": f"Bearer {api_key}"})

    @property
    def url(self) -> str:
        return self.receiver.url

    def delivered(self, event_type: str | None = None) -> list[Delivered]:
        items = [_delivered(r) for r in list(self.receiver.requests)]
        return [d for d in items if event_type is None or d.event_type == event_type]

    def _new(self) -> list[Delivered]:
        requests = list(self.receiver.requests)
        fresh, self._seen = requests[self._seen:], len(requests)
        return [_delivered(r) for r in fresh]

    def send(self, message_type: str, body: dict, *, expect: int | tuple = (200, 201)) -> dict:
        """POST a message to the hub's inbound endpoint, as this system, with a message id."""
        message_id = f"{self.system}-{next(self._ids)}"
        response = self.http.post(f"/api/v1/inbound/{self.system}/{message_type}", content=json.dumps(body),
                                  headers={"Content-Type": "application/json", "X-Message-ID": message_id})
        answer = response.json()
        self.sent.append(Sent(message_type, body, response.status_code, answer))
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, (message_type, response.status_code, answer)
        return answer

    def call(self, method: str, path: str, body: dict | None = None, **headers) -> httpx.Response:
        """Call the hub's partner API as this system."""
        return self.http.request(method, path, json=body, headers=headers)

    def work(self) -> None:
        """React to what has been delivered since the last call."""

    def close(self) -> None:
        self.http.close()
        self.receiver.close()


class FakeErp(FakePartner):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.customers: dict[int, str] = {}  # hub customer id -> ERP customer number
        self.orders: dict[str, dict] = {}  # hub order number -> {"erp_number", "held", "acknowledged"}
        self._numbers = itertools.count(100231)

    def work(self) -> None:
        for item in self._new():
            if item.event_type == "customer.activation_requested":
                customer = item.data["customer"]
                number = self.customers.setdefault(customer["id"], f"E-{next(self._numbers)}")
                self.send("customer.activated", {"customer": {"id": customer["id"]}, "erp_customer_id": number,
                                                 "activated_at": timezone.now().isoformat()})
            elif item.event_type == "order.created":  # the mapped ERP order (demo mapping erp-order)
                header = item.data["header"]
                self.orders.setdefault(header["ext_order_ref"], {
                    "erp_number": f"SO-{next(self._numbers)}", "held": header["status"] == "HLD",
                    "acknowledged": False, "lines": item.data["lines"], "customer": header["hub_customer_id"],
                })
            elif item.event_type == "order.credit_hold_released":
                self.orders[item.data["number"]]["held"] = False
        for number, booked in self.orders.items():
            if not booked["held"] and not booked["acknowledged"]:
                self.send("order.acknowledgement", {"order": {"number": number},
                                                    "erp_order_number": booked["erp_number"],
                                                    "acknowledged_at": timezone.now().isoformat()})
                booked["acknowledged"] = True

    def invoice(self, order_number: str, lines: list[tuple[int, str, str, str]], *, number: str) -> dict:
        """Post an invoice for the order: lines as (line number, sku, quantity, unit price)."""
        booked = self.orders[order_number]
        return self.send("invoice.posted", {"external_id": f"AR-{number}", "invoice": {
            "number": number, "customer": self.customers[booked["customer"]], "order": booked["erp_number"],
            "issued_at": timezone.now().isoformat(), "due_date": (date.today() + timedelta(days=30)).isoformat(),
            "lines": [{"line_number": n, "sku": sku, "quantity": q, "unit_price": p} for n, sku, q, p in lines],
        }})

    def credit(self, *, rma_id: int, customer_id: int, invoice_number: str, amount: str, number: str) -> dict:
        return self.send("credit_memo.posted", {"external_id": f"CM-{number}", "credit_memo": {
            "number": number, "customer": self.customers[customer_id], "rma": {"id": rma_id},
            "invoice": f"AR-{invoice_number}", "amount": amount, "issued_at": timezone.now().isoformat(),
        }})


class FakeWms(FakePartner):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.pick_lists: dict[str, list[dict]] = {}
        self.returns_expected: list[str] = []

    def work(self) -> None:
        for item in self._new():
            if item.event_type == "order.fulfilment_requested":
                self.pick_lists[item.data["number"]] = item.data["pick"]
            elif item.event_type == "return.authorised":
                self.returns_expected.append(item.data["return"]["number"])

    def ship(self, *, order_id: int, shipment: str, lines: list[tuple[int, str]], code: str = "dispatched") -> dict:
        return self.send("shipment.milestone", {
            "shipment_id": f"W-{shipment}", "code": code, "occurred_at": timezone.now().isoformat(),
            "location_text": "East DC dock 2",
            "shipment": {"number": shipment, "order": order_id, "location": "wh-east",
                         "lines": [{"line_number": n, "quantity": q} for n, q in lines]},
        })

    def receive_return(self, rma: str, lines: list[tuple[int, str]]) -> dict:
        return self.send("return.receipt", {"rma": rma, "received_at": timezone.now().isoformat(),
                                            "lines": [{"line_number": n, "quantity_received": q} for n, q in lines]})


class FakeSupplier(FakePartner):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.purchase_orders: dict[str, dict] = {}

    def work(self) -> None:
        for item in self._new():
            if item.event_type != "purchase_order.created":
                continue
            po = item.data["purchase_order"]
            self.purchase_orders[po["number"]] = po
            confirmed = po.get("requested_date") or date.today().isoformat()
            self.send("supplier.acknowledgement", {
                "purchase_order": po["number"], "status": "accepted", "acknowledged_at": timezone.now().isoformat(),
                "lines": [{"line_number": line["line_number"], "confirmed_quantity": line["quantity"],
                           "confirmed_date": confirmed} for line in po["lines"]],
            })

    def ship_notice(self, po_number: str, *, asn: str) -> dict:
        po = self.purchase_orders[po_number]
        return self.send("supplier.asn", {
            "purchase_order": po_number, "asn_number": asn, "shipped_at": timezone.now().isoformat(),
            "expected_at": (timezone.now() + timedelta(days=1)).isoformat(),
            "lines": [{"line_number": line["line_number"], "quantity": line["quantity"]} for line in po["lines"]],
        })
