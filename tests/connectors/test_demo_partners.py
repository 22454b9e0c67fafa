"""The demo's stand-in partners: a receiver per loopback connector, one of them failing on purpose."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

import httpx
import pytest

from connectors.management.commands.demo_partners import _handler_for, _loopback_connectors, _signing_secret
from connectors.signing import signature_headers
from tests.factories import OutboundConnectorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def serve():
    servers = []

    def start(connector, *, failing=False):
        lines: list[str] = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(
            connector, failing=failing, secret=_signing_secret(connector), write=lines.append))
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}", lines

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_only_enabled_connectors_on_loopback_ports_get_a_stand_in():
    local = OutboundConnectorFactory(base_url="http://127.0.0.1:9101")
    OutboundConnectorFactory(base_url="https://partner.example.com/hooks")
    OutboundConnectorFactory(base_url="http://127.0.0.1:9102", enabled=False)
    assert _loopback_connectors() == [local]


def test_a_stand_in_accepts_deliveries_and_checks_their_signature(serve, monkeypatch):
    monkeypatch.setenv("HUB_TEST_SIGNING", "s3cret")
    connector = OutboundConnectorFactory(code="crm-webhook", signing_secret_ref="env:HUB_TEST_SIGNING")
    url, lines = serve(connector)
    body = b'{"type": "order.created"}'
    headers = {"X-Hub-Event-Type": "order.created", "X-Hub-Event-Id": "e-1",
               **signature_headers(secret="s3cret", body=body)}
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    assert httpx.post(url, content=body, headers={**headers, "X-Hub-Signature": "sha256=00"}).status_code == 200
    assert lines[0] == "[crm-webhook] 200 order.created e-1 signature ok"
    assert lines[1].startswith("[crm-webhook] 200 order.created e-1 signature BAD")


def test_the_failing_stand_in_answers_503_with_retry_after(serve):
    url, lines = serve(OutboundConnectorFactory(code="northwind-rest"), failing=True)
    response = httpx.post(url, content=b"{}")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert httpx.get(url).status_code == 503
    assert "503" in lines[0]
