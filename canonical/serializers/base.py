"""Base for canonical representations: every record carries the ids external systems know it by."""

from __future__ import annotations

from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from canonical.services.refs import external_refs_for


class FieldsBuiltOnce:
    # For read-only representations on hot paths: the fields are built and bound once per class.
    #
    # DRF builds a ModelSerializer's fields anew for every instance (model introspection, one
    # field object per column, validators), which costs more than representing the record; an
    # event payload and the answer of a milestone post each make two or three such serializers.
    # A serializer with this mixin keeps the fields of its first context-free instance and reuses
    # them: representing a record only reads them. Use it only for output serializers whose fields
    # depend on the class alone; with a context (a request, a view) fields are built as usual,
    # since a field may read it.
    # (A comment, not a docstring: drf-spectacular would publish it as the schema's description.)

    _built_fields: dict[type, BindingDict] = {}

    @property
    def fields(self):
        if self.context:
            return self._own_fields
        built = FieldsBuiltOnce._built_fields.get(type(self))
        if built is None:
            built = FieldsBuiltOnce._built_fields[type(self)] = self._own_fields
        return built

    @cached_property
    def _own_fields(self):
        return serializers.Serializer.fields.func(self)


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
