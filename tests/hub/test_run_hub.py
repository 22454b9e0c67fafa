"""run_hub, for real: gunicorn and a django-q2 cluster on a migrated temporary SQLite database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the hub's child processes in /proc")

MANAGE = str(settings.BASE_DIR / "manage.py")


@pytest.fixture(scope="module")
def hub_env(tmp_path_factory) -> dict[str, str]:
    database = tmp_path_factory.mktemp("run-hub") / "hub.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SETTINGS_MODULE": "hub.settings"}
    for command in (["migrate", "--noinput"], ["createcachetable"]):
        subprocess.run([sys.executable, MANAGE, *command], env=env, check=True, capture_output=True, timeout=300)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may hold spaces; the fields after it are fixed.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def descendants(pid: int) -> set[int]:
    found = children_of(pid)
    return found.union(*(descendants(child) for child in found))


def wait_for_descendants(pid: int, count: int, timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while len(found := descendants(pid)) < count:
        assert time.monotonic() < deadline, f"{pid} has only {found} below it, expected {count}"
        time.sleep(0.2)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, MANAGE, "run_hub", "--port", str(port), "--web-workers", "1"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
    )


def wait_for_health(port: int, hub: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert hub.poll() is None, f"run_hub exited early:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"/healthz did not answer 200 within {timeout}s:\n{log.read_text()}")


def wait_for_children(pid: int, count: int, timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = children_of(pid)
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"run_hub has {children_of(pid)} children, expected {count}")


def test_ctrl_c_stops_web_server_and_worker_cleanly(hub_env, tmp_path):
    port, log = free_port(), tmp_path / "hub.log"
    hub = start(hub_env, port, log)
    try:
        wait_for_health(port, hub, log)
        wait_for_children(hub.pid, 2)
        everything = wait_for_descendants(hub.pid, 5)  # gunicorn and its worker, the cluster and its processes
        hub.send_signal(signal.SIGINT)
        assert hub.wait(timeout=60) == 0, log.read_text()
    finally:
        if hub.poll() is None:
            hub.kill()
    output = log.read_text()
    assert f"http://127.0.0.1:{port}/admin/" in output and f"http://127.0.0.1:{port}/api/docs/" in output
    assert "Hub stopped." in output
    assert not [pid for pid in everything if alive(pid)], output
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_when_the_worker_dies_the_web_server_is_stopped_and_the_exit_is_an_error(hub_env, tmp_path):
    port, log = free_port(), tmp_path / "hub.log"
    hub = start(hub_env, port, log)
    try:
        wait_for_health(port, hub, log)
        children = wait_for_children(hub.pid, 2)
        worker = next(pid for pid in children if "qcluster" in Path(f"/proc/{pid}/cmdline").read_text())
        web = (children - {worker}).pop()
        # The cluster's own processes (sentinel, workers) are orphaned when it is killed outright.
        left_behind = wait_for_descendants(worker, 3) | descendants(web)
        os.kill(worker, signal.SIGKILL)
        assert hub.wait(timeout=60) == 1, log.read_text()
    finally:
        if hub.poll() is None:
            hub.kill()
    assert "The worker exited with code -9" in log.read_text()
    assert not alive(web)
    assert not [pid for pid in left_behind if alive(pid)]


def test_a_port_in_use_is_refused_before_anything_starts(hub_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, MANAGE, "run_hub", "--port", str(port)], env=hub_env, capture_output=True,
            text=True, timeout=60,
        )
    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
