"""The inbound message types: each with its JSON Schema (a file in schemas/), description, example and handler."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from canonical.context import Actor
from canonical.models import System

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


@dataclass
class HandlerContext:
    """What a handler works with. Handlers put the business records they touch in ``links``
    (customer, order, shipment, invoice, purchase_order, supplier) as soon as they know them,
    so that a failure's exception links them too. A link may also be a function returning the
    record (or None): it is only called when the message fails, so the success path does not pay
    for lookups that only an exception needs."""

    system: System
    actor: Actor
    message_id: int
    links: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None


@dataclass(frozen=True)
class HandlerResult:
    status_code: int
    result: dict


Handler = Callable[[HandlerContext, dict], HandlerResult]


@dataclass(frozen=True)
class MessageType:
    name: str
    handler: Handler

    @cached_property
    def schema(self) -> dict:
        return json.loads((SCHEMA_DIR / f"{self.name}.json").read_text())

    @cached_property
    def validator(self) -> Draft202012Validator:
        return schema_validator(self.schema)

    @property
    def description(self) -> str:
        return self.schema.get("description", "")

    @property
    def example(self) -> dict:
        return self.schema["examples"][0]

    @property
    def senders(self) -> list[str]:
        return list(self.schema.get("x-senders", []))


# RFC 3339 date-time, as JSON Schema's "date-time" format means it: a date, "T" (or a space), a time
# and an offset. jsonschema checks this format only when the rfc3339-validator package is there; without
# it, "2026-12-06" and a time without an offset passed (and were then read as UTC).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.(\d+))?(?:[Zz]|[+-]\d{2}:\d{2})")
_FORMATS = FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _rfc3339_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the format applies to strings; "type" says what else is refused
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    fraction = match.group(1) or ""
    text = value.upper().replace("Z", "+00:00")
    if len(fraction) > 6:  # finer than microseconds: valid, but datetime takes at most six digits
        text = text.replace(fraction, fraction[:6], 1)
    datetime.fromisoformat(text)  # ValueError for a date or time that does not exist (02-30, 25:00)
    return True


def schema_validator(schema: dict) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_FORMATS)


def schema_errors(validator: Draft202012Validator, document: Any, *, label: str = "") -> list[dict]:
    """Every violation of the schema, each named by the JSON pointer of the offending (or missing) field."""
    errors = []
    for error in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        base = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path)
        instance = error.instance
        if error.validator == "required" and isinstance(instance, dict):
            for name in error.validator_value:
                if name not in instance:
                    errors.append(_entry(f"{base}/{name}", "This field is required.", label))
        elif error.validator == "additionalProperties" and isinstance(instance, dict):
            known = set(error.schema.get("properties", {}))
            for name in sorted(set(instance) - known):
                errors.append(_entry(f"{base}/{name}", f"Unknown field '{name}'.", label))
        else:
            errors.append(_entry(base, error.message, label))
    # jsonschema reports a missing field once per field, each error listing all of them: named once.
    unique = {(entry["pointer"], tuple(entry["messages"])): entry for entry in errors}
    return list(unique.values())


def schema_has_field(schema: dict, path: list[str]) -> bool:
    """Whether ``schema`` declares the (nested) object property at ``path``."""
    for key in path:
        properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
        if key not in properties:
            return False
        schema = properties[key]
    return True


def _entry(pointer: str, message: str, label: str) -> dict:
    entry = {"pointer": pointer or "/", "field": pointer.rsplit("/", 1)[-1] or None, "messages": [message]}
    if label:
        entry["in"] = label
    return entry


@cache
def _registry() -> dict[str, MessageType]:
    from connectors.inbound.handlers import HANDLERS

    return {name: MessageType(name=name, handler=handler) for name, handler in HANDLERS.items()}


def message_type_get(name: str) -> MessageType | None:
    return _registry().get(name)


def message_types() -> list[MessageType]:
    return sorted(_registry().values(), key=lambda t: t.name)
