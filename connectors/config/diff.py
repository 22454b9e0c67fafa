"""The difference between a configuration document and the hub's tables: what apply would create,
update (field by field, old → new) or leave unchanged, after the checks a schema cannot make
(references between sections, event type patterns, mapping specs, secrets, model field rules).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from canonical.events import EVENT_TYPES
from canonical.models import System, SystemOfRecord
from connectors.config.loader import ConfigError, ConfigInvalid, Document
from connectors.config.schema import (
    CONNECTOR_FIELDS,
    ENCRYPTED_PLACEHOLDER,
    MAPPING_FIELDS,
    SUBSCRIPTION_FIELDS,
    SYSTEM_FIELDS,
    SYSTEM_OF_RECORD_FIELDS,
)
from connectors.models import Connector, Mapping, MappingDirection, PayloadFormat, Subscription
from connectors.secrets import ENC_PREFIX, secret_mask

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
SECRET_FIELDS = ("secret_ref", "signing_secret_ref")


@dataclass
class FieldChange:
    name: str
    old: Any
    new: Any


@dataclass
class Change:
    kind: str
    key: str
    action: str
    values: dict[str, Any]
    fields: list[FieldChange] = field(default_factory=list)
    instance: models.Model | None = None


@dataclass
class Plan:
    changes: list[Change]
    unmanaged: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return any(change.action != UNCHANGED for change in self.changes)

    def count(self, action: str) -> int:
        return sum(change.action == action for change in self.changes)

    def summary(self, *, applied: bool = False) -> str:
        if applied:
            return f"{self.count(CREATE)} created, {self.count(UPDATE)} updated, {self.count(UNCHANGED)} unchanged."
        return (f"{self.count(CREATE)} to create, {self.count(UPDATE)} to update, "
                f"{self.count(UNCHANGED)} unchanged.")

    def lines(self) -> list[str]:
        out = []
        for change in self.changes:
            if change.action == CREATE:
                out.append(f"+ create {change.kind} {change.key}")
            elif change.action == UPDATE:
                out.append(f"~ update {change.kind} {change.key}")
                out += [f"    {f.name}: {_show(f.name, f.old)} → {_show(f.name, f.new)}" for f in change.fields]
            else:
                out.append(f"= unchanged {change.kind} {change.key}")
        out += [f"· only in the hub, left as it is: {label}" for label in self.unmanaged]
        return out


def _show(name: str, value: Any) -> str:
    if name in SECRET_FIELDS and isinstance(value, str):
        return repr(secret_mask(value))
    text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass
class Section:
    name: str
    kind: str
    model: type[models.Model]
    fields: tuple[str, ...]
    key: Callable[[dict], Any]
    label: Callable[[Any], str]
    references: dict[str, Callable[[models.Model], Any]]  # field → the key of what the row points to now


def _mapping_ref(subscription: Subscription):
    mapping = subscription.mapping
    return {"name": mapping.name, "version": mapping.version} if mapping else None


SECTIONS = (
    Section("systems", "system", System, SYSTEM_FIELDS, key=lambda i: i["code"], label=str, references={}),
    Section("system_of_record", "system of record", SystemOfRecord, SYSTEM_OF_RECORD_FIELDS,
            key=lambda i: i["domain"], label=str, references={"system": lambda o: o.system.code}),
    Section("connectors", "connector", Connector, CONNECTOR_FIELDS, key=lambda i: i["code"], label=str,
            references={"system": lambda o: o.system.code}),
    Section("mappings", "mapping", Mapping, MAPPING_FIELDS, key=lambda i: (i["name"], i["version"]),
            label=lambda k: f"{k[0]} v{k[1]}",
            references={"connector": lambda o: o.connector.code if o.connector_id else None}),
    Section("subscriptions", "subscription", Subscription, SUBSCRIPTION_FIELDS,
            key=lambda i: (i["connector"], i["name"]), label=lambda k: f"{k[0]}: {k[1]}",
            references={"connector": lambda o: o.connector.code, "mapping": _mapping_ref}),
)


def _existing(section: Section) -> dict[Any, models.Model]:
    rows = section.model.objects.all()
    if section.model is SystemOfRecord:
        return {row.domain: row for row in rows.select_related("system")}
    if section.model is Mapping:
        return {(row.name, row.version): row for row in rows.select_related("connector")}
    if section.model is Connector:
        return {row.code: row for row in rows.select_related("system")}
    if section.model is Subscription:
        return {(row.connector.code, row.name): row for row in rows.select_related("connector", "mapping")}
    return {row.code: row for row in rows}


def _desired(section: Section, item: dict, name: str) -> Any:
    if name in section.references:
        return item.get(name)
    model_field = section.model._meta.get_field(name)
    value = item[name] if name in item else model_field.get_default()
    if isinstance(model_field, models.JSONField) or value is None:
        return value
    return model_field.to_python(value)


def _current(section: Section, row: models.Model, name: str) -> Any:
    if name in section.references:
        return section.references[name](row)
    return getattr(row, name)


class _Checker:
    """Collects the errors of the checks that need the database or other sections."""

    def __init__(self, document: Document):
        self.document = document
        self.errors: list[ConfigError] = []
        data = document.data
        self.systems = {i["code"] for i in data.get("systems", [])} | set(System.objects.values_list("code", flat=True))
        self.connectors = {i["code"] for i in data.get("connectors", [])} | set(
            Connector.objects.values_list("code", flat=True))
        self.mappings = {(i["name"], i["version"]) for i in data.get("mappings", [])} | set(
            Mapping.objects.values_list("name", "version"))
        # Active inbound mappings the document leaves alone still occupy their (connector, type) slot.
        in_document = {(i["name"], i["version"]) for i in data.get("mappings", [])}
        self.inbound_slots = {
            (code, message_type): (name, version)
            for name, version, code, message_type in Mapping.objects.filter(
                direction=MappingDirection.INBOUND, is_active=True, connector__isnull=False
            ).values_list("name", "version", "connector__code", "message_type")
            if (name, version) not in in_document
        }
        # Connectors whose messages arrive in the partner's shape: their message id field is the partner's.
        self.mapped_connectors = {code for code, _ in self.inbound_slots} | {
            i["connector"] for i in data.get("mappings", [])
            if i["direction"] == MappingDirection.INBOUND and i.get("is_active", True) and i.get("connector")
        }

    def add(self, path, message: str) -> None:
        self.errors.append(self.document.error(path, message))

    def item(self, section: Section, index: int, item: dict, existing: models.Model | None) -> None:
        path = (section.name, index)
        if section.name in ("connectors", "system_of_record") and item["system"] not in self.systems:
            self.add((*path, "system"), f"no system '{item['system']}' in the document or the hub")
        if section.name == "connectors":
            for name in SECRET_FIELDS:
                if item.get(name) == ENCRYPTED_PLACEHOLDER and not (
                    existing is not None and getattr(existing, name).startswith(ENC_PREFIX)
                ):
                    self.add((*path, name), f"'{ENCRYPTED_PLACEHOLDER}' keeps an encrypted secret this hub "
                                            "already has, and it has none here: set the secret in the admin, "
                                            "or give 'env:VARIABLE_NAME'")
            self._kind(path, item)
            self._message_id_field(path, item)
        if section.name == "subscriptions":
            self._subscription(path, item)
        if section.name == "mappings":
            self._mapping(path, item, existing)

    def _kind(self, path, item: dict) -> None:
        from connectors.kinds import KINDS as kinds

        if item["kind"] not in kinds:
            self.add((*path, "kind"), f"unknown connector kind '{item['kind']}' (known: {', '.join(sorted(kinds))})")

    def _message_id_field(self, path, item: dict) -> None:
        """A body field for the sender's message id must be one the message types' schemas accept,
        or every message would be refused as an unknown field and none could be de-duplicated."""
        pointer = item.get("message_id_field")
        if not pointer or item["code"] in self.mapped_connectors:
            return
        from connectors.inbound.registry import message_types, schema_has_field
        from connectors.mapping import pointers

        try:
            tokens = pointers.parse(pointer)
        except ValueError as exc:
            self.add((*path, "message_id_field"), str(exc))
            return
        refusing = [t.name for t in message_types() if not schema_has_field(t.schema, [t.key for t in tokens])]
        if not tokens or refusing:
            self.add((*path, "message_id_field"),
                     f"'{pointer}' is not a field of the hub's inbound messages ({', '.join(refusing) or 'the whole body'}"
                     " would be refused); their schemas take the sender's id as '/message_id'. A connector with an "
                     "inbound mapping may name a field of the partner's shape.")

    def _subscription(self, path, item: dict) -> None:
        if item["connector"] not in self.connectors:
            self.add((*path, "connector"), f"no connector '{item['connector']}' in the document or the hub")
        for index, pattern in enumerate(item["event_types"]):
            if not any(fnmatch.fnmatchcase(event_type, pattern) for event_type in EVENT_TYPES):
                self.add((*path, "event_types", index), f"'{pattern}' matches no business event type")
        mapping = item.get("mapping")
        if mapping and (mapping["name"], mapping["version"]) not in self.mappings:
            self.add((*path, "mapping"), f"no mapping {mapping['name']} v{mapping['version']} in the document "
                                         "or the hub")
        if item.get("payload_format") == PayloadFormat.MAPPED and not mapping:
            self.add((*path, "mapping"), "a subscription with payload_format 'mapped' needs a mapping")

    def _mapping(self, path, item: dict, existing: models.Model | None) -> None:
        connector = item.get("connector")
        if connector and connector not in self.connectors:
            self.add((*path, "connector"), f"no connector '{connector}' in the document or the hub")
        if item["direction"] == MappingDirection.INBOUND:
            if not connector:
                self.add((*path, "connector"), "an inbound mapping names the connector whose messages it translates")
            if not item.get("message_type"):
                self.add((*path, "message_type"), "an inbound mapping names the message type it translates")
            elif connector and item.get("is_active", True):
                slot = (connector, item["message_type"])
                other = self.inbound_slots.setdefault(slot, (item["name"], item["version"]))
                if other != (item["name"], item["version"]):
                    self.add((*path, "message_type"), f"mapping {other[0]} v{other[1]} already translates "
                                                      f"{slot[1]} messages of connector {connector}; deactivate one")
        if existing is not None and existing.spec != item["spec"]:
            self.add((*path, "spec"), f"mapping {item['name']} v{item['version']} already exists with another "
                                      f"spec; mappings are versioned: add it as version {item['version'] + 1}")
        from connectors.mapping.engine import spec_problems

        for problem in spec_problems(item["spec"]):
            self.add((*path, "spec"), problem)

    def model_fields(self, section: Section, index: int, row: models.Model) -> None:
        try:
            row.clean_fields(exclude=list(section.references))
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add((section.name, index, name), " ".join(messages))


def config_plan(document: Document) -> Plan:
    """What applying ``document`` would change; raises ConfigInvalid naming line and field."""
    checker = _Checker(document)
    changes: list[Change] = []
    unmanaged: list[str] = []
    for section in SECTIONS:
        existing = _existing(section)
        seen: dict[Any, int] = {}
        for index, item in enumerate(document.data.get(section.name, [])):
            key = section.key(item)
            if key in seen:
                checker.add((section.name, index), f"{section.kind} {section.label(key)} is already given "
                                                   f"at line {document.line((section.name, seen[key]))}")
                continue
            seen[key] = index
            row = existing.get(key)
            checker.item(section, index, item, row)
            values = {name: _desired(section, item, name) for name in section.fields}
            for name in SECRET_FIELDS:
                if values.get(name) == ENCRYPTED_PLACEHOLDER and row is not None:
                    values[name] = getattr(row, name)
            candidate = section.model(**{n: v for n, v in values.items() if n not in section.references})
            checker.model_fields(section, index, candidate)
            if row is None:
                changes.append(Change(section.kind, section.label(key), CREATE, values))
                continue
            diffs = [FieldChange(name, _current(section, row, name), values[name]) for name in section.fields
                     if _current(section, row, name) != values[name]]
            changes.append(Change(section.kind, section.label(key), UPDATE if diffs else UNCHANGED, values,
                                  diffs, row))
        unmanaged += [f"{section.kind} {section.label(key)}" for key in existing if key not in seen]
    if checker.errors:
        raise ConfigInvalid(checker.errors, document.source)
    return Plan(changes, unmanaged)
