"""Applying a configuration document: the plan's creates and updates, in one transaction, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from canonical.context import Actor
from canonical.models import System, SystemOfRecord
from canonical.services.events import audit_record
from connectors.config.diff import CREATE, UNCHANGED, Change, Plan, config_plan
from connectors.config.loader import Document, config_parse
from connectors.models import Connector, Mapping, Subscription
from connectors.secrets import secret_mask

_MODELS = {
    "system": System, "system of record": SystemOfRecord, "mapping": Mapping,
    "connector": Connector, "subscription": Subscription,
}


def _resolve(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Turn the document's references (codes, name and version) into rows; earlier sections exist now."""
    resolved = dict(values)
    if kind in ("system of record", "connector"):
        resolved["system"] = System.objects.get(code=values["system"])
    if kind == "mapping":
        resolved["connector"] = Connector.objects.get(code=values["connector"]) if values.get("connector") else None
    if kind == "subscription":
        resolved["connector"] = Connector.objects.get(code=values["connector"])
        mapping = values.get("mapping")
        resolved["mapping"] = Mapping.objects.get(name=mapping["name"], version=mapping["version"]) if mapping else None
    return resolved


def _audit_value(name: str, value: Any) -> Any:
    return secret_mask(value) if name in ("secret_ref", "signing_secret_ref") and value else value


def _apply_change(change: Change, actor: Actor, source: str) -> None:
    values = _resolve(change.kind, change.values)
    object_type = change.kind.replace(" ", "_")
    if change.action == CREATE:
        row = _MODELS[change.kind].objects.create(**values)
        audit_record(
            actor=actor, action="config.created", object_type=object_type, object_id=row.pk,
            after={name: _audit_value(name, value) for name, value in change.values.items()},
            note=f"hub_config apply {source}",
        )
        return
    row = change.instance
    for field_change in change.fields:
        setattr(row, field_change.name, values[field_change.name])
    row.save(update_fields=[f.name for f in change.fields])
    audit_record(
        actor=actor, action="config.updated", object_type=object_type, object_id=row.pk,
        before={f.name: _audit_value(f.name, f.old) for f in change.fields},
        after={f.name: _audit_value(f.name, f.new) for f in change.fields},
        note=f"hub_config apply {source}",
    )


def config_apply(*, document: Document, actor: Actor, dry_run: bool = False) -> Plan:
    """Plan and (unless ``dry_run``) apply the document; every change or none. Idempotent: a second
    apply of the same document finds everything unchanged.
    """
    with transaction.atomic():
        plan = config_plan(document)
        if not dry_run:
            for change in plan.changes:
                if change.action != UNCHANGED:
                    _apply_change(change, actor, document.source)
    return plan


def config_apply_text(*, text: str, actor: Actor, source: str = "the document", dry_run: bool = False) -> Plan:
    return config_apply(document=config_parse(text, source=source), actor=actor, dry_run=dry_run)
