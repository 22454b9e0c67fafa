"""What a schema change means for an HTTP API: check id, severity and the sentence for people.

Requests are written by clients and read by the server, so a request schema may only get wider
(accept more). Responses are written by the server and read by clients, so a response schema may
only get narrower (promise more, return less variety). Each rule below names its direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.diff.findings import Direction, Finding, Location, Severity
from governance.diff.schemas import SchemaChange

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True)
class SchemaContext:
    """Where a schema sits: request body, a parameter, a response body or a response header."""

    direction: Direction
    path: str
    method: str
    subject: str  # 'request body', 'query parameter', 'response', 'response header'
    name: str = ""  # parameter or header name
    status: str = ""  # response status code

    @property
    def operation(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def thing(self, field: str) -> str:
        if self.subject == "request body":
            return "the request body" if not field else f"request property '{field}'"
        if self.subject == "response":
            return f"the {self.status} response body" if not field else f"response property '{field}' (status {self.status})"
        if self.subject == "response header":
            base = f"response header '{self.name}' (status {self.status})"
        else:
            base = f"{self.subject} '{self.name}'"
        return base if not field else f"{base}, field '{field}'"


def _values(values: list | None) -> str:
    return ", ".join(repr(v) for v in values or [])


def _types(value) -> str:
    if isinstance(value, list):
        return " or ".join(value) if value else "nothing"
    return str(value)


def classify(change: SchemaChange, ctx: SchemaContext) -> tuple[str, Severity, str] | None:
    """(check_id, severity, message) for one schema change in its context, or None to stay silent."""
    request = ctx.direction == Direction.REQUEST
    op, thing = ctx.operation, ctx.thing(change.field)
    facts = change.facts
    kind = change.kind
    relation = facts.get("relation")

    if kind == "property-added":
        if request and facts.get("required"):
            return ("request-required-property-added", E,
                    f"{op} now requires {thing}; requests from existing clients that do not send it will be rejected.")
        if request:
            return ("request-optional-property-added", INFO, f"{op} accepts a new optional {thing}.")
        if facts.get("old_closed"):
            return ("response-property-added", W,
                    f"{op} now returns {thing}, which the old schema forbade (additionalProperties: false); "
                    "clients that validate responses strictly will reject them.")
        return ("response-property-added", INFO, f"{op} now returns {thing}.")
    if kind == "property-removed":
        if request and facts.get("new_closed"):
            return ("request-property-removed", E,
                    f"{thing} was removed from {op} and unknown properties are now refused (additionalProperties: false), "
                    "so requests from existing clients that still send it will be rejected.")
        if request:
            return ("request-property-removed", W,
                    f"{thing} was removed from {op}; existing clients still send it and it will be ignored from now on.")
        required = " (it was required, so clients rely on it)" if facts.get("was_required") else ""
        return ("response-property-removed", E, f"{op} no longer returns {thing}{required}; clients that read it will break.")
    if kind == "property-became-required":
        if request:
            return ("request-property-became-required", E,
                    f"{thing} of {op} changed from optional to required; requests from existing clients that omit it will be rejected.")
        return ("response-property-became-required", INFO, f"{op} now always returns {thing}.")
    if kind == "property-became-optional":
        if request:
            return ("request-property-became-optional", INFO, f"{thing} of {op} is now optional.")
        return ("response-property-became-optional", E,
                f"{thing} of {op} is no longer required, so responses may omit it; clients that expect it will break.")
    if kind in ("type-changed", "format-changed"):
        noun = "type" if kind == "type-changed" else "format"
        old, new = (_types(change.old), _types(change.new)) if noun == "type" else (change.old or "none", change.new or "none")
        if request and relation == "wider":
            return (f"request-{noun}-widened", W,
                    f"The {noun} of {thing} of {op} was widened from {old} to {new}; existing requests stay valid, "
                    "but code generated from the description changes.")
        if not request and relation == "narrower":
            return (f"response-{noun}-narrowed", W,
                    f"The {noun} of {thing} of {op} was narrowed from {old} to {new}; clients still parse it, "
                    "but code generated from the description changes.")
        if request:
            return (f"request-{noun}-changed", E,
                    f"The {noun} of {thing} of {op} changed from {old} to {new}; requests from existing clients will be rejected.")
        return (f"response-{noun}-changed", E,
                f"The {noun} of {thing} of {op} changed from {old} to {new}; clients that read it as {old} will break.")
    if kind == "null-added":
        if request:
            return ("request-nullable-added", INFO, f"{thing} of {op} now accepts null.")
        return ("response-nullable-added", E, f"{thing} of {op} may now be null; clients that do not expect null will break.")
    if kind == "null-removed":
        if request:
            return ("request-nullable-removed", E,
                    f"{thing} of {op} no longer accepts null; clients that send null will be rejected.")
        return ("response-nullable-removed", INFO,
                f"{thing} of {op} is never null any more; clients that handle null are unaffected.")
    if kind == "enum-values-removed":
        if request:
            return ("request-enum-value-removed", E,
                    f"{op} no longer accepts {_values(change.old)} for {thing}; clients that send it will be rejected.")
        return ("response-enum-value-removed", W,
                f"{op} no longer returns {_values(change.old)} in {thing}. Clients still parse the remaining values, "
                "but those waiting for or filtering on the removed value will never see it again.")
    if kind == "enum-values-added":
        if request:
            return ("request-enum-value-added", W,
                    f"{op} accepts the new value(s) {_values(change.new)} for {thing}. Requests from existing clients stay valid, "
                    "but values accepted in requests usually come back in responses, where clients that switch over "
                    "the known values will meet one they do not handle.")
        return ("response-enum-value-added", E,
                f"{op} may now return {_values(change.new)} in {thing}; clients that switch over the known values "
                "will meet a value they do not handle.")
    if kind == "enum-added":
        if request:
            return ("request-enum-added", E,
                    f"{thing} of {op} is now restricted to {_values(change.new)}; clients that send other values will be rejected.")
        return ("response-enum-added", INFO, f"{thing} of {op} is now documented as one of {_values(change.new)}.")
    if kind == "enum-removed":
        if request:
            return ("request-enum-removed", INFO, f"{thing} of {op} is no longer restricted to a list of values.")
        return ("response-enum-removed", E,
                f"{thing} of {op} is no longer restricted to {_values(change.old)}; clients that switch over those values "
                "will meet values they do not handle.")
    if kind == "bound-changed":
        keyword = facts.get("keyword")
        detail = f"The {keyword} of {thing} of {op} changed from {change.old} to {change.new}"
        if relation == "changed":
            return (f"{ctx.direction}-constraint-changed", W, f"{detail}; check that existing values still match.")
        if request and relation == "tighter":
            return ("request-constraint-tightened", E, f"{detail}; requests that were valid may now be rejected.")
        if request:
            return ("request-constraint-loosened", INFO, f"{detail}; more requests are accepted.")
        if relation == "looser":
            return ("response-constraint-loosened", W,
                    f"{detail}; clients that rely on the old limit (buffers, their own validation) may break.")
        return ("response-constraint-tightened", INFO, f"{detail}; responses stay within what clients expect.")
    if kind == "additional-properties-closed":
        if request:
            return ("request-additional-properties-disallowed", E,
                    f"{thing} of {op} no longer accepts undeclared properties (additionalProperties was {change.old}, "
                    f"now {change.new}); requests that carry them will be rejected.")
        return ("response-additional-properties-disallowed", INFO, f"{thing} of {op} no longer carries undeclared properties.")
    if kind == "additional-properties-opened":
        if request:
            return ("request-additional-properties-allowed", INFO, f"{thing} of {op} now accepts undeclared properties.")
        return ("response-additional-properties-allowed", W,
                f"{thing} of {op} may now carry undeclared properties (additionalProperties was {change.old}, now {change.new}); "
                "clients that validate responses strictly will reject them.")
    if kind == "alternative-removed":
        if request:
            return ("request-alternative-removed", E,
                    f"{thing} of {op} no longer accepts the '{change.old}' variant (oneOf/anyOf); clients that send it will be rejected.")
        return ("response-alternative-removed", INFO, f"{thing} of {op} no longer comes as the '{change.old}' variant.")
    if kind == "alternative-added":
        if request:
            return ("request-alternative-added", INFO, f"{thing} of {op} accepts a new '{change.new}' variant (oneOf/anyOf).")
        return ("response-alternative-added", E,
                f"{thing} of {op} may now come as a new '{change.new}' variant (oneOf/anyOf); clients that do not know it will break.")
    if kind == "reference-changed":
        return (f"{ctx.direction}-reference-changed", W,
                f"{thing} of {op} refers to another external schema ({change.old} -> {change.new}); it was not compared.")
    return None


def finding_for(change: SchemaChange, ctx: SchemaContext) -> Finding | None:
    judged = classify(change, ctx)
    if judged is None:
        return None
    check_id, severity, message = judged
    in_new = change.new_pointer is not None
    moved = in_new and change.old_pointer is not None and change.old_pointer != change.new_pointer
    location = Location(
        pointer=change.new_pointer if in_new else (change.old_pointer or ""),
        path=ctx.path,
        method=ctx.method.upper(),
        document="new" if in_new else "old",
        old_pointer=change.old_pointer if moved else None,
    )
    return Finding(check_id, severity, ctx.direction, location, message, old=change.old, new=change.new)
