"""Shared fixtures: partner API clients with real API keys, database vendor markers."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from canonical.context import Actor
from governance.services import api_key_issue, consumer_create
from tests.factories import SystemFactory


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the PostgreSQL pass of make test)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def partner_client(db):
    """Make an APIClient authenticated as a consumer acting for the system with the given code."""

    def make(system_code: str = "crm", kind: str = "crm", *, header: str = "bearer") -> APIClient:
        system = SystemFactory(code=system_code, kind=kind)
        consumer = consumer_create(name=f"{system_code}-app-{system.pk}-{id(object())}", system=system, actor=Actor.hub())
        issued = api_key_issue(consumer=consumer, actor=Actor.hub())
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
