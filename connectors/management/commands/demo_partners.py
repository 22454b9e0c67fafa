"""Stand-ins for the demo's partner systems: a small HTTP receiver on each demo connector's port.

The demo configuration (connectors/config/demo.yaml) points its connectors at 127.0.0.1:9101-9107.
This command listens there so that `make run` shows deliveries going out: each receiver answers
2xx and counts what it got (event types, and whether signatures checked out when the connector
signs and its secret is set); every ``--every`` seconds one summary line per busy partner is
printed (``--verbose`` prints every delivery instead). One partner can be made to fail (``--failing``, default
the Northwind supplier's REST API) so that the exception queue, retries and the circuit breaker
have something real to show. Not for production: real partners replace it.
"""

from __future__ import annotations

import json
import signal
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from connectors.models import Connector
from connectors.secrets import SecretError, secret_resolve
from connectors.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    signature_verify,
)

DEFAULT_FAILING = "northwind-rest"


def _loopback_connectors() -> list[Connector]:
    connectors = []
    for connector in Connector.objects.filter(enabled=True).exclude(base_url="").order_by("code"):
        parts = urlsplit(connector.base_url)
        if parts.hostname in ("127.0.0.1", "localhost") and parts.port:
            connectors.append(connector)
    return connectors


def _handler_for(connector: Connector, *, failing: bool, secret: str | None, write):
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            signed = ""
            if secret and self.headers.get(SIGNATURE_HEADER):
                try:
                    signature_verify(secret=secret, timestamp=self.headers.get(TIMESTAMP_HEADER),
                                     signature=self.headers.get(SIGNATURE_HEADER), body=body)
                    signed = " signature ok"
                except SignatureError as exc:
                    signed = f" signature BAD ({exc})"
            event = f"{self.headers.get(EVENT_TYPE_HEADER, '?')} {self.headers.get(EVENT_ID_HEADER, '')}"
            if failing:
                write(f"[{connector.code}] 503 to {event} (this demo partner is set to fail)")
                self._answer(503, {"error": "demo partner unavailable"}, {"Retry-After": "30"})
                return
            write(f"[{connector.code}] 200 {event}{signed}")
            self._answer(200, {"received": True})

        do_PUT = do_POST  # noqa: N815

        def do_GET(self):  # noqa: N802 - "test connection" and health probes
            self._answer(503 if failing else 200, {"partner": connector.code, "ok": not failing})

        def _answer(self, status: int, payload: dict, headers: dict | None = None):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # the lines above say what matters
            pass

    return Receiver


def _signing_secret(connector: Connector) -> str | None:
    """The connector's signing secret, or None when it has none or its variable is not set."""
    if not connector.signing_secret_ref:
        return None
    try:
        return secret_resolve(connector.signing_secret_ref)
    except SecretError:  # an unset demo variable only means signatures are not checked
        return None


class Command(BaseCommand):
    help = "Run stand-in HTTP receivers for the demo connectors that point at loopback ports (demo only)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=15.0, help="Seconds between summary lines.")
        parser.add_argument("--verbose", action="store_true", help="Print one line per delivery.")
        parser.add_argument("--failing", action="append", default=None, metavar="CONNECTOR",
                            help=f"Connector code whose receiver answers 503 (repeatable; default {DEFAULT_FAILING}; "
                                 "'none' for none).")

    def handle(self, *args, failing, every, verbose, **options):
        failing = {DEFAULT_FAILING} if failing is None else {code for code in failing if code != "none"}
        connectors = _loopback_connectors()
        if not connectors:
            raise CommandError("No enabled connector points at a loopback port; apply the demo configuration first "
                               "(manage.py demo_setup).")
        lock = threading.Lock()
        counts: Counter = Counter()

        def say(line: str) -> None:
            with lock:
                self.stdout.write(line)
                self.stdout.flush()

        def write(line: str) -> None:
            if verbose:
                say(line)
                return
            code, status = line.split("] ", 1)[0][1:], line.split("] ", 1)[1].split(" ", 1)[0]
            with lock:
                counts[(code, status, "BAD" in line)] += 1

        servers = []
        for connector in connectors:
            port = urlsplit(connector.base_url).port
            secret = _signing_secret(connector)
            handler = _handler_for(connector, failing=connector.code in failing, secret=secret, write=write)
            try:
                server = ThreadingHTTPServer(("127.0.0.1", port), handler)
            except OSError as exc:
                say(f"[{connector.code}] cannot listen on 127.0.0.1:{port} ({exc.strerror}); skipped")
                continue
            servers.append(server)
            threading.Thread(target=server.serve_forever, name=f"demo-{connector.code}", daemon=True).start()
            state = "answers 503" if connector.code in failing else "answers 200"
            say(f"demo partner {connector.code} listening on 127.0.0.1:{port} ({state})")
        stopped = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopped.set())
        while not stopped.wait(every):
            with lock:
                taken = dict(counts)
                counts.clear()
            for (code, status, bad), count in sorted(taken.items()):
                note = " (bad signatures)" if bad else ""
                say(f"demo partner {code}: answered {status} to {count} deliveries in the last {every:g} s{note}")
        for server in servers:
            server.shutdown()
