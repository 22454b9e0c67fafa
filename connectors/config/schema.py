"""The JSON Schema of a hub configuration document, and which model fields each section manages."""

from __future__ import annotations

from canonical.models import Domain, SystemKind
from connectors.models import AuthType, Direction, MappingDirection, PayloadFormat

FORMAT_VERSION = 1

# An encrypted ('enc:…') secret is never exported. Its place holds this marker, which means "keep
# the encrypted value this hub already has"; apply refuses it where the hub has none to keep.
ENCRYPTED_PLACEHOLDER = "<encrypted>"

SECRET_PATTERN = rf"^$|^env:[A-Za-z_][A-Za-z0-9_]*$|^{ENCRYPTED_PLACEHOLDER}$"

# Model fields each section manages, in document order. Anything else on the model is runtime
# state (circuit breaker, paused by an operator, timestamps) that configuration leaves alone.
SYSTEM_FIELDS = ("code", "name", "kind", "description", "is_active")
SYSTEM_OF_RECORD_FIELDS = ("domain", "system", "notes")
MAPPING_FIELDS = ("name", "version", "direction", "connector", "message_type", "description", "is_active", "spec")
CONNECTOR_FIELDS = (
    "code", "name", "system", "kind", "direction", "base_url", "settings",
    "auth_type", "auth_username", "auth_header_name", "secret_ref", "signing_secret_ref",
    "timeout_seconds", "max_attempts", "backoff_base_seconds", "backoff_cap_seconds", "backoff_jitter",
    "rate_limit_per_second", "breaker_failure_threshold", "breaker_cooldown_seconds",
    "verify_inbound_signature", "signature_tolerance_seconds", "message_id_header", "message_id_field",
    "process_inbound_async", "enabled",
)
SUBSCRIPTION_FIELDS = (
    "connector", "name", "event_types", "filters", "ordered", "payload_format", "mapping", "path", "is_active",
)

_string = {"type": "string"}
_slug = {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$", "minLength": 1}
_positive_number = {"type": "number", "exclusiveMinimum": 0}
_count = {"type": "integer", "minimum": 0}


def _choices(values) -> dict:
    return {"type": "string", "enum": [str(v) for v in values]}


def _object(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


SCHEMA: dict = _object(
    {
        "version": {"const": FORMAT_VERSION},
        "systems": {"type": "array", "items": _object({
            "code": {**_slug, "maxLength": 40},
            "name": {**_string, "minLength": 1, "maxLength": 120},
            "kind": _choices(SystemKind.values),
            "description": _string,
            "is_active": {"type": "boolean"},
        }, ["code", "name", "kind"])},
        "system_of_record": {"type": "array", "items": _object({
            "domain": _choices(Domain.values),
            "system": _slug,
            "notes": _string,
        }, ["domain", "system"])},
        "mappings": {"type": "array", "items": _object({
            "name": {**_slug, "maxLength": 80},
            "version": {"type": "integer", "minimum": 1},
            "direction": _choices(MappingDirection.values),
            "connector": {"oneOf": [{"type": "null"}, _slug]},
            "message_type": {**_string, "maxLength": 80},
            "description": _string,
            "is_active": {"type": "boolean"},
            "spec": {"type": ["object", "array"]},
        }, ["name", "version", "direction", "spec"])},
        "connectors": {"type": "array", "items": _object({
            "code": {**_slug, "maxLength": 60},
            "name": {**_string, "minLength": 1, "maxLength": 120},
            "system": _slug,
            "kind": {**_slug, "maxLength": 30},
            "direction": _choices(Direction.values),
            "base_url": {**_string, "maxLength": 500},
            "settings": {"type": "object"},
            "auth_type": _choices(AuthType.values),
            "auth_username": {**_string, "maxLength": 120},
            "auth_header_name": {**_string, "maxLength": 80},
            "secret_ref": {**_string, "pattern": SECRET_PATTERN},
            "signing_secret_ref": {**_string, "pattern": SECRET_PATTERN},
            "timeout_seconds": _positive_number,
            "max_attempts": {"type": "integer", "minimum": 1},
            "backoff_base_seconds": {"type": "number", "minimum": 0},
            "backoff_cap_seconds": {"type": "number", "minimum": 0},
            "backoff_jitter": {"type": "boolean"},
            "rate_limit_per_second": {"oneOf": [{"type": "null"}, _positive_number]},
            "breaker_failure_threshold": {"type": "integer", "minimum": 1},
            "breaker_cooldown_seconds": _count,
            "verify_inbound_signature": {"type": "boolean"},
            "signature_tolerance_seconds": _count,
            "message_id_header": {**_string, "maxLength": 80},
            "message_id_field": {**_string, "maxLength": 200},
            "process_inbound_async": {"type": "boolean"},
            "enabled": {"type": "boolean"},
        }, ["code", "name", "system", "kind"])},
        "subscriptions": {"type": "array", "items": _object({
            "connector": _slug,
            "name": {**_string, "minLength": 1, "maxLength": 120},
            "event_types": {"type": "array", "minItems": 1, "items": {**_string, "minLength": 1}},
            "filters": {"type": "object"},
            "ordered": {"type": "boolean"},
            "payload_format": _choices(PayloadFormat.values),
            "mapping": {"oneOf": [{"type": "null"}, _object({
                "name": _slug, "version": {"type": "integer", "minimum": 1},
            }, ["name", "version"])]},
            "path": {**_string, "maxLength": 300},
            "is_active": {"type": "boolean"},
        }, ["connector", "name", "event_types"])},
    },
    ["version"],
)
