"""The mapping engine: turns one JSON document into another by a declarative spec, in either direction.

A spec is a list of field rules, or an object ``{"fields": [...], "constants": {...}}``
(plus an optional ``source_schema``, the JSON Schema of the input, which inbound
processing validates the partner's body against). A rule::

    {"target": "/customer/name",        # where the value goes in the output (JSON pointer)
     "source": "/Name",                 # where it comes from in the input (JSON pointer)
     "required": true,                  # missing or null is an error ...
     "default": "active",               # ... unless there is a default (also used for unmapped values)
     "transform": "strip",              # or a list, applied in order: upper lower strip int decimal
                                        #   date datetime_iso str
     "value_map": {"SHP": "shipped"},   # applied after the transforms; an unknown value is an error
     "when": "/ShippingStreet",         # apply the rule only when this input pointer has a value
     "each": [rules],                   # source is an array: map every element with the nested rules
     "fields": [rules]}                 # build an object at target from the element at source

Every failing field is collected; the engine raises one MappingError listing them all.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.mapping import pointers
from connectors.mapping.errors import FieldError, MappingError, MappingSpecError
from connectors.mapping.pointers import MISSING
from connectors.mapping.transforms import TRANSFORMS, TransformFailed

RULE_KEYS = frozenset(
    {"target", "source", "required", "default", "transform", "value_map", "when", "each", "fields", "description"}
)
SPEC_KEYS = frozenset({"fields", "constants", "source_schema", "description"})


def _normalise(spec: Any) -> dict:
    if isinstance(spec, list):
        return {"fields": spec}
    if isinstance(spec, dict):
        return spec
    raise MappingSpecError([f"a spec is a list of rules or an object with 'fields', not {type(spec).__name__}"])


def spec_problems(spec: Any, *, where: str = "") -> list[str]:
    """Everything wrong with ``spec``, each naming the rule; empty when the spec is valid."""
    if not isinstance(spec, list | dict):
        return [f"{where or 'spec'}: must be a list of rules or an object with 'fields'"]
    spec = _normalise(spec)
    problems = [f"{where or 'spec'}: unknown key '{key}'" for key in sorted(set(spec) - SPEC_KEYS)]
    constants = spec.get("constants", {})
    if not isinstance(constants, dict):
        problems.append(f"{where or 'spec'}: 'constants' must be an object of target pointer → value")
    else:
        for target in constants:
            problems += _pointer_problems(target, f"{where}constants[{target!r}]", target=True)
    if "source_schema" in spec and not isinstance(spec["source_schema"], dict):
        problems.append(f"{where or 'spec'}: 'source_schema' must be a JSON Schema object")
    rules = spec.get("fields")
    if not isinstance(rules, list):
        return [*problems, f"{where or 'spec'}: 'fields' must be a list of rules"]
    for index, rule in enumerate(rules):
        problems += _rule_problems(rule, f"{where}fields[{index}]")
    return problems


def _pointer_problems(pointer: Any, where: str, *, target: bool = False, every: bool = False) -> list[str]:
    try:
        tokens = pointers.parse(pointer)
    except ValueError as exc:
        return [f"{where}: {exc}"]
    problems = []
    if target and not tokens:
        problems.append(f"{where}: a target cannot be the whole document")
    if target and any(t.every or t.select for t in tokens):
        problems.append(f"{where}: a target cannot use [*] or [field=value]")
    stars = [t for t in tokens if t.every]
    if stars and (not every or stars != tokens[-1:]):
        problems.append(f"{where}: [*] is allowed only at the end of the source of a rule with 'each'")
    return problems


def _rule_problems(rule: Any, where: str) -> list[str]:
    if not isinstance(rule, dict):
        return [f"{where}: a rule must be an object"]
    problems = [f"{where}: unknown key '{key}'" for key in sorted(set(rule) - RULE_KEYS)]
    if "target" not in rule:
        problems.append(f"{where}: 'target' is required")
    else:
        problems += _pointer_problems(rule["target"], f"{where}.target", target=True)
    if "source" in rule:
        problems += _pointer_problems(rule["source"], f"{where}.source", every="each" in rule)
    if "when" in rule:
        problems += _pointer_problems(rule["when"], f"{where}.when")
    if "each" in rule and "fields" in rule:
        problems.append(f"{where}: use either 'each' or 'fields', not both")
    nested = rule.get("each", rule.get("fields"))
    if nested is not None:
        if "each" in rule and "source" not in rule:
            problems.append(f"{where}: 'each' needs a 'source' array")
        if "value_map" in rule or "transform" in rule:
            problems.append(f"{where}: 'value_map' and 'transform' apply to single values, not to 'each'/'fields'")
        problems += spec_problems(nested, where=f"{where}.{'each' if 'each' in rule else 'fields'}.")
    elif "source" not in rule and "default" not in rule:
        problems.append(f"{where}: a rule needs a 'source' or a 'default' (or use 'constants')")
    transforms = rule.get("transform", [])
    for name in [transforms] if isinstance(transforms, str) else transforms if isinstance(transforms, list) else [None]:
        if name not in TRANSFORMS:
            problems.append(f"{where}.transform: '{name}' is not one of {', '.join(sorted(TRANSFORMS))}")
    if "value_map" in rule and not isinstance(rule["value_map"], dict):
        problems.append(f"{where}.value_map: must be an object of input value → output value")
    if "required" in rule and not isinstance(rule["required"], bool):
        problems.append(f"{where}.required: must be true or false")
    return problems


def spec_validate(spec: Any, *, name: str = "") -> dict:
    """The spec in its object form; raises MappingSpecError naming every problem."""
    problems = spec_problems(spec)
    if problems:
        raise MappingSpecError(problems, mapping=name)
    return _normalise(spec)


def apply_mapping(mapping_or_spec: Any, source: Any) -> dict:
    """Map ``source`` through a Mapping (or a bare spec) into a new document.

    Raises MappingError listing every field that failed, MappingSpecError for a broken spec.
    """
    spec = getattr(mapping_or_spec, "spec", mapping_or_spec)
    name = str(mapping_or_spec) if hasattr(mapping_or_spec, "spec") else ""
    spec = spec_validate(spec, name=name)
    errors: list[FieldError] = []
    output = _map_object(spec, source, base="", target_base="", errors=errors)
    if errors:
        raise MappingError(errors, mapping=name)
    return output


def _map_object(spec: Any, document: Any, *, base: str, target_base: str, errors: list[FieldError]) -> dict:
    spec = _normalise(spec)
    output: dict = {}
    for target, value in spec.get("constants", {}).items():
        pointers.assign(output, pointers.parse(target), json.loads(json.dumps(value)))
    for rule in spec["fields"]:
        _apply_rule(rule, document, output, base=base, target_base=target_base, errors=errors)
    return output


def _present(value: Any) -> bool:
    return value is not MISSING and value is not None


def _apply_rule(rule: dict, document: Any, output: dict, *, base: str, target_base: str, errors: list) -> None:
    target = rule["target"]
    if "when" in rule and not _present(pointers.resolve(document, pointers.parse(rule["when"]))[0]):
        return
    source = rule.get("source")
    if source is None:
        value, where = (document if ("fields" in rule) else MISSING), base
    else:
        value, concrete = pointers.resolve(document, pointers.parse(source))
        where = base + (concrete if value is not MISSING else source)

    def fail(reason: str) -> None:
        errors.append(FieldError(pointer=where, reason=reason, target=target_base + target))

    if not _present(value):
        if "default" in rule:
            pointers.assign(output, pointers.parse(target), json.loads(json.dumps(rule["default"])))
        elif rule.get("required"):
            fail("missing required field" if value is MISSING else "required field is null")
        return

    if "each" in rule:
        if not isinstance(value, list):
            fail("expected an array")
            return
        items = []
        for index, item in enumerate(value):
            items.append(
                _map_object(
                    rule["each"], item, base=f"{where}/{index}", target_base=f"{target_base}{target}/{index}",
                    errors=errors,
                )
            )
        pointers.assign(output, pointers.parse(target), items)
        return
    if "fields" in rule:
        if not isinstance(value, dict):
            fail("expected an object")
            return
        nested = _map_object(rule["fields"], value, base=where, target_base=target_base + target, errors=errors)
        pointers.assign(output, pointers.parse(target), nested)
        return

    transforms = rule.get("transform", [])
    for name in [transforms] if isinstance(transforms, str) else transforms:
        try:
            value = TRANSFORMS[name](value)
        except TransformFailed as exc:
            fail(str(exc))
            return
    if "value_map" in rule:
        value_map = rule["value_map"]
        key = value if isinstance(value, str) else json.dumps(value)
        if key in value_map:
            value = value_map[key]
        elif "default" in rule:
            value = rule["default"]
        else:
            allowed = ", ".join(repr(k) for k in value_map)
            fail(f"value {key!r} not in value map (allowed: {allowed})")
            return
    pointers.assign(output, pointers.parse(target), json.loads(json.dumps(value)))
