"""What staff do to a connector's operation: pause it (its deliveries wait, they are not failed),
resume it, and record configuration changes made in the admin.
"""

from __future__ import annotations

from django.db import transaction

from canonical.context import Actor
from canonical.services.events import audit_record
from connectors.models import Connector
from connectors.secrets import secret_mask

# Runtime state, not configuration: left out of the audit snapshot.
_RUNTIME_FIELDS = ("id", "created_at", "updated_at", "breaker_state", "breaker_failures", "breaker_opened_at",
                   "breaker_probe_until")


def connector_snapshot(connector: Connector) -> dict:
    """The connector's configuration for the audit log, with encrypted secrets masked."""
    snapshot = {}
    for model_field in Connector._meta.concrete_fields:
        if model_field.name in _RUNTIME_FIELDS:
            continue
        value = model_field.value_from_object(connector)
        if model_field.name in ("secret_ref", "signing_secret_ref"):
            value = secret_mask(value)
        snapshot[model_field.attname if model_field.is_relation else model_field.name] = value
    return snapshot


def _set_paused(*, connector: Connector | int, actor: Actor, paused: bool) -> bool:
    pk = connector.pk if isinstance(connector, Connector) else connector
    with transaction.atomic():
        locked = Connector.objects.select_for_update().get(pk=pk)
        if locked.paused == paused:
            return False
        locked.paused = paused
        # The dispatcher reads the flag on every claim, so this takes effect without a restart.
        locked.save(update_fields=["paused", "updated_at"])
        audit_record(
            actor=actor, action="connector.paused" if paused else "connector.resumed", object_type="connector",
            object_id=pk, before={"paused": not paused}, after={"paused": paused},
        )
    return True


def connector_pause(*, connector: Connector | int, actor: Actor) -> bool:
    """Pause a connector; True if it was running. Its deliveries wait without spending attempts."""
    return _set_paused(connector=connector, actor=actor, paused=True)


def connector_resume(*, connector: Connector | int, actor: Actor) -> bool:
    """Resume a paused connector; True if it was paused."""
    return _set_paused(connector=connector, actor=actor, paused=False)


def connector_changes_record(*, connector: Connector, actor: Actor, before: dict | None) -> None:
    """Audit a configuration change saved in the admin (secrets masked)."""
    audit_record(
        actor=actor, action="connector.changed" if before is not None else "connector.created",
        object_type="connector", object_id=connector.pk, before=before, after=connector_snapshot(connector),
    )
