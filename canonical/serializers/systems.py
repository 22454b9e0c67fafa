"""External systems and the system-of-record table: who the hub talks to and who owns what."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from canonical.models import Domain, System, SystemOfRecord


class SystemSerializer(serializers.ModelSerializer):
    owned_domains = serializers.SerializerMethodField(
        help_text="Domains this system is the system of record for; only it may write them."
    )

    class Meta:
        model = System
        fields = ["id", "code", "name", "kind", "description", "is_active", "owned_domains", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Domain.choices)))
    def get_owned_domains(self, system: System) -> list[str]:
        # Iterating the prefetched relation (rather than .values_list) keeps a page at a fixed query count.
        return sorted(entry.domain for entry in system.owned_domains.all())


class SystemOfRecordSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="Code of the owning system.")
    system_name = serializers.CharField(source="system.name", read_only=True)

    class Meta:
        model = SystemOfRecord
        fields = ["domain", "system", "system_name", "notes", "updated_at"]
        read_only_fields = fields
