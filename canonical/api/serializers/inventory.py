"""What the inventory system of record (the WMS) sends: its locations and its stock reports."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from canonical.api.fields import StrictFieldsMixin
from canonical.models import LocationKind

# Reports from a clock slightly ahead are accepted; further ahead would make every later report look stale.
AS_OF_CLOCK_SKEW = timedelta(minutes=5)


class LocationUpsertInput(StrictFieldsMixin, serializers.Serializer):
    code = serializers.SlugField(max_length=40, help_text="The hub's short code for the location.")
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=LocationKind.choices, default=LocationKind.WAREHOUSE)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    country = serializers.RegexField(r"^[A-Z]{2}$", default="US", help_text="ISO 3166-1 alpha-2")
    is_active = serializers.BooleanField(default=True)


class InventoryReportInput(StrictFieldsMixin, serializers.Serializer):
    on_hand = serializers.DecimalField(
        max_digits=14, decimal_places=3, min_value=0, help_text="Physically in the location, reserved or not."
    )
    in_transit = serializers.DecimalField(
        max_digits=14, decimal_places=3, min_value=0, required=False,
        help_text="Inbound to the location. Left out, the current figure is kept (0 for a new position).",
    )
    as_of = serializers.DateTimeField(
        required=False,
        help_text="When the warehouse counted these figures (ISO 8601 with offset). Defaults to the time the hub "
        "receives the report. A report older than the position's last_updated_at is ignored as stale.",
    )

    def validate_as_of(self, value):
        latest = timezone.now() + AS_OF_CLOCK_SKEW
        if value > latest:
            raise serializers.ValidationError(
                f"as_of ({value.isoformat()}) is in the future; the hub accepts at most "
                f"{int(AS_OF_CLOCK_SKEW.total_seconds() // 60)} minutes of clock skew."
            )
        return value
