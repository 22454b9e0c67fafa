"""The webhook kind against a real loopback receiver: envelope, signature, auth, outcome classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from connectors.kinds import DeliveryRequest, TransportError, transport_for
from connectors.kinds.http import retry_after_seconds
from connectors.models import Mapping
from connectors.secrets import secret_encrypt
from tests.connectors.outbound_support import record_event
from tests.connectors.receiver import Reply, receiver_fixture, refused_url, signed_receiver_fixture  # noqa: F401
from tests.factories import OutboundConnectorFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _request(subscription, event=None, attempt=1):
    return DeliveryRequest(event=event or record_event(), subscription=subscription, attempt=attempt)


def test_posts_the_signed_event_envelope(signed_receiver):
    subscription = SubscriptionFactory(
        connector__base_url=signed_receiver.url, connector__signing_secret_ref=secret_encrypt("receiver-shared-secret"),
        path="/hooks/orders",
    )
    event = record_event(payload={"order": {"number": "SO-9"}}, correlation_id="corr-123")
    result = transport_for(subscription.connector).send(_request(subscription, event))

    assert result.status_code == 200
    [received] = signed_receiver.requests
    assert received.method == "POST" and received.path == "/hooks/orders"
    assert received.signature_ok is True
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-hub-event-id"] == str(event.event_id)
    assert received.headers["x-correlation-id"] == "corr-123"
    assert received.json == {
        "id": str(event.event_id),
        "type": "order.created",
        "schema_version": 1,
        "aggregate": {"type": "order", "id": event.aggregate_id, "sequence": 1},
        "occurred_at": event.occurred_at.isoformat(),
        "correlation_id": "corr-123",
        "causation_id": "",
        "data": {"order": {"number": "SO-9"}},
    }


def test_signature_with_the_wrong_secret_fails_the_receivers_check(signed_receiver):
    subscription = SubscriptionFactory(
        connector__base_url=signed_receiver.url, connector__signing_secret_ref=secret_encrypt("not-the-shared-one")
    )
    transport_for(subscription.connector).send(_request(subscription))
    assert signed_receiver.requests[0].signature_ok is False


@pytest.mark.parametrize(
    "auth, fields, header, value",
    [
        ("bearer", {}, "authorization", "Bearer tok-1"),
        ("basic", {"auth_username": "hub"}, "authorization", "Basic aHViOnRvay0x"),
        ("api_key_header", {"auth_header_name": "X-Partner-Key"}, "x-partner-key", "tok-1"),
    ],
)
def test_auth_headers_from_an_env_secret(receiver, monkeypatch, auth, fields, header, value):
    monkeypatch.setenv("PARTNER_TOKEN", "tok-1")
    connector = OutboundConnectorFactory(base_url=receiver.url, auth_type=auth, secret_ref="env:PARTNER_TOKEN", **fields)
    transport_for(connector).send(_request(SubscriptionFactory(connector=connector)))
    assert receiver.requests[0].headers[header] == value


def test_missing_secret_is_a_permanent_authentication_failure(receiver, monkeypatch):
    monkeypatch.delenv("PARTNER_TOKEN", raising=False)
    connector = OutboundConnectorFactory(base_url=receiver.url, auth_type="bearer", secret_ref="env:PARTNER_TOKEN")
    with pytest.raises(TransportError) as caught:
        transport_for(connector).send(_request(SubscriptionFactory(connector=connector)))
    assert caught.value.permanent and caught.value.category == "authentication"
    assert "PARTNER_TOKEN" in caught.value.message
    assert receiver.requests == []


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_success(receiver, status):
    receiver.script(Reply(status=status, body=b""))
    subscription = SubscriptionFactory(connector__base_url=receiver.url)
    assert transport_for(subscription.connector).send(_request(subscription)).status_code == status


@pytest.mark.parametrize(
    "status, category", [(408, "timeout"), (429, "rate_limited"), (500, "partner_error"), (502, "partner_error"),
                         (503, "partner_error")],
)
def test_retryable_statuses(receiver, status, category):
    receiver.script(Reply(status=status))
    subscription = SubscriptionFactory(connector__base_url=receiver.url)
    with pytest.raises(TransportError) as caught:
        transport_for(subscription.connector).send(_request(subscription))
    assert caught.value.permanent is False
    assert caught.value.status_code == status and caught.value.category == category


@pytest.mark.parametrize(
    "status, category",
    [(400, "partner_error"), (401, "authentication"), (403, "authentication"), (404, "partner_error"),
     (409, "partner_error"), (422, "partner_error"), (301, "partner_error")],
)
def test_other_statuses_are_permanent(receiver, status, category):
    receiver.script(Reply(status=status, body=b'{"error": "no such order"}'))
    subscription = SubscriptionFactory(connector__base_url=receiver.url)
    with pytest.raises(TransportError) as caught:
        transport_for(subscription.connector).send(_request(subscription))
    assert caught.value.permanent is True and caught.value.category == category
    assert caught.value.response_excerpt == '{"error": "no such order"}'


def test_retry_after_seconds_and_http_date_are_parsed(receiver):
    subscription = SubscriptionFactory(connector__base_url=receiver.url)
    transport = transport_for(subscription.connector)
    later = datetime.now(UTC) + timedelta(seconds=120)
    receiver.script(Reply(status=429, headers={"Retry-After": "7"}),
                    Reply(status=503, headers={"Retry-After": format_datetime(later, usegmt=True)}))
    with pytest.raises(TransportError) as first:
        transport.send(_request(subscription))
    with pytest.raises(TransportError) as second:
        transport.send(_request(subscription))
    assert first.value.retry_after == 7
    assert 115 <= second.value.retry_after <= 120


def test_retry_after_edge_values():
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds("999999999") == 86_400


def test_timeout_is_retryable(receiver):
    receiver.script(Reply(delay=0.6))
    subscription = SubscriptionFactory(connector__base_url=receiver.url, connector__timeout_seconds=0.2)
    with pytest.raises(TransportError) as caught:
        transport_for(subscription.connector).send(_request(subscription))
    assert caught.value.permanent is False and caught.value.timed_out and caught.value.category == "timeout"
    assert 150 <= caught.value.duration_ms < 600


def test_connection_refused_is_retryable():
    subscription = SubscriptionFactory(connector__base_url=refused_url())
    with pytest.raises(TransportError) as caught:
        transport_for(subscription.connector).send(_request(subscription))
    assert caught.value.permanent is False and "Connection failed" in caught.value.message


def test_connections_are_reused_until_the_connector_is_edited(receiver):
    subscription = SubscriptionFactory(connector__base_url=receiver.url)
    connector = subscription.connector
    transport_for(connector).send(_request(subscription))
    transport_for(connector).send(_request(subscription))
    assert receiver.requests[0].peer_port == receiver.requests[1].peer_port
    connector.timeout_seconds = 2.0
    connector.save()
    transport_for(connector).send(_request(subscription))
    assert receiver.requests[2].peer_port != receiver.requests[1].peer_port


def test_mapped_payload_is_sent_in_the_partners_shape(receiver):
    mapping = Mapping.objects.create(
        name="shop-order", direction="outbound",
        spec={"fields": [
            {"target": "/OrderNumber", "source": "/order/number", "required": True},
            {"target": "/Status", "source": "/order/status", "value_map": {"released": "OPEN"}},
        ]},
    )
    subscription = SubscriptionFactory(connector__base_url=receiver.url, payload_format="mapped", mapping=mapping)
    event = record_event(payload={"order": {"number": "SO-5", "status": "released"}})
    transport_for(subscription.connector).send(_request(subscription, event))
    assert receiver.requests[0].json == {"OrderNumber": "SO-5", "Status": "OPEN"}
    assert receiver.requests[0].headers["x-hub-event-id"] == str(event.event_id)


def test_mapping_failure_is_permanent_and_names_the_field(receiver):
    mapping = Mapping.objects.create(
        name="strict", direction="outbound",
        spec={"fields": [{"target": "/OrderNumber", "source": "/order/number", "required": True}]},
    )
    subscription = SubscriptionFactory(connector__base_url=receiver.url, payload_format="mapped", mapping=mapping)
    with pytest.raises(TransportError) as caught:
        transport_for(subscription.connector).send(_request(subscription, record_event(payload={"order": {}})))
    assert caught.value.permanent and caught.value.category == "mapping"
    assert "/order/number" in caught.value.message
    assert receiver.requests == []


def test_test_connection_reports_success_and_failure(receiver):
    connector = OutboundConnectorFactory(base_url=receiver.url, settings={"test_path": "/ping"})
    ok = transport_for(connector).test_connection()
    assert ok.ok and ok.status_code == 200 and "/ping" in ok.detail
    assert receiver.requests[0].json["type"] == "hub.ping"
    receiver.script(Reply(status=401))
    failed = transport_for(connector).test_connection()
    assert not failed.ok and failed.status_code == 401 and "401" in failed.detail
    refused = transport_for(OutboundConnectorFactory(base_url=refused_url())).test_connection()
    assert not refused.ok and "Connection failed" in refused.detail
