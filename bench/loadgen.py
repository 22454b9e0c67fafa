"""The load generator of the benchmarks: N concurrent HTTP/1.1 clients on asyncio, raw sockets.

It runs in its own process (``python bench/loadgen.py`` reads a JSON spec on stdin
and writes a JSON result on stdout) so it never shares an interpreter lock with
the harness. It speaks just enough HTTP/1.1 for the job, because on a 2-core
machine the client competes with the server for CPU: a request costs it tens of
microseconds, where a full client library such as httpx costs several hundred
(measure both with ``python bench/loadgen.py --selftest``).

Spec (JSON)::

    {"host": "127.0.0.1", "port": 8001, "clients": 16, "warmup": 3, "duration": 15,
     "max_requests": 200000,
     "requests": [{"method": "POST", "path": "/x/{n}", "body": "{\"at\": \"{ts}\"}", "headers": {...}}]}

Each request gets a unique sequence number ``n``; ``{n}`` in the path, the body or a header
value becomes that number and ``{ts}`` an ISO 8601 time unique to it. Requests rotate over
the list.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta

_TS_BASE = datetime(2024, 1, 1, tzinfo=UTC)  # in the past: the hub refuses a time that has not happened yet


class Template:
    def __init__(self, spec: dict, host: str, port: int):
        self.method = spec.get("method", "GET").upper()
        self.path = spec["path"]
        self.body = spec.get("body")
        headers = {"Host": f"{host}:{port}", "User-Agent": "hub-bench", "Accept": "application/json"}
        headers.update(spec.get("headers", {}))
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
        self.headers = headers

    def render(self, n: int) -> bytes:
        ts = (_TS_BASE + timedelta(microseconds=n)).isoformat()
        path = self.path.replace("{n}", str(n)).replace("{ts}", ts)
        lines = [f"{self.method} {path} HTTP/1.1"]
        lines += [
            f"{name}: {value.replace('{n}', str(n)).replace('{ts}', ts) if '{' in value else value}"
            for name, value in self.headers.items()
        ]
        body = b""
        if self.body is not None:
            body = self.body.replace("{n}", str(n)).replace("{ts}", ts).encode()
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Read one response; returns (status, server keeps the connection open, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    keep_alive = headers.get("connection", "").lower() != "close" and status_line.startswith("HTTP/1.1")
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.read()
        keep_alive = False
    return status, keep_alive, body


class Run:
    def __init__(self, spec: dict):
        self.host = spec.get("host", "127.0.0.1")
        self.port = int(spec["port"])
        self.clients = int(spec.get("clients", 16))
        self.warmup = float(spec.get("warmup", 3))
        self.duration = float(spec.get("duration", 15))
        self.max_requests = int(spec.get("max_requests", 500_000))
        self.templates = [Template(t, self.host, self.port) for t in spec["requests"]]
        self.next_n = int(spec.get("first_n", 0))
        self.issued = 0
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.samples: dict[str, str] = {}
        self.measure_from = 0.0
        self.measure_until = 0.0

    async def client(self) -> None:
        reader = writer = None
        while True:
            now = time.perf_counter()
            if now >= self.measure_until or self.issued >= self.max_requests:
                break
            n = self.next_n
            self.next_n += 1
            self.issued += 1
            request = self.templates[n % len(self.templates)].render(n)
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(request)
                status, keep_alive, body = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                status, keep_alive, body = 0, False, repr(exc).encode()
            elapsed = time.perf_counter() - started
            if not keep_alive and writer is not None:
                writer.close()
                reader = writer = None
            if started >= self.measure_from:
                self.latencies.append(elapsed)
                key = str(status)
                self.statuses[key] = self.statuses.get(key, 0) + 1
                if not 200 <= status < 300 and key not in self.samples:
                    self.samples[key] = body[:600].decode("utf-8", "replace")
        if writer is not None:
            writer.close()

    async def main(self) -> dict:
        start = time.perf_counter()
        self.measure_from = start + self.warmup
        self.measure_until = self.measure_from + self.duration
        await asyncio.gather(*(self.client() for _ in range(self.clients)))
        # Requests still in flight at the end are counted by when they started, so the
        # window is measure_from .. the last completion.
        elapsed = max(time.perf_counter(), self.measure_until) - self.measure_from
        return {
            "requests": len(self.latencies),
            "seconds": elapsed,
            "latencies": self.latencies,
            "statuses": self.statuses,
            "error_samples": self.samples,
            "capped": self.issued >= self.max_requests,
        }


def run(spec: dict) -> dict:
    return asyncio.run(Run(spec).main())


# --- self-test: how fast is the generator itself? ---------------------------------------------

_CANNED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n%s\r\n{\"ok\":true}"


async def _trivial_server(port_out, close: bool) -> None:
    response = _CANNED % (b"Connection: close\r\n" if close else b"")

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                writer.write(response)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port_out.put(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _serve(port_out, close: bool) -> None:
    asyncio.run(_trivial_server(port_out, close))


def _httpx_threads(port: int, clients: int, seconds: float) -> float:
    """The alternative we did not pick: a thread per client, each with a persistent httpx.Client."""
    import threading

    import httpx

    count = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(index: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            while time.perf_counter() < stop:
                client.post("/x", json={"n": count[index]})
                count[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(count) / seconds


def selftest(seconds: float = 5.0) -> None:
    import multiprocessing

    print(f"Load generator self-test: 16 clients against a canned-response asyncio server, {seconds:.0f} s each")
    for close in (True, False):
        port_out = multiprocessing.Queue()
        server = multiprocessing.Process(target=_serve, args=(port_out, close), daemon=True)
        server.start()
        port = port_out.get(timeout=10)
        spec = {"port": port, "clients": 16, "warmup": 0.5, "duration": seconds,
                "requests": [{"method": "POST", "path": "/x", "body": '{"n": {n}}'}]}
        result = run(spec)
        label = "new connection per request" if close else "keep-alive"
        rate = result["requests"] / result["seconds"]
        print(f"  {'asyncio raw sockets (chosen), ' + label:58s} {rate:8.0f} req/s")
        if not close:
            rate = _httpx_threads(port, 16, seconds)
            print(f"  {'threads with a persistent httpx.Client, ' + label:58s} {rate:8.0f} req/s")
        server.terminate()
        server.join()


if __name__ == "__main__":
    if "--selftest" in sys.argv:
        selftest()
    else:
        json.dump(run(json.load(sys.stdin)), sys.stdout)
