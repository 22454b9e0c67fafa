"""Filters every canonical list shares."""

from datetime import UTC

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1})
class HubIdFilter(django_filters.NumberFilter):
    """A hub id: a whole number within the database's range, so ``1.5`` is refused rather than rounded
    and an absurd value is a 400, not a driver overflow."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class _UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time, turned into UTC here: the database then never sees an offset it cannot hold
    (PostgreSQL refuses displacements beyond ±15:59), and a time that has no UTC year is a 400."""

    default_error_messages = {"range": "This time is outside the range the hub keeps (years 1 to 9999 in UTC)."}

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["range"], code="range") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """The hub's time filter: ISO 8601 with an offset, compared in UTC."""

    field_class = _UtcIsoDateTimeField


class CanonicalFilterSet(django_filters.FilterSet):
    updated_since = IsoDateTimeFilter(
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
