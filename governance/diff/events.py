"""Compatibility of event-contract JSON Schemas under BACKWARD, FORWARD, FULL and NONE (optionally transitive).

The terms are Confluent Schema Registry's:

- BACKWARD: consumers using the NEW schema can read data written with the OLD one. The new schema
  is the reader, the old one the writer: everything the old schema allowed must still be valid.
  Breaks: a required field added without a default, a field that becomes required, a type or
  format narrowed or changed, null no longer allowed, an enum value removed or an enum introduced,
  a constraint tightened, additionalProperties closed, a oneOf/anyOf alternative removed, a field
  removed while the new schema forbids unknown fields (additionalProperties: false).
- FORWARD: consumers using the OLD schema can read data written with the NEW one. The old schema
  is the reader: everything the new schema allows must have been valid before.
  Breaks: a required field removed, a field that becomes optional, a type or format widened or
  changed, null newly allowed, an enum value added or the enum dropped, a constraint loosened,
  additionalProperties opened, an alternative added, a field added while the old schema forbade
  unknown fields.
- FULL: both of the above. NONE: nothing is refused; every change is still listed as info.
- TRANSITIVE: the new schema is checked against every earlier version, not only the latest.

JSON Schema's open content model (additionalProperties absent or true) has one subtlety: when a
field is added (BACKWARD) or removed (FORWARD) and the writer's schema was open, data written
earlier may already carry a field of that name with any type. Confluent refuses this
(PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL); here it is a warning by default and an error with
``strict_open_content_model=True``.

A required field added *with* a default is a warning under BACKWARD: readers that fill in
defaults cope, validating readers that do not will still reject old data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from governance.diff.document import Resolver
from governance.diff.findings import Direction, Finding, Location, Severity, sort_findings
from governance.diff.schemas import SchemaChange, SchemaDiffer

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


class CompatibilityMode(StrEnum):
    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"
    FULL = "FULL"
    NONE = "NONE"

    @classmethod
    def parse(cls, value: Any) -> tuple[CompatibilityMode, bool]:
        """'BACKWARD', 'full_transitive', CompatibilityMode.FORWARD... -> (mode, transitive)."""
        text = str(value).strip().upper()
        transitive = text.endswith("_TRANSITIVE")
        base = text.removesuffix("_TRANSITIVE")
        try:
            return cls(base), transitive
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"Unknown compatibility mode '{value}'; use one of {allowed} (optionally _TRANSITIVE).") from None


# For each change: (check id, severity under BACKWARD, severity under FORWARD). ``None`` means the
# change is harmless in that mode. Checks that depend on facts are resolved in _judge.
_TABLE: dict[str, tuple[str, Severity | None, Severity | None]] = {
    "property-became-optional": ("field-became-optional", None, E),
    "null-added": ("null-allowed", None, E),
    "null-removed": ("null-disallowed", E, None),
    "enum-values-added": ("enum-value-added", None, E),
    "enum-values-removed": ("enum-value-removed", E, None),
    "enum-added": ("enum-added", E, None),
    "enum-removed": ("enum-removed", None, E),
    "additional-properties-closed": ("content-model-closed", E, None),
    "additional-properties-opened": ("content-model-opened", None, E),
    "alternative-added": ("alternative-added", None, E),
    "alternative-removed": ("alternative-removed", E, None),
    "reference-changed": ("reference-changed", W, W),
}

_MESSAGES = {
    "field-became-optional": "Field {f} is no longer required; old readers expect it in every event.",
    "null-allowed": "Field {f} may now be null; old readers do not expect null.",
    "null-disallowed": "Field {f} no longer allows null; events written before may hold null.",
    "enum-value-added": "Field {f} has the new value(s) {new}; old readers do not know them.",
    "enum-value-removed": "Field {f} no longer allows {old}; events written before may hold them.",
    "enum-added": "Field {f} is now restricted to {new}; events written before may hold other values.",
    "enum-removed": "Field {f} is no longer restricted to {old}; old readers only know those values.",
    "content-model-closed": "{F} no longer allows undeclared fields (additionalProperties {old} -> {new}); events written before may carry some.",
    "content-model-opened": "{F} now allows undeclared fields (additionalProperties {old} -> {new}); old readers refuse them.",
    "alternative-added": "{F} may now be the new '{new}' variant (oneOf/anyOf); old readers do not know it.",
    "alternative-removed": "{F} can no longer be the '{old}' variant (oneOf/anyOf); events written before may be.",
    "reference-changed": "{F} refers to another external schema ({old} -> {new}); it was not compared.",
}


def _field(change: SchemaChange) -> str:
    return f"'{change.field}'" if change.field else "the event"


def _judge(change: SchemaChange, strict_open: bool) -> tuple[str, Severity | None, Severity | None, str]:
    """(check id, severity under BACKWARD, under FORWARD, message) for one change."""
    f, facts = _field(change), change.facts
    open_sev = E if strict_open else W
    kind, relation = change.kind, facts.get("relation")
    if kind == "property-added":
        forward = E if facts.get("old_closed") else None
        forward_note = " Old readers forbid unknown fields (additionalProperties: false) and refuse it." if forward else ""
        if facts.get("required") and not facts.get("has_default"):
            return ("required-field-added-without-default", E, forward,
                    f"Required field {f} was added without a default; events written before do not have it.{forward_note}")
        if facts.get("required"):
            return ("required-field-added-with-default", W, forward,
                    f"Required field {f} was added with a default; readers that fill in defaults cope, validating readers "
                    f"that do not will refuse events written before.{forward_note}")
        if not facts.get("old_closed"):
            return ("field-added-to-open-content-model", open_sev, None,
                    f"Field {f} was added, but the old schema allowed any undeclared field, so events written before may "
                    "already carry it with another type.")
        return ("field-added", None, forward, f"Optional field {f} was added.{forward_note}")
    if kind == "property-removed":
        backward = E if facts.get("new_closed") else None
        backward_note = " The new schema forbids unknown fields, so events written before that carry it are refused." if backward else ""
        if facts.get("was_required"):
            return ("field-removed", backward, E,
                    f"Required field {f} was removed; old readers expect it in every event.{backward_note}")
        if not facts.get("new_closed"):
            return ("field-removed-from-open-content-model", None, open_sev,
                    f"Optional field {f} was removed, but the new schema allows any undeclared field, so new events may "
                    "carry it with a type old readers refuse.")
        return ("field-removed", backward, None, f"Optional field {f} was removed.{backward_note}")
    if kind == "property-became-required":
        severity = W if facts.get("has_default") else E
        return ("field-became-required", severity, None,
                f"Field {f} became required; events written before may not have it.")
    if kind in ("type-changed", "format-changed"):
        noun = "type" if kind == "type-changed" else "format"
        old = " or ".join(change.old) if isinstance(change.old, list) else change.old or "none"
        new = " or ".join(change.new) if isinstance(change.new, list) else change.new or "none"
        backward = E if relation in ("narrower", "incompatible") else None
        forward = E if relation in ("wider", "incompatible") else None
        word = {"wider": "widened", "narrower": "narrowed"}.get(relation, "changed")
        consequence = {
            "wider": f"old readers expecting {old} may receive {new} values",
            "narrower": f"events written before may hold {old} values the new schema refuses",
        }.get(relation, "neither old readers nor new readers can read the other side's values")
        return (f"{noun}-{word}", backward, forward, f"The {noun} of {f} was {word} from {old} to {new}; {consequence}.")
    if kind == "bound-changed":
        keyword = facts.get("keyword")
        text = f"The {keyword} of {f} changed from {change.old} to {change.new}"
        if relation == "tighter":
            return ("constraint-tightened", E, None, f"{text}; events written before may violate it.")
        if relation == "looser":
            return ("constraint-loosened", None, E, f"{text}; new events may violate the old limit.")
        return ("constraint-changed", W, W, f"{text}; check that existing values still match.")
    check_id, backward, forward = _TABLE[kind]
    template = _MESSAGES[check_id]
    message = template.format(f=f, F=f[0].upper() + f[1:], old=change.old, new=change.new)
    return check_id, backward, forward, message


def check_schema_compatibility(
    old_schema: Mapping[str, Any],
    new_schema: Mapping[str, Any],
    mode: CompatibilityMode | str,
    *,
    strict_open_content_model: bool = False,
    against: str | None = None,
) -> list[Finding]:
    """Findings for replacing ``old_schema`` with ``new_schema`` under ``mode``.

    An error-level finding means the change breaks the mode; ``Finding.compatibility`` names the
    direction(s) it breaks ('BACKWARD', 'FORWARD' or 'BACKWARD+FORWARD'). Changes that break
    nothing in the chosen mode are info. ``mode`` may be a CompatibilityMode or its name (a
    '_TRANSITIVE' suffix is accepted and ignored here: see check_against_history).
    See the module docstring for what each mode checks.
    """
    base, _ = CompatibilityMode.parse(mode)
    checks_backward = base in (CompatibilityMode.BACKWARD, CompatibilityMode.FULL)
    checks_forward = base in (CompatibilityMode.FORWARD, CompatibilityMode.FULL)
    differ = SchemaDiffer(Resolver(old_schema), Resolver(new_schema))
    findings: list[Finding] = []
    seen: set[tuple] = set()
    for change in differ.diff(old_schema, "", new_schema, ""):
        check_id, backward, forward, message = _judge(change, strict_open_content_model)
        considered = [s for s, on in ((backward, checks_backward), (forward, checks_forward)) if on and s is not None]
        severity = min(considered, key=lambda s: s.rank) if considered else INFO
        broken = "+".join(name for name, s, on in (("BACKWARD", backward, checks_backward), ("FORWARD", forward, checks_forward))
                          if on and s == E)
        in_new = change.new_pointer is not None
        location = Location(pointer=change.new_pointer if in_new else (change.old_pointer or ""), document="new" if in_new else "old")
        if against is not None:
            message = f"{message} (against version {against})"
        key = (check_id, location, message)
        if key in seen:
            continue
        seen.add(key)
        findings.append(Finding(check_id, severity, Direction.BOTH, location, message, old=change.old, new=change.new,
                                compatibility=broken or None, against=against))
    return sort_findings(findings)


def check_against_history(
    history: Sequence[Mapping[str, Any]],
    new: Mapping[str, Any],
    mode: CompatibilityMode | str,
    transitive: bool = False,
    *,
    labels: Sequence[str] | None = None,
    strict_open_content_model: bool = False,
) -> list[Finding]:
    """Check ``new`` against the registered versions in ``history`` (oldest first).

    Not transitive: only against the latest version. Transitive (or a mode named '*_TRANSITIVE'):
    against every earlier version, so a chain of individually compatible steps cannot add up to
    an incompatible one. Each finding's ``against`` is the label of the version it concerns
    (``labels[i]``, default '1', '2', ... by position) and JSON pointers in findings located in the
    old document point into that version.
    """
    _, named_transitive = CompatibilityMode.parse(mode)
    transitive = transitive or named_transitive
    if not history:
        return []
    if labels is not None and len(labels) != len(history):
        raise ValueError("labels must name every schema in history.")
    names = list(labels) if labels is not None else [str(i + 1) for i in range(len(history))]
    indexes = range(len(history)) if transitive else [len(history) - 1]
    findings: list[Finding] = []
    for index in indexes:
        findings.extend(
            check_schema_compatibility(history[index], new, mode, strict_open_content_model=strict_open_content_model,
                                       against=names[index])
        )
    return sort_findings(findings)


def is_compatible(findings: Sequence[Finding]) -> bool:
    return not any(f.is_breaking for f in findings)
