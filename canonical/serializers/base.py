"""Base for canonical representations: every record carries the ids external systems know it by."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from canonical.services.refs import external_refs_for


class ExternalRefSerializer(serializers.Serializer):
    system = serializers.CharField()
    external_id = serializers.CharField()


class _RefsPrefetchingListSerializer(serializers.ListSerializer):
    """Loads the external refs of a whole page in one query, so a page costs the same queries at any size."""

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        entity_type = self.child.Meta.entity_type
        self.child._refs_cache = external_refs_for(entity_type=entity_type, object_ids=[i.pk for i in items])
        return [self.child.to_representation(item) for item in items]


@extend_schema_field(ExternalRefSerializer(many=True))
class ExternalRefsField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, instance):
        cache = getattr(self.parent, "_refs_cache", None)
        if cache is not None and instance.pk in cache:
            return cache[instance.pk]
        if cache is not None:
            return []
        return external_refs_for(entity_type=self.parent.Meta.entity_type, object_ids=[instance.pk]).get(
            instance.pk, []
        )


class CanonicalSerializer(serializers.ModelSerializer):
    """Read representation. Subclasses set ``Meta.entity_type`` (an EntityType value)."""

    external_refs = ExternalRefsField()

    class Meta:
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = ""
