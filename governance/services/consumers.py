"""Consumers (partner applications) and their API keys: create, issue, revoke, rotate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.models import System
from canonical.services.events import audit_record
from governance.models import ApiKey, Consumer


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    raw_key: str


def consumer_create(*, name: str, system: System, contact_email: str = "", actor: Actor) -> Consumer:
    with transaction.atomic():
        consumer = Consumer.objects.create(name=name, system=system, contact_email=contact_email)
        audit_record(actor=actor, action="consumer.created", object_type="consumer", object_id=consumer.pk,
                     after={"name": name, "system": system.code})
    return consumer


def api_key_issue(
    *, consumer: Consumer, name: str = "default", expires_at: datetime | None = None, actor: Actor,
    rotated_from: ApiKey | None = None,
) -> IssuedKey:
    raw, prefix, hashed = ApiKey.generate()
    with transaction.atomic():
        key = ApiKey.objects.create(
            consumer=consumer, name=name, prefix=prefix, hashed_key=hashed, expires_at=expires_at,
            rotated_from=rotated_from,
        )
        audit_record(actor=actor, action="api_key.issued", object_type="api_key", object_id=key.pk,
                     after={"consumer": consumer.name, "prefix": prefix,
                            "expires_at": expires_at.isoformat() if expires_at else None})
    return IssuedKey(key=key, raw_key=raw)


def api_key_revoke(*, key: ApiKey, actor: Actor, note: str = "") -> ApiKey:
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="api_key.revoked", object_type="api_key", object_id=key.pk,
                         after={"prefix": key.prefix}, note=note)
    return key


class KeyNotRotatable(ValueError):
    pass


DEFAULT_ROTATION_OVERLAP = timedelta(days=7)


def api_key_rotate(
    *, key: ApiKey, actor: Actor, overlap: timedelta = DEFAULT_ROTATION_OVERLAP, expires_at: datetime | None = None
) -> IssuedKey:
    """Issue a successor to ``key`` and let the old key live on only for ``overlap``.

    Both keys work during the overlap, so the partner can deploy the new key without an
    outage; the old key then expires on its own (or earlier, if it was due to expire sooner).
    """
    if overlap < timedelta(0):
        raise KeyNotRotatable("The overlap window cannot be negative.")
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().select_related("consumer").get(pk=key.pk)
        if key.state != "active":
            raise KeyNotRotatable(f"Key hub_{key.prefix}_… is {key.state}; only an active key can be rotated.")
        if ApiKey.objects.filter(rotated_from=key).exists():
            raise KeyNotRotatable(f"Key hub_{key.prefix}_… has already been rotated.")
        now = timezone.now()
        old_expiry = now + overlap
        if key.expires_at is None or key.expires_at > old_expiry:
            key.expires_at = old_expiry
            key.save(update_fields=["expires_at"])
        issued = api_key_issue(
            consumer=key.consumer, name=key.name, expires_at=expires_at, actor=actor, rotated_from=key
        )
        audit_record(actor=actor, action="api_key.rotated", object_type="api_key", object_id=key.pk,
                     after={"old_prefix": key.prefix, "new_prefix": issued.key.prefix,
                            "old_key_expires_at": key.expires_at.isoformat()})
    return issued
