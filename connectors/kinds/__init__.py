"""The registry of connector kinds: name → dotted path of its Transport class.

Each kind is a sub-package behind the one small base class in ``connectors.kinds.base``.
Adding a kind (EDI X12, files) is a new sub-package and one line here; nothing reads settings.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from connectors.kinds.base import DeliveryRequest, TestResult, Transport, TransportError, TransportResult

KINDS: dict[str, str] = {
    "webhook": "connectors.kinds.webhook.WebhookTransport",
    "rest": "connectors.kinds.rest.RestTransport",
}


class UnknownKind(ValueError):
    pass


def transport_class(kind: str) -> type[Transport]:
    try:
        path = KINDS[kind]
    except KeyError:
        raise UnknownKind(f"Unknown connector kind '{kind}'; known kinds: {', '.join(sorted(KINDS))}.") from None
    return import_string(path)


def transport_for(connector) -> Transport:
    return transport_class(connector.kind)(connector)


def kind_choices() -> list[tuple[str, str]]:
    return [(name, transport_class(name).label or name) for name in KINDS]


def connection_test(connector) -> TestResult:
    """Call the partner the way the connector is configured and say how it answered (admin action)."""
    try:
        transport = transport_for(connector)
    except UnknownKind as exc:
        return TestResult(ok=False, detail=str(exc))
    return transport.test_connection()


__all__ = [
    "KINDS", "DeliveryRequest", "TestResult", "Transport", "TransportError", "TransportResult", "UnknownKind",
    "connection_test", "kind_choices", "transport_class", "transport_for",
]
