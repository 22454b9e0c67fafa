"""JSON Schemas for the canonical business events, generated from the payloads the hub has recorded.

The hub's services build event payloads in code, so the schema is inferred from recent events
of each type: every property seen, with the JSON types seen for it; a property present in every
sample is required. Content models stay open, so a payload that gains a field stays compatible.
"""

from __future__ import annotations

from typing import Any

from canonical.models import BusinessEvent

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def infer_schema(samples: list[Any]) -> dict:
    """The narrowest schema (types, properties, items) that every sample satisfies."""
    types = {_json_type(s) for s in samples}
    if {"integer", "number"} <= types:
        types.discard("integer")
    schema: dict[str, Any] = {"type": sorted(types)[0] if len(types) == 1 else sorted(types)}
    objects = [s for s in samples if isinstance(s, dict)]
    if objects:
        names = sorted({name for obj in objects for name in obj})
        schema["properties"] = {name: infer_schema([obj[name] for obj in objects if name in obj]) for name in names}
        required = [name for name in names if all(name in obj for obj in objects)]
        if required:
            schema["required"] = required
    arrays = [s for s in samples if isinstance(s, list)]
    items = [item for array in arrays for item in array]
    if items:
        schema["items"] = infer_schema(items)
    return schema


def infer_payload_schema(event_type: str, *, sample_size: int = 200) -> dict | None:
    """The generated schema of one event type's payload, or None when no event of the type is recorded."""
    payloads = list(
        BusinessEvent.objects.filter(event_type=event_type).order_by("-id").values_list("payload", flat=True)[
            :sample_size]
    )
    if not payloads:
        return None
    schema = infer_schema(payloads)
    return {"$schema": SCHEMA_DIALECT, "title": f"{event_type} payload", **schema}
