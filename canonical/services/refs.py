"""External references and the system-of-record rule, shared by every upsert service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from canonical.errors import NaturalKeyConflict, NotSystemOfRecord, UnknownReference
from canonical.models import ExternalRef, System, SystemOfRecord
from canonical.services.prepared import select_instance


@dataclass
class UpsertResult:
    """What an upsert did: the record, whether it was new, and {field: [old, new]} for what changed."""

    instance: Any
    created: bool
    changes: dict = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)


def storable(text: str) -> bool:
    """Whether the databases can hold ``text``: no NUL character, no lone UTF-16 surrogate (JSON lets
    a partner send both; no stored id or code can contain them, so a lookup by one finds nothing).
    """
    return "\x00" not in text and (text.isascii() or not any("\ud800" <= c <= "\udfff" for c in text))


def system_get(*, code: str) -> System:
    try:
        if not storable(code):
            raise System.DoesNotExist
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
    """The canonical record a system knows by ``external_id``, or None (locked with ``lock``).

    One prepared statement: the external id and the record together (see _external_record_sql).
    """
    if not storable(external_id):  # no record can have such an id
        return None
    sql, params = _external_record_sql(system=system, entity_type=entity_type, external_id=external_id,
                                       model=model, lock=lock)
    return select_instance(model, sql, params)


def _external_record_sql(
    *, system: System, entity_type: str, external_id: str, model: type[models.Model], lock: bool,
    owner_of: str | None = None,
) -> tuple[str, list]:
    """SELECT the record ``system`` knows by ``external_id`` (FOR UPDATE of it alone with ``lock``).

    With ``owner_of`` (a domain) the row also carries ``hub_domain_owner_id``, that domain's
    system of record.
    """
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    meta, ref, sor = model._meta, ExternalRef._meta, SystemOfRecord._meta
    columns = ", ".join(f"t.{quote(field.column)}" for field in meta.concrete_fields)
    owner, params = "", []
    if owner_of is not None:
        owner = (f", (SELECT o.{quote(sor.get_field('system').column)} FROM {quote(sor.db_table)} o "
                 f"WHERE o.{quote(sor.get_field('domain').column)} = %s) AS hub_domain_owner_id")
        params.append(owner_of)
    sql = (
        f"SELECT {columns}{owner} FROM {quote(meta.db_table)} t WHERE t.{quote(meta.pk.column)} IN ("
        f"SELECT r.{quote(ref.get_field('object_id').column)} FROM {quote(ref.db_table)} r "
        f"WHERE r.{quote(ref.get_field('system').column)} = %s AND r.{quote(ref.get_field('entity_type').column)} = %s "
        f"AND r.{quote(ref.get_field('external_id').column)} = %s)"
    )
    params += [system.pk, entity_type, external_id]
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE OF t" if connection.features.has_select_for_update_of else " FOR UPDATE"
    return sql, params


def external_record_lock(
    *, system: System, entity_type: str, external_id: str, model: type[models.Model], owner_of: str | None = None
):
    """The record ``system`` knows by ``external_id``, locked until the transaction ends, or None.

    One statement (plain SQL: the ORM's subquery compilation costs more than the query, and this
    runs on every milestone a warehouse reports): the external id, the row and its lock. With
    ``owner_of`` (a domain) the same statement reads that domain's system of record, and a
    system that does not own it is refused as system_of_record_assert refuses it, known id or
    not, before anything else is said about the record.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("external_record_lock must run inside transaction.atomic(); the lock lasts until it ends.")
    if not storable(external_id):  # no record can have such an id
        record = None
    else:
        sql, params = _external_record_sql(system=system, entity_type=entity_type, external_id=external_id,
                                           model=model, lock=True, owner_of=owner_of)
        record = select_instance(model, sql, params, extra=("hub_domain_owner_id",) if owner_of is not None else ())
    if owner_of is not None and (record is None or record.hub_domain_owner_id != system.pk):
        system_of_record_assert(system=system, domain=owner_of)  # refuses, naming the owner
    return record


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


def keyed_record_upsert(
    *,
    system: System,
    external_id: str,
    entity_type: str,
    model: type[models.Model],
    natural_key: str,
    data: dict,
) -> UpsertResult:
    """Create or update the record ``system`` knows as ``external_id``; the caller holds the transaction.

    An unknown external id whose natural key (a SKU, a code) the hub already has is
    linked to that record instead of creating a second one, unless the same system
    already knows that record by another id: two ids from one system for one record
    is a mistake on the sender's side, so it is refused naming the id in use.
    A change of natural key to one another record holds is refused the same way.
    """
    key_value = data[natural_key]
    record = external_ref_find(system=system, entity_type=entity_type, external_id=external_id, model=model, lock=True)
    if record is None:
        record = model.objects.select_for_update(of=("self",)).order_by().filter(**{natural_key: key_value}).first()
        if record is not None:
            known_as = (
                ExternalRef.objects.filter(system=system, entity_type=entity_type, object_id=record.pk)
                .values_list("external_id", flat=True)
                .first()
            )
            if known_as is not None:
                raise NaturalKeyConflict(
                    f"{entity_type} {natural_key} '{key_value}' is already known to system '{system.code}' "
                    f"as external id '{known_as}'; send updates to that id.",
                    **{natural_key: key_value, "existing_external_id": known_as, "id": record.pk},
                )
    elif getattr(record, natural_key) != key_value:
        holder = model.objects.filter(**{natural_key: key_value}).exclude(pk=record.pk).values_list("pk", flat=True)
        holder_id = holder.first()
        if holder_id is not None:
            raise NaturalKeyConflict(
                f"Cannot change {natural_key} of {entity_type} {record.pk} to '{key_value}': "
                f"{entity_type} {holder_id} already has it.",
                **{natural_key: key_value, "id": holder_id},
            )

    if record is None:
        record = model(**data)
        record.save()
        external_ref_bind(system=system, entity_type=entity_type, external_id=external_id, object_id=record.pk)
        return UpsertResult(instance=record, created=True)
    changes = changed_fields(record, data)
    if changes:
        record.save()
    external_ref_bind(system=system, entity_type=entity_type, external_id=external_id, object_id=record.pk)
    return UpsertResult(instance=record, created=False, changes=changes)
