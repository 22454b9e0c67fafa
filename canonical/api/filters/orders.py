"""Filters of the order list. ``status`` takes several values (``status=a&status=b`` or ``status=a,b``)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from rest_framework.exceptions import ValidationError

from canonical.api.filters.base import CanonicalFilterSet, HubIdFilter, IsoDateTimeFilter
from canonical.models import EntityType, ExternalRef, Location, Order, OrderLine, OrderStatus, Product


class _CommaSeparatedSelectMultiple(forms.SelectMultiple):
    def value_from_datadict(self, data, files, name):
        values = super().value_from_datadict(data, files, name) or []
        return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


class MultiChoiceFilter(django_filters.MultipleChoiceFilter):
    """Any of several values, repeated or comma-separated; one ``IN`` condition, so indexes still apply."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _CommaSeparatedSelectMultiple)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": list(value)})


def status_filter(choices, noun: str) -> MultiChoiceFilter:
    return MultiChoiceFilter(
        choices=choices,
        help_text=f"Only {noun} in any of these statuses (repeat the parameter or separate values with commas).",
    )


def id_of(queryset) -> int | None:
    """The id a reference points to, resolved up front so the list query keeps a plain equality."""
    return queryset.values_list("pk", flat=True).first()


def customer_id_by_ref(*, system: str, external_id: str) -> int | None:
    return (
        ExternalRef.objects.filter(system__code=system, entity_type=EntityType.CUSTOMER, external_id=external_id)
        .values_list("object_id", flat=True)
        .first()
    )


class CustomerExternalFilterMixin(django_filters.FilterSet):
    """``customer_external=crm:0015`` or ``customer_system=crm&customer_external_id=0015``."""

    customer_field = "customer_id"

    customer_external = django_filters.CharFilter(
        method="filter_customer_external",
        help_text="The customer as an external system knows it, as system:external_id (e.g. crm:0015g00000AbC).",
    )
    customer_system = django_filters.CharFilter(
        method="filter_customer_pair", help_text="With customer_external_id: the system that knows the customer."
    )
    customer_external_id = django_filters.CharFilter(
        method="filter_customer_pair", help_text="With customer_system: that system's id for the customer."
    )

    def filter_customer_external(self, queryset, name, value):
        system, sep, external_id = value.partition(":")
        if not sep or not system or not external_id:
            raise ValidationError({name: [f"Give the customer as system:external_id, not '{value}'."]})
        return self._by_customer_ref(queryset, system, external_id)

    def filter_customer_pair(self, queryset, name, value):
        data = self.form.cleaned_data
        system, external_id = data.get("customer_system"), data.get("customer_external_id")
        if not system or not external_id:
            raise ValidationError({name: ["customer_system and customer_external_id go together."]})
        if name == "customer_system":
            return queryset  # the pair is applied once, by customer_external_id
        return self._by_customer_ref(queryset, system, external_id)

    def _by_customer_ref(self, queryset, system, external_id):
        customer_id = customer_id_by_ref(system=system, external_id=external_id)
        return queryset.none() if customer_id is None else queryset.filter(**{self.customer_field: customer_id})


class OrderFilter(CustomerExternalFilterMixin, CanonicalFilterSet):
    entity_type = EntityType.ORDER
    status = status_filter(OrderStatus.choices, "orders")
    customer = HubIdFilter(field_name="customer_id", help_text="Hub id of the sold-to customer.")
    sku = django_filters.CharFilter(method="filter_sku", help_text="Only orders with a line for this SKU.")
    location = django_filters.CharFilter(
        method="filter_location", help_text="Only orders with a line shipping from this location (code)."
    )
    placed_since = IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    number = django_filters.CharFilter(help_text="The order number.")

    class Meta:
        model = Order
        fields = ["updated_since", "status", "customer", "number"]

    def filter_sku(self, queryset, name, value):
        product_id = id_of(Product.objects.filter(sku=value))
        if product_id is None:
            return queryset.none()
        return queryset.filter(Exists(OrderLine.objects.filter(order=OuterRef("pk"), product_id=product_id)))

    def filter_location(self, queryset, name, value):
        location_id = id_of(Location.objects.filter(code=value))
        if location_id is None:
            return queryset.none()
        return queryset.filter(Exists(OrderLine.objects.filter(order=OuterRef("pk"), location_id=location_id)))
