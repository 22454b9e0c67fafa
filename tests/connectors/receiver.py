"""A loopback HTTP receiver the delivery tests start: it records every request, answers as the
test scripts it (status, delay, Retry-After and other headers), counts requests per event id,
notices two requests for one delivery (path and event) at the same moment, and verifies signatures the way the
README tells partners to (its own few lines of hmac, not the hub's code).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    peer_port: int = 0
    signature_ok: bool | None = None
    status: int | None = None  # what the receiver answered
    answered_at: float | None = None

    @property
    def event_id(self) -> str:
        return self.headers.get("x-hub-event-id", "")

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


class Receiver:
    def __init__(self, *, secret: str | None = None, default: Reply | None = None, tolerance: int = 300):
        self.secret = secret
        self.tolerance = tolerance
        self.default = default or Reply()
        self.requests: list[Received] = []
        self.rule: Callable[[Received], Reply | None] | None = None
        self.overlaps: list[tuple[str, str]] = []
        self._script: deque[Reply] = deque()
        self._active: Counter = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # clients that timed out hang up
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order of arrival; then with the default."""
        with self._lock:
            self._script.extend(replies)

    def answer(self, rule: Callable[[Received], Reply | None]) -> None:
        """Decide per request (a rule returning None falls through to the script and the default)."""
        self.rule = rule

    def counts(self) -> Counter:
        with self._lock:
            return Counter(r.event_id for r in self.requests)

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.requests) >= count:
                return True
            time.sleep(0.01)
        return False

    def verify(self, received: Received) -> bool:
        stamp = received.headers.get("x-hub-timestamp", "")
        signature = received.headers.get("x-hub-signature", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), f"{stamp}.".encode() + received.body, hashlib.sha256).hexdigest()
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= self.tolerance
        return fresh and hmac.compare_digest(expected, signature)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply_for(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            if received.event_id:
                # One event may go to several subscribers at once; one delivery (path + event) may not.
                key = (received.path, received.event_id)
                self._active[key] += 1
                if self._active[key] > 1:
                    self.overlaps.append(key)
            chosen = self.rule(received) if self.rule is not None else None
            if chosen is None:
                chosen = self._script.popleft() if self._script else self.default
            received.status = chosen.status
            return chosen

    def _done(self, received: Received) -> None:
        with self._lock:
            received.answered_at = time.time()
            if received.event_id:
                self._active[(received.path, received.event_id)] -= 1

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body in one segment: without this, Nagle's algorithm and delayed ACKs
            # add ~40 ms to every keep-alive response.
            disable_nagle_algorithm = True
            wbufsize = 65536

            def log_message(self, format, *args):  # noqa: A002 - quiet test output
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(
                    method=self.command, path=self.path, body=body, at=time.time(), peer_port=self.client_address[1],
                    headers={key.lower(): value for key, value in self.headers.items()},
                )
                if receiver.secret is not None:
                    received.signature_ok = receiver.verify(received)
                reply = receiver._reply_for(received)
                try:
                    if reply.delay:
                        time.sleep(reply.delay)
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    receiver._done(received)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET = _handle

        return Handler


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(name="receiver")
def receiver_fixture():
    started = Receiver()
    yield started
    started.close()


@pytest.fixture(name="signed_receiver")
def signed_receiver_fixture():
    started = Receiver(secret="receiver-shared-secret")
    yield started
    started.close()
