"""The customer admin: who may change an account's credit terms, and what such a change records."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from canonical.models import AuditEntry, BusinessEvent, CreditStatus, Customer
from tests.factories import CustomerFactory
from tests.staff import staff_client

pytestmark = pytest.mark.django_db

CREDIT_TERMS = ("currency", "payment_terms", "credit_limit", "credit_status")


@pytest.fixture
def steward(django_user_model) -> Client:
    return staff_client("stella", "view_customer", "change_customer", "view_address",
                  "change_address", "view_contact", "change_contact")


@pytest.fixture
def finance(django_user_model) -> Client:
    return staff_client("fiona", "view_customer", "change_credit_terms", "view_address",
                  "view_contact")


@pytest.fixture
def customer() -> Customer:
    return CustomerFactory(name="Nelson Fire Protection Inc.", credit_limit=Decimal("100000.00"),
                           credit_status=CreditStatus.HOLD)


def _url(customer: Customer) -> str:
    return reverse("admin:canonical_customer_change", args=[customer.pk])


def _form_data(client: Client, url: str, **changes) -> dict:
    """What the change page would post back unchanged (its form and inline formsets), with ``changes``."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else value
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        data[f"{formset.prefix}-TOTAL_FORMS"] = len(formset.forms)
    data.update(changes)
    return data


def test_a_data_steward_cannot_change_credit_limit_or_credit_status(steward, customer):
    url = _url(customer)
    form = steward.get(url).context["adminform"].form
    assert not set(CREDIT_TERMS) & set(form.fields)
    assert "name" in form.fields  # the account itself is still theirs

    response = steward.post(url, _form_data(steward, url, name="Nelson Fire Protection",
                                            credit_limit="900000", credit_status="good", payment_terms="net60"))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Nelson Fire Protection"
    assert (customer.credit_limit, customer.credit_status) == (Decimal("100000.00"), CreditStatus.HOLD)
    assert not AuditEntry.objects.filter(action="customer.credit_terms_changed").exists()
    assert not BusinessEvent.objects.filter(aggregate_type="customer").exists()


def test_finance_changes_credit_terms_audited_and_emitted_and_nothing_else(finance, customer):
    url = _url(customer)
    form = finance.get(url).context["adminform"].form
    assert set(form.fields) == set(CREDIT_TERMS)

    response = finance.post(url, _form_data(finance, url, credit_limit="120000.00", credit_status="watch",
                                            name="Renamed by finance"))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.credit_limit, customer.credit_status) == (Decimal("120000.00"), CreditStatus.WATCH)
    assert customer.name == "Nelson Fire Protection Inc."
    entry = AuditEntry.objects.get(action="customer.credit_terms_changed", object_id=str(customer.pk))
    assert entry.actor_user.username == "fiona"
    assert entry.before == {"credit_limit": "100000.00", "credit_status": "hold"}
    assert entry.after == {"credit_limit": "120000.00", "credit_status": "watch"}
    event = BusinessEvent.objects.get(aggregate_type="customer", aggregate_id=str(customer.pk))
    assert event.event_type == "customer.updated"
    assert event.payload["changed"] == ["credit_limit", "credit_status"]
    assert event.payload["customer"]["credit_status"] == "watch"
    assert event.correlation_id == entry.correlation_id


def test_saving_the_form_unchanged_records_nothing(finance, customer):
    url = _url(customer)
    assert finance.post(url, _form_data(finance, url)).status_code == 302
    assert not AuditEntry.objects.filter(object_type="customer").exists()
    assert not BusinessEvent.objects.exists()


def test_a_superuser_credit_change_is_audited_with_the_rest_of_the_form_saved(admin_client, customer):
    url = _url(customer)
    admin_client.post(url, _form_data(admin_client, url, name="Nelson Fire", credit_limit="5000"))
    customer.refresh_from_db()
    assert (customer.name, customer.credit_limit) == ("Nelson Fire", Decimal("5000.00"))
    event = BusinessEvent.objects.get(event_type="customer.updated")
    assert event.payload["customer"]["name"] == "Nelson Fire"  # the event carries the account as saved
    assert AuditEntry.objects.get(action="customer.credit_terms_changed").after == {"credit_limit": "5000.00"}


def test_without_either_permission_the_form_cannot_be_posted(django_user_model, customer):
    viewer = staff_client("victor", "view_customer")
    response = viewer.post(_url(customer), {"credit_limit": "1"})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.credit_limit == Decimal("100000.00")
