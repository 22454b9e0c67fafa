"""Run the hub: gunicorn (the web server) and a django-q2 cluster (the worker), side by side.

Ctrl-C or SIGTERM stops both; if either dies, the other is stopped and the
command exits non-zero, so a supervisor (or the person at the terminal) sees it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hub.tasks import ensure_schedules

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM if run_hub itself is killed outright."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Command(BaseCommand):
    help = "Start the web server (gunicorn) and a django-q2 worker cluster together; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address the web server binds to.")
        parser.add_argument("--port", type=int, default=8000, help="Port the web server binds to.")
        parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes.")
        parser.add_argument("--stop-timeout", type=float, default=20.0,
                            help="Seconds to wait for a clean stop before killing.")
        parser.add_argument("--demo-partners", action="store_true",
                            help="Also run stand-in receivers for the demo connectors (manage.py demo_partners).")

    def handle(self, *args, host: str, port: int, web_workers: int, stop_timeout: float, demo_partners: bool,
               **options):
        if web_workers < 1:
            raise CommandError("--web-workers must be at least 1.")
        self._check_port_free(host, port)
        self._ensure_schedules()
        stop_requested: list[int] = []

        def request_stop(signum, frame):
            stop_requested.append(signum)

        previous = {sig: signal.signal(sig, request_stop) for sig in STOP_SIGNALS}
        children: list[Child] = []
        try:
            children.append(self._start("web server", [
                sys.executable, "-m", "gunicorn", "hub.wsgi:application",
                "--bind", f"{host}:{port}", "--workers", str(web_workers),
                "--access-logfile", "-", "--error-logfile", "-", "--chdir", str(settings.BASE_DIR),
                "--graceful-timeout", str(max(int(stop_timeout) - 5, 1)),
            ]))
            children.append(self._start("worker", [sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"]))
            if demo_partners:
                children.append(self._start("demo partners", [
                    sys.executable, str(settings.BASE_DIR / "manage.py"), "demo_partners"]))
            self._announce(host, port)
            dead = self._supervise(children, stop_requested, host, port)
        finally:
            self._stop(children, stop_timeout)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if dead is not None:
            raise CommandError(
                f"The {dead.name} exited with code {dead.process.returncode}; stopped the rest of the hub."
            )
        self.stdout.write("Hub stopped.")

    def _check_port_free(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise CommandError(
                    f"Cannot listen on {host}:{port} ({exc.strerror}). Is the hub already running? "
                    "Stop it, or choose another port with --port."
                ) from exc

    def _ensure_schedules(self) -> None:
        ensure_schedules()

    def _start(self, name: str, command: list[str]) -> Child:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # Its own process group: a terminal's Ctrl-C reaches only run_hub, which stops the
            # children in order, and a stop can take down a child's own workers with it.
            process_group=0,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        return Child(name=name, process=process)

    def _announce(self, host: str, port: int) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        base = f"http://{shown}:{port}"
        self.stdout.write(
            "The hub is starting: web server and worker cluster. Ctrl-C stops both.\n"
            f"  portal    {base}/\n"
            f"  admin     {base}/admin/\n"
            f"  API docs  {base}/api/docs/  (Redoc {base}/api/redoc/, schema {base}/api/schema/)\n"
            f"  health    {base}/healthz  (readiness {base}/readyz)"
        )
        self.stdout.flush()

    def _supervise(self, children: list[Child], stop_requested: list[int], host: str, port: int) -> Child | None:
        """Wait until a stop is asked for (None) or a child dies (that child)."""
        started = time.monotonic()
        announced = False
        probe_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        while not stop_requested:
            for child in children:
                if not child.running:
                    return child
            if not announced and self._healthy(probe_host, port):
                announced = True
                self.stdout.write(f"Ready: the web server answered /healthz after {time.monotonic() - started:.1f}s.")
                self.stdout.flush()
            time.sleep(0.2)
        return None

    @staticmethod
    def _healthy(host: str, port: int) -> bool:
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _stop(self, children: list[Child], timeout: float) -> None:
        # Only the parent of each child is asked to stop: gunicorn and the q cluster stop their own
        # workers in order, and signalling those workers directly would break that shutdown.
        for child in children:
            if child.running:
                child.process.terminate()
        deadline = time.monotonic() + timeout
        for child in children:
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {child.name} did not stop within {timeout:.0f}s; killing it.")
        for child in children:
            # Anything still alive in the child's process group goes with it: a stuck worker, or the
            # workers a child that died outright (SIGKILL, OOM) left behind.
            try:
                os.killpg(child.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            child.process.wait()
