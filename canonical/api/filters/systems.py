"""Filters for the list of external systems."""

import django_filters

from canonical.models import Domain, System, SystemKind


class SystemFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=SystemKind.choices)
    is_active = django_filters.BooleanFilter()
    owns = django_filters.ChoiceFilter(
        choices=Domain.choices, field_name="owned_domains__domain", help_text="Only the system of record for this domain."
    )

    class Meta:
        model = System
        fields = ["kind", "is_active", "owns"]
