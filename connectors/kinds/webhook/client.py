"""The webhook client: one POST per event to ``base_url`` + the subscription's path."""

from __future__ import annotations

import uuid

from django.utils import timezone

from connectors.kinds.base import DeliveryRequest, TestResult, TransportResult
from connectors.kinds.http import HttpTransport, event_envelope, join_url, json_body, mapped_payload

PING_EVENT_TYPE = "hub.ping"


class WebhookTransport(HttpTransport):
    kind = "webhook"
    label = "Webhook (signed HTTP POST)"

    def body_for(self, request: DeliveryRequest) -> dict:
        if request.subscription.payload_format == "mapped":
            return mapped_payload(request)
        return event_envelope(request.event, request.event.payload)

    def send(self, request: DeliveryRequest) -> TransportResult:
        body = json_body(self.body_for(request))
        url = join_url(self.connector.base_url, request.subscription.path)
        headers = self.headers_for(body, event=request.event, correlation_id=request.correlation_id)
        return self.call("POST", url, body=body, headers=headers)

    def test_connection(self) -> TestResult:
        """POST a signed ``hub.ping`` (receivers acknowledge it like any event and may ignore it)."""
        ping = {
            "id": str(uuid.uuid4()),
            "type": PING_EVENT_TYPE,
            "occurred_at": timezone.now().isoformat(),
            "data": {"connector": self.connector.code},
        }
        url = join_url(self.connector.base_url, self.connector.settings.get("test_path", ""))
        return self.probe("POST", url, body=json_body(ping))
