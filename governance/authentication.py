"""API-key authentication for partner systems (``Authorization: Bearer <key>`` or ``X-API-Key``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from canonical.models import System
from canonical.services.prepared import Read, columns_of, instance_fields, instances_of, reads_together
from governance.models import ApiKey, Consumer

# last_used_at is written at most this often per key, so reads do not each cost a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ConsumerPrincipal:
    """``request.user`` for a call made with an API key: the partner application and its system."""

    consumer: Consumer
    system: System

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    @property
    def username(self) -> str:
        return f"consumer:{self.consumer.name}"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return self.username


def raw_key_from(request) -> str | None:
    """The API key the request carries, as sent; None when it carries none."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    value = request.META.get("HTTP_X_API_KEY", "").strip()
    return value or None


@functools.cache
def _key_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT {columns_of(ApiKey, 'k')}, {columns_of(Consumer, 'c')}, {columns_of(System, 's')} "
        f"FROM {quote(ApiKey._meta.db_table)} k JOIN {quote(Consumer._meta.db_table)} c ON c.id = k.consumer_id "
        f"JOIN {quote(System._meta.db_table)} s ON s.id = c.system_id WHERE k.prefix = %s"
    )


def api_key_read(prefix: str) -> Read:
    """The statement that finds the key with ``prefix`` (its consumer and the consumer's system loaded), or None."""
    return Read(_key_sql(connection.vendor), [prefix], instance_fields(ApiKey, Consumer, System), answer=_key_of)


def _key_of(rows: list[tuple]) -> ApiKey | None:
    if not rows:
        return None
    key, consumer, system = instances_of(rows[0], ApiKey, Consumer, System)
    ApiKey._meta.get_field("consumer").set_cached_value(key, consumer)
    Consumer._meta.get_field("system").set_cached_value(consumer, system)
    return key


def key_prefix(raw: str) -> str:
    """The prefix of a raw key ``hub_<prefix>_<secret>``; AuthenticationFailed when it is not in that form."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "hub":
        raise exceptions.AuthenticationFailed("The API key is not in the form hub_<prefix>_<secret>.")
    return parts[1]


_UNREAD = object()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    www_authenticate_realm = "hub"

    def authenticate(self, request, *, key=_UNREAD):
        """``key``: api_key_read's answer for the request's key, when the caller has read it."""
        raw = raw_key_from(request)
        if raw is None:
            return None
        prefix = key_prefix(raw)
        if key is _UNREAD:
            [key] = reads_together(api_key_read(prefix))
        if key is None or not key.matches(raw):
            raise exceptions.AuthenticationFailed("The API key is not known.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("The API key has been revoked.")
        now = timezone.now()
        if key.expires_at is not None and key.expires_at <= now:
            raise exceptions.AuthenticationFailed(f"The API key expired at {key.expires_at.isoformat()}.")
        if not key.consumer.is_active:
            raise exceptions.AuthenticationFailed("The consumer for this API key is disabled.")
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ConsumerPrincipal(consumer=key.consumer, system=key.consumer.system), key

    def authenticate_header(self, request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "governance.authentication.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyAuth"]

    def get_security_requirement(self, auto_schema):
        # Either header carries the key: two alternatives, not one requirement naming both (which
        # OpenAPI reads as "send both", and generated clients would).
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer hub_<prefix>_<secret>"},
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        ]
