"""The REST client: ``METHOD base_url + path template``, the body being the event's data.

Connector settings (``Connector.settings``)::

    {"method": "PUT", "path": "/orders/{aggregate_id}", "test_method": "GET", "test_path": "/health"}

A subscription's own ``path`` replaces the connector's. Placeholders: ``{aggregate_type}``,
``{aggregate_id}``, ``{event_type}``, ``{event_id}``, ``{sequence}``; values are URL-quoted.
"""

from __future__ import annotations

import string
from urllib.parse import quote

from connectors.kinds.base import DeliveryRequest, TestResult, TransportError, TransportResult
from connectors.kinds.http import HttpTransport, join_url, json_body, mapped_payload

METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PLACEHOLDERS = ("aggregate_type", "aggregate_id", "event_type", "event_id", "sequence")


def path_render(template: str, event) -> str:
    values = {
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "event_type": event.event_type,
        "event_id": str(event.event_id),
        "sequence": str(event.sequence),
    }
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name not in values:
            raise TransportError(
                f"The path template '{template}' uses {{{name}}}; known placeholders: "
                + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + ".",
                permanent=True,
            )
    return template.format(**{key: quote(value, safe="") for key, value in values.items()})


class RestTransport(HttpTransport):
    kind = "rest"
    label = "REST API call"

    @property
    def method(self) -> str:
        method = str(self.connector.settings.get("method", "POST")).upper()
        if method not in METHODS:
            raise TransportError(
                f"Connector setting method='{method}' is not one of {', '.join(sorted(METHODS))}.", permanent=True
            )
        return method

    def send(self, request: DeliveryRequest) -> TransportResult:
        method = self.method
        template = request.subscription.path or self.connector.settings.get("path", "")
        url = join_url(self.connector.base_url, path_render(template, request.event))
        if method == "DELETE":
            body = b""
        elif request.subscription.payload_format == "mapped":
            body = json_body(mapped_payload(request))
        else:
            body = json_body(request.event.payload)
        headers = self.headers_for(body, event=request.event, correlation_id=request.correlation_id)
        return self.call(method, url, body=body, headers=headers)

    def test_connection(self) -> TestResult:
        settings = self.connector.settings
        method = str(settings.get("test_method", "GET")).upper()
        return self.probe(method, join_url(self.connector.base_url, settings.get("test_path", "")))
