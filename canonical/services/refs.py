"""External references and the system-of-record rule, shared by every upsert service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models

from canonical.errors import NotSystemOfRecord, UnknownReference
from canonical.models import ExternalRef, System, SystemOfRecord


@dataclass
class UpsertResult:
    """What an upsert did: the record, whether it was new, and {field: [old, new]} for what changed."""

    instance: Any
    created: bool
    changes: dict = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)


def system_get(*, code: str) -> System:
    try:
        return System.objects.get(code=code, is_active=True)
    except System.DoesNotExist:
        raise UnknownReference(f"No active system with code '{code}'.", system=code) from None


def system_of_record_assert(*, system: System, domain: str) -> None:
    """Refuse a write to ``domain`` from a system that does not own it."""
    owner = SystemOfRecord.objects.filter(domain=domain).select_related("system").first()
    if owner is None or owner.system_id != system.pk:
        raise NotSystemOfRecord(domain=domain, writer=system.code, owner=owner.system.code if owner else None)


def external_ref_find(
    *, system: System, entity_type: str, external_id: str, model: type[models.Model], lock: bool = False
):
    """The canonical record a system knows by ``external_id``, or None."""
    object_id = (
        ExternalRef.objects.filter(system=system, entity_type=entity_type, external_id=external_id)
        .values_list("object_id", flat=True)
        .first()
    )
    if object_id is None:
        return None
    queryset = model.objects.select_for_update() if lock else model.objects
    return queryset.filter(pk=object_id).first()


def external_ref_resolve(*, system: System, entity_type: str, external_id: str, model: type[models.Model]):
    """Like external_ref_find, but an unknown id is an error naming the system and id."""
    found = external_ref_find(system=system, entity_type=entity_type, external_id=external_id, model=model)
    if found is None:
        raise unknown_reference(system=system, entity_type=entity_type, external_id=external_id)
    return found


def unknown_reference(*, system: System, entity_type: str, external_id: str) -> UnknownReference:
    return UnknownReference(
        f"System '{system.code}' has no {entity_type} with external id '{external_id}'.",
        system=system.code,
        entity_type=entity_type,
        external_id=external_id,
    )


def external_ref_bind(*, system: System, entity_type: str, external_id: str, object_id: int) -> ExternalRef:
    ref, _ = ExternalRef.objects.get_or_create(
        system=system, entity_type=entity_type, external_id=external_id, defaults={"object_id": object_id}
    )
    return ref


def external_refs_for(*, entity_type: str, object_ids) -> dict[int, list[dict]]:
    """{object_id: [{"system": code, "external_id": id}, ...]} for many records in one query."""
    result: dict[int, list[dict]] = {}
    rows = (
        ExternalRef.objects.filter(entity_type=entity_type, object_id__in=list(object_ids))
        .order_by("system__code", "external_id")
        .values_list("object_id", "system__code", "external_id")
    )
    for object_id, system_code, external_id in rows:
        result.setdefault(object_id, []).append({"system": system_code, "external_id": external_id})
    return result


def changed_fields(instance: models.Model, values: dict) -> dict:
    """Apply ``values`` to ``instance``; return {field: [old, new]} for those that changed."""
    changes = {}
    for name, new in values.items():
        old = getattr(instance, name)
        if old != new:
            changes[name] = [_jsonable(old), _jsonable(new)]
            setattr(instance, name, new)
    return changes


def _jsonable(value):
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
