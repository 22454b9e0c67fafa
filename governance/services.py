"""Writes to the governance registry: consumers and their keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    *, consumer: Consumer, name: str = "default", expires_at: datetime | None = None, actor: Actor
) -> IssuedKey:
    raw, prefix, hashed = ApiKey.generate()
    with transaction.atomic():
        key = ApiKey.objects.create(
            consumer=consumer, name=name, prefix=prefix, hashed_key=hashed, expires_at=expires_at
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
