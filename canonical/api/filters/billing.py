"""Filters of the invoice, return and credit memo lists."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from canonical.api.filters.base import CanonicalFilterSet, HubIdFilter, IsoDateTimeFilter
from canonical.api.filters.orders import CustomerExternalFilterMixin, status_filter
from canonical.models import CreditMemo, EntityType, Invoice, InvoiceStatus, ReturnAuthorization, ReturnStatus


def _customer():
    return HubIdFilter(field_name="customer_id", help_text="Hub id of the customer account.")


def _order():
    return HubIdFilter(field_name="order_id", help_text="Hub id of the order.")


class InvoiceFilter(CustomerExternalFilterMixin, CanonicalFilterSet):
    entity_type = EntityType.INVOICE
    status = status_filter(InvoiceStatus.choices, "invoices")
    customer = _customer()
    order = _order()
    number = django_filters.CharFilter(help_text="The invoice number.")
    issued_since = IsoDateTimeFilter(field_name="issued_at", lookup_expr="gte")
    issued_before = IsoDateTimeFilter(field_name="issued_at", lookup_expr="lt")

    class Meta:
        model = Invoice
        fields = ["updated_since", "status", "customer", "order", "number"]


class ReturnFilter(CustomerExternalFilterMixin, CanonicalFilterSet):
    entity_type = EntityType.RETURN
    status = status_filter(ReturnStatus.choices, "returns")
    customer = _customer()
    order = _order()
    number = django_filters.CharFilter(help_text="The RMA number.")

    class Meta:
        model = ReturnAuthorization
        fields = ["updated_since", "status", "customer", "order", "number"]


class CreditMemoFilter(CustomerExternalFilterMixin, CanonicalFilterSet):
    entity_type = EntityType.CREDIT_MEMO
    customer = _customer()
    order = HubIdFilter(
        method="filter_order", help_text="Hub id of the order whose return or invoice the memo credits."
    )
    rma = HubIdFilter(field_name="rma_id", help_text="Hub id of the return credited.")
    invoice = HubIdFilter(field_name="invoice_id", help_text="Hub id of the invoice credited.")
    number = django_filters.CharFilter(help_text="The credit memo number.")
    issued_since = IsoDateTimeFilter(field_name="issued_at", lookup_expr="gte")

    class Meta:
        model = CreditMemo
        fields = ["updated_since", "customer", "rma", "invoice", "number"]

    def filter_order(self, queryset, name, value):
        return queryset.filter(Q(rma__order_id=value) | Q(invoice__order_id=value))
