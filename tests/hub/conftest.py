"""Fixtures of the order tests: the shop (systems, accounts, catalogue, stock) and the CRM calling
the API. A module that needs another shop or another CRM client defines its own, which wins."""

from __future__ import annotations

import pytest

from tests.hub.ordering_support import shop_build


@pytest.fixture
def shop(db):
    return shop_build()


@pytest.fixture
def crm(partner_client, shop):
    return partner_client("crm", "crm")
