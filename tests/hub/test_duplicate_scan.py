"""The duplicate scan over existing accounts, on the demo distributor's customers: every twin the
demo seeds (an account keyed straight into the ERP with a variant of the name) is found and raised
once, on the newer account, for the data stewards."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from canonical.context import Actor
from canonical.demo.customers import accounts_ensure, accounts_plan
from canonical.models import Customer
from connectors.models import Category, IntegrationException
from hub.workflows.onboarding import customers_duplicate_scan
from tests.factories import SystemFactory, SystemOfRecordFactory

pytestmark = pytest.mark.django_db


def test_every_seeded_twin_is_raised_once_on_the_newer_account():
    plans = accounts_plan(seed=7, total=240)
    systems = {"crm": SystemFactory(code="crm", kind="crm"), "erp": SystemFactory(code="erp", kind="erp")}
    SystemOfRecordFactory(domain="customers", system=systems["crm"])
    accounts_ensure(plans=plans, systems=systems, as_of=datetime(2026, 11, 20, tzinfo=UTC))
    twins = {p.account_number: p.duplicate_of for p in plans if p.duplicate_of}
    assert len(twins) >= 6

    raised = customers_duplicate_scan(actor=Actor.hub())
    by_account = {e.customer.account_number: e for e in raised}
    for twin, original in twins.items():
        exception = by_account[twin]
        listed = [c["account_number"] for c in exception.context["candidates"]]
        assert original in listed, (twin, original, exception.context["candidates"])
        assert exception.category == Category.DUPLICATE_CUSTOMER and exception.severity == "low"
    # Nothing else in a believable customer base looks like a duplicate.
    assert set(by_account) == set(twins)
    assert Customer.objects.filter(status="pending", onboarding="duplicate_review").count() == 0

    out = io.StringIO()
    call_command("scan_duplicates", stdout=out)
    assert f"{len(twins)} likely duplicate account(s) in the data stewards' queue (0 newly raised)." in out.getvalue()
    assert IntegrationException.objects.count() == len(twins)

