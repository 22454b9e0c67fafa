"""The REST kind: method and path template from the connector or subscription, body = event data."""

from __future__ import annotations

import pytest

from connectors.kinds import KINDS, TransportError, UnknownKind, connection_test, kind_choices, transport_for
from connectors.kinds.base import DeliveryRequest
from connectors.kinds.rest import RestTransport
from connectors.kinds.webhook import WebhookTransport
from tests.connectors.outbound_support import record_event
from tests.connectors.receiver import Reply, receiver_fixture  # noqa: F401
from tests.factories import OutboundConnectorFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _rest(receiver, **settings):
    return OutboundConnectorFactory(kind="rest", base_url=receiver.url + "/api", settings=settings)


def test_put_to_a_path_template_with_the_event_data(receiver):
    subscription = SubscriptionFactory(connector=_rest(receiver, method="PUT", path="/orders/{aggregate_id}"))
    event = record_event(aggregate_id=4711, payload={"order": {"number": "SO-4711"}}, correlation_id="c-9")
    result = transport_for(subscription.connector).send(DeliveryRequest(event=event, subscription=subscription))
    assert result.status_code == 200
    [received] = receiver.requests
    assert (received.method, received.path) == ("PUT", "/api/orders/4711")
    assert received.json == {"order": {"number": "SO-4711"}}
    assert received.headers["x-hub-event-id"] == str(event.event_id)
    assert received.headers["x-hub-event-type"] == "order.created"
    assert received.headers["x-correlation-id"] == "c-9"


def test_subscription_path_overrides_the_connector_path(receiver):
    subscription = SubscriptionFactory(
        connector=_rest(receiver, method="PATCH", path="/orders/{aggregate_id}"),
        path="/events/{event_type}/{sequence}",
    )
    event = record_event(aggregate_id=1)
    transport_for(subscription.connector).send(DeliveryRequest(event=event, subscription=subscription))
    assert (receiver.requests[0].method, receiver.requests[0].path) == ("PATCH", "/api/events/order.created/1")


def test_path_values_are_quoted(receiver):
    subscription = SubscriptionFactory(connector=_rest(receiver, path="/things/{aggregate_id}"))
    event = record_event(aggregate_id="a/b c")
    transport_for(subscription.connector).send(DeliveryRequest(event=event, subscription=subscription))
    assert receiver.requests[0].path == "/api/things/a%2Fb%20c"


def test_delete_sends_no_body(receiver):
    subscription = SubscriptionFactory(connector=_rest(receiver, method="DELETE", path="/orders/{aggregate_id}"))
    transport_for(subscription.connector).send(DeliveryRequest(event=record_event(aggregate_id=3), subscription=subscription))
    assert receiver.requests[0].method == "DELETE" and receiver.requests[0].body == b""


@pytest.mark.parametrize(
    "settings, message", [({"path": "/orders/{order_number}"}, "{order_number}"), ({"method": "FETCH"}, "FETCH")]
)
def test_bad_configuration_is_a_permanent_error_naming_it(receiver, settings, message):
    subscription = SubscriptionFactory(connector=_rest(receiver, **settings))
    with pytest.raises(TransportError, match=message) as caught:
        transport_for(subscription.connector).send(DeliveryRequest(event=record_event(), subscription=subscription))
    assert caught.value.permanent
    assert receiver.requests == []


def test_rest_errors_are_classified_like_webhooks(receiver):
    receiver.script(Reply(status=503, headers={"Retry-After": "3"}))
    subscription = SubscriptionFactory(connector=_rest(receiver))
    with pytest.raises(TransportError) as caught:
        transport_for(subscription.connector).send(DeliveryRequest(event=record_event(), subscription=subscription))
    assert not caught.value.permanent and caught.value.retry_after == 3


def test_test_connection_uses_the_configured_probe(receiver):
    connector = _rest(receiver, test_method="GET", test_path="/health")
    result = connection_test(connector)
    assert result.ok
    assert (receiver.requests[0].method, receiver.requests[0].path) == ("GET", "/api/health")


def test_registry_resolves_kinds_by_dotted_path():
    assert set(KINDS) >= {"webhook", "rest"}
    assert dict(kind_choices())["rest"] == RestTransport.label
    assert isinstance(transport_for(OutboundConnectorFactory.build(kind="webhook")), WebhookTransport)
    with pytest.raises(UnknownKind, match="webhook"):
        transport_for(OutboundConnectorFactory.build(kind="x12"))
    assert not connection_test(OutboundConnectorFactory.build(kind="x12")).ok
