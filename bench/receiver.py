"""The partner end of the delivery benchmarks: a fast loopback receiver that answers 200 and counts.

    python bench/receiver.py PORT

It runs in a process of its own (bench/outbound.py starts it), on asyncio with raw sockets and
HTTP/1.1 keep-alive, so that on a 2-core machine it takes as little CPU as a receiver can: the
hub's dispatchers and the bare httpx loop both post to it, and what it costs is taken from both.
(tests/connectors/receiver.py, the tests' receiver, is a thread per connection with
http.server's parsing: several times the CPU per request, fine for tests, not for this.)

Every request is answered ``200 {"ok":true}`` and recorded by its ``X-Hub-Event-Id`` header:
the time.time() at which its body had fully arrived (the first time, for repeats), and how
many requests came in all. The harness reads that over the same port:

    GET  /__stats     {"requests": n, "distinct": d, "first_at": t, "last_at": t}
    GET  /__arrivals  {"<event id>": first arrival time, ...}
    POST /__reset     forget everything
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

_OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class Counts:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.arrivals: dict[str, float] = {}
        self.first_at = 0.0
        self.last_at = 0.0

    def record(self, event_id: str, at: float) -> None:
        self.requests += 1
        if event_id not in self.arrivals:
            self.arrivals[event_id] = at
        if not self.first_at:
            self.first_at = at
        self.last_at = at

    def stats(self) -> dict:
        return {"requests": self.requests, "distinct": len(self.arrivals), "first_at": self.first_at,
                "last_at": self.last_at}


def _json_response(document) -> bytes:
    body = json.dumps(document).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def _handle(counts: Counts, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, header_block = head.partition(b"\r\n")
            length = 0
            event_id = ""
            close = False
            for line in header_block.split(b"\r\n"):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"x-hub-event-id":
                    event_id = value.strip().decode("latin-1")
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await reader.readexactly(length)
            path = request_line.split(b" ", 2)[1] if request_line.count(b" ") >= 2 else b"/"
            if path.startswith(b"/__"):
                if path == b"/__stats":
                    writer.write(_json_response(counts.stats()))
                elif path == b"/__arrivals":
                    writer.write(_json_response(counts.arrivals))
                elif path == b"/__reset":
                    counts.reset()
                    writer.write(_json_response({"reset": True}))
                else:
                    writer.write(_json_response({"unknown": path.decode("latin-1")}))
            else:
                counts.record(event_id, time.time())
                writer.write(_OK)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    counts = Counts()
    server = await asyncio.start_server(lambda r, w: _handle(counts, r, w), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
