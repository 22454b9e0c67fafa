"""How partners name related records in a request body (the way they know them), and the fields
several bodies share."""

from __future__ import annotations

import datetime
import threading

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from canonical.models import ExternalRef, System
from canonical.services.prepared import record_by_id
from canonical.services.refs import external_ref_find, storable


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "description": "The hub's canonical id."},
            {"type": "string", "description": "The calling system's own external id."},
            {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "system": {"type": "string"},
                    "external_id": {"type": "string"},
                },
                "additionalProperties": False,
            },
        ]
    }
)
class RecordRefField(serializers.Field):
    """A reference to a canonical record as ``123`` (hub id), ``"EXT-1"`` (the caller's id)
    or ``{"system": "crm", "external_id": "EXT-1"}`` / ``{"id": 123}``.

    The caller's system comes from the serializer context (``system``). ``by_number``: the name of
    the record's unique number field: a string that is not the caller's id is then tried as that number
    (a return named by its RMA number).
    """

    default_error_messages = {
        "invalid": "Give a hub id (integer), your external id (string) or {{\"system\": ..., \"external_id\": ...}}.",
        "unknown_id": "No {entity} with hub id {value}.",
        "unknown_ref": "System '{system}' has no {entity} with external id '{value}'.",
        "unknown_system": "No system with code '{system}'.",
    }

    def __init__(self, *, model, entity_type: str, queryset=None, by_number: str | None = None, **kwargs):
        self.model = model
        self.entity_type = entity_type
        self.queryset = queryset
        self.by_number = by_number
        super().__init__(**kwargs)

    def _queryset(self):
        return self.queryset if self.queryset is not None else self.model._default_manager.all()

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, dict):
            unknown = set(data) - {"id", "system", "external_id"}
            if unknown or not (("id" in data) ^ ("external_id" in data)):
                self.fail("invalid")
            if "id" in data:
                return self._by_id(data["id"])
            system_code = data.get("system")
            system = self.context.get("system")
            if system_code is not None:
                if not isinstance(system_code, str) or not storable(system_code):
                    self.fail("unknown_system", system=system_code)
                system = System.objects.filter(code=system_code).first()
                if system is None:
                    self.fail("unknown_system", system=system_code)
            return self._by_ref(system, data["external_id"])
        if isinstance(data, int):
            return self._by_id(data)
        if isinstance(data, str) and data.strip() and storable(data):
            try:
                return self._by_ref(self.context.get("system"), data.strip())
            except serializers.ValidationError:
                if self.by_number is None:
                    raise
                found = self._queryset().filter(**{self.by_number: data.strip()}).first()
                if found is None:
                    system = self.context.get("system")
                    raise serializers.ValidationError(
                        f"No {self.entity_type} has the number '{data.strip()}'"
                        + (f", and system '{system.code}' has none with that external id" if system else "")
                        + ". Give its number, your external id, the hub id (integer) or "
                        "{\"system\": ..., \"external_id\": ...}.", code="unknown_ref",
                    ) from None
                return found
        self.fail("invalid")

    def _by_id(self, value):
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail("invalid")
        if not -(2**63) <= value < 2**63:  # no such id can exist (ids are 64-bit)
            self.fail("unknown_id", entity=self.entity_type, value=value)
        if self.queryset is None:  # the usual case, on every partner call: one prepared statement
            found = record_by_id(self.model, value)
        else:
            found = self._queryset().filter(pk=value).first()
        if found is None:
            self.fail("unknown_id", entity=self.entity_type, value=value)
        return found

    def _by_ref(self, system, external_id):
        if system is None or not isinstance(external_id, str) or not storable(external_id):
            self.fail("invalid")
        if self.queryset is None:  # the usual case: the reference and the record in one statement
            found = external_ref_find(system=system, entity_type=self.entity_type, external_id=external_id,
                                      model=self.model)
        else:
            object_id = (
                ExternalRef.objects.filter(system=system, entity_type=self.entity_type, external_id=external_id)
                .values_list("object_id", flat=True)
                .first()
            )
            found = self._queryset().filter(pk=object_id).first() if object_id is not None else None
        if found is None:
            self.fail("unknown_ref", system=system.code, entity=self.entity_type, value=external_id)
        return found

    def to_representation(self, value):
        return value.pk


class StrictFieldsMixin:
    # Refuse fields the serializer does not know, naming them, instead of silently dropping them;
    # unknown fields are reported together with every other field error of the body. (A comment,
    # not a docstring: drf-spectacular would publish a docstring as every request body's description.)

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors = {name: [f"Unknown field '{name}'."] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not errors:
                raise
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            raise serializers.ValidationError({**detail, **errors}) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value


_prototypes = threading.local()


def plain_validated(serializer_class, data, context: dict) -> dict | None:
    """What ``serializer_class(data=data, context=context)`` validates a plain, valid ``data`` to.

    None when the body is not valid, or not plainly so (an unknown or missing field, a default to
    fill in, a serializer-wide check): the serializer itself then decides, and says what is wrong.
    A serializer made for a request deep-copies all its declared fields, nested ones included,
    before it validates anything; on the order path that cost more than the checks. This runs the
    same fields' own checks (``run_validation``, ``validate_<field>``) on one bound copy kept per
    thread. tests/hub/test_orders_bad_input.py holds it to the serializer, body by body.
    """
    prototypes = getattr(_prototypes, "by_class", None)
    if prototypes is None:
        prototypes = _prototypes.by_class = {}
    prototype = prototypes.get(serializer_class)
    if prototype is None:
        prototype = prototypes[serializer_class] = serializer_class()
    prototype._context = context
    try:
        return _plain(prototype, data)
    finally:
        prototype._context = {}


def _plain(serializer, data) -> dict | None:
    if not isinstance(data, dict) or not data.keys() <= serializer.fields.keys():
        return None
    if serializer.validators or type(serializer).validate is not serializers.Serializer.validate:
        return None
    validated = {}
    for name, field in serializer.fields.items():
        if field.read_only or field.source_attrs != [name]:
            return None
        if name not in data:
            if field.required or field.default is not empty:
                return None
            continue
        value = data[name]
        if isinstance(field, serializers.ListSerializer):
            length = len(value) if isinstance(value, list) else -1
            if (length < 0 or (not length and not field.allow_empty)
                    or (field.max_length is not None and length > field.max_length)
                    or (field.min_length is not None and length < field.min_length)):
                return None
            items = [_plain(field.child, item) for item in value]
            if any(item is None for item in items):
                return None
            validated[name] = items
            continue
        if isinstance(field, serializers.BaseSerializer):
            return None
        check = getattr(serializer, f"validate_{name}", None)
        try:
            value = field.run_validation(value)
            validated[name] = check(value) if check is not None else value
        except serializers.ValidationError:
            return None
    return validated


class HappenedAtField(serializers.DateTimeField):
    """When something happened, by the sender's clock: not later than now, give or take
    ``settings.HUB_CLOCK_SKEW_SECONDS``. A time in the future is a clock or typing error that would
    otherwise stay (a shipment delivered in 2031 never moves back) and skew latency figures."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        skew = datetime.timedelta(seconds=settings.HUB_CLOCK_SKEW_SECONDS)
        now = timezone.now()
        if parsed > now + skew:
            raise serializers.ValidationError(
                f"Must not be in the future: {parsed.isoformat()} is after the hub's clock "
                f"({now.replace(microsecond=0).isoformat()}, allowing {skew.seconds // 60} minutes of clock skew)."
            )
        return parsed
