"""Shared fixtures: partner API clients with real API keys, database vendor markers."""

from __future__ import annotations

import itertools
import os

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from canonical.context import Actor
from governance.hub_api import hub_api_ensure_published
from governance.services import api_key_issue, consumer_create, consumer_subscribe_all
from tests.factories import SystemFactory


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the PostgreSQL pass of make test)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """HUB_TEST_DB_SUFFIX=x gives a PostgreSQL run its own test database (test_hub_x), so two runs on
    one server (two checkouts, two terminals) do not drop each other's database."""
    from django.conf import settings

    suffix = os.environ.get("HUB_TEST_DB_SUFFIX", "").strip()
    if not suffix:
        return
    for alias in settings.DATABASES.values():
        if alias["ENGINE"].endswith("postgresql"):
            test = alias.setdefault("TEST", {})
            test["NAME"] = f"{test.get('NAME') or 'test_' + alias['NAME']}_{suffix}"


@pytest.fixture(autouse=True)
def _api_usage_written_at_once():
    """The policy buffers usage counts per process; a test must not leave counts for the next one."""
    with override_settings(HUB_USAGE_FLUSH_SECONDS=0):
        yield


_consumer_numbers = itertools.count(1)


@pytest.fixture
def partner_client(db):
    """Make an APIClient authenticated as a consumer acting for the system with the given code.

    The consumer is subscribed to every published API version (the hub's own API is registered
    first when it is not), as ``create_consumer --subscribe-all`` does, so the runtime policy lets it in.
    """

    def make(system_code: str = "crm", kind: str = "crm", *, header: str = "bearer") -> APIClient:
        system = SystemFactory(code=system_code, kind=kind)
        consumer = consumer_create(name=f"{system_code}-app-{system.pk}-{next(_consumer_numbers)}", system=system, actor=Actor.hub())
        issued = api_key_issue(consumer=consumer, actor=Actor.hub())
        hub_api_ensure_published(actor=Actor.hub())
        consumer_subscribe_all(consumer=consumer, actor=Actor.hub())
        client = APIClient()
        if header == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
        else:
            client.credentials(HTTP_X_API_KEY=issued.raw_key)
        client.consumer = consumer
        client.raw_key = issued.raw_key
        client.system = system
        return client

    return make


@pytest.fixture
def sent_alone(monkeypatch) -> list[bytes]:
    """The commands psycopg sends on its own, as messages of their own (BEGIN before a transaction's
    first statement, COMMIT, ROLLBACK): recorded at its one door for them, ``_exec_command``."""
    from psycopg import _connection_base

    sent, original = [], _connection_base.BaseConnection._exec_command

    def record(self, command, *args, **kwargs):
        sent.append(bytes(command) if isinstance(command, bytes | bytearray) else command)
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(_connection_base.BaseConnection, "_exec_command", record)
    return sent
