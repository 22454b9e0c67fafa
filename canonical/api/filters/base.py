"""Filters every canonical list shares."""

import django_filters
from django import forms


class HubIdFilter(django_filters.NumberFilter):
    """A hub id: an integer within the database's range, so an absurd value is a 400, not a driver overflow."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class CanonicalFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Only records changed at or after this ISO 8601 time."
    )
    external_system = django_filters.CharFilter(
        method="filter_external_system", help_text="Only records this system (code) has an external id for."
    )

    entity_type = ""

    def filter_external_system(self, queryset, name, value):
        from canonical.models import ExternalRef

        ids = ExternalRef.objects.filter(system__code=value, entity_type=self.entity_type).values("object_id")
        return queryset.filter(pk__in=ids)
