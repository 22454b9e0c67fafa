"""A neutral walk over two JSON Schemas (OpenAPI 3.0/3.1 flavour) that lists what changed.

It does not judge: it emits SchemaChange records (a property was added, a type was widened, an
enum value was removed...) with the JSON pointers of the nodes involved. The OpenAPI comparer and
the event-contract checker each decide what a change means in their setting (request or response;
BACKWARD or FORWARD).

Normalisation:
- ``$ref`` is followed (local references only; cycles stop the walk, they do not recurse).
- ``allOf`` parts are merged into one view: properties and required lists are united, types
  intersected, the first part that declares a keyword wins for the rest.
- OpenAPI 3.0 ``nullable: true`` and 3.1 ``type: [..., "null"]`` both become "null allowed".
- A missing ``type`` is inferred as object (properties/required/additionalProperties present)
  or array (items present); otherwise the type is unknown and type checks are skipped.
- ``oneOf``/``anyOf`` alternatives are matched by referenced component name, then by title, then by
  type; an alternative without a counterpart is reported as added or removed. A plain schema
  compared with a oneOf/anyOf counts as a single alternative.
- Not compared (yet): tuple ``items``/``prefixItems``, ``patternProperties``, ``not``,
  ``if``/``then``/``else``, ``dependentRequired``, discriminator mappings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from governance.diff.document import Resolver, join_pointer

# Format pairs where the second accepts every value of the first.
_WIDER_FORMATS = {("int32", "int64"), ("float", "double"), ("int32", "double"), ("int64", "double")}
_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties")
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties")


@dataclass(frozen=True)
class SchemaChange:
    """One difference between an old and a new schema node.

    kind: property-added, property-removed, property-became-required, property-became-optional,
          type-changed, format-changed, null-added, null-removed, enum-values-added,
          enum-values-removed, enum-added, enum-removed, bound-changed,
          additional-properties-closed, additional-properties-opened, alternative-added,
          alternative-removed, reference-changed.
    field: where in the value, e.g. '' (the value itself), 'owner.name', 'tags[]', 'labels.*'.
    facts: details the judges need: relation (wider | narrower | incompatible for types/formats;
          tighter | looser | changed for bounds), keyword, required, has_default, old_closed,
          new_closed, was_required.
    """

    kind: str
    field: str
    old_pointer: str | None
    new_pointer: str | None
    old: Any = None
    new: Any = None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class _View:
    pointer: str
    raw: dict
    types: frozenset[str] | None = None
    nullable: bool | None = None
    format: str | None = None
    enum: list | None = None
    properties: dict[str, tuple[Any, str]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    additional: Any = True  # True (open), False (closed) or (schema, pointer)
    items: tuple[Any, str] | None = None
    alternatives: list[tuple[Any, str]] | None = None
    bounds: dict[str, Any] = field(default_factory=dict)
    has_default: bool = False
    external_ref: str | None = None

    @property
    def objectish(self) -> bool:
        return self.types is None or "object" in self.types

    @property
    def closed(self) -> bool:
        return self.additional is False


def _own_types(node: dict) -> tuple[frozenset[str] | None, bool | None]:
    declared = node.get("type")
    if isinstance(declared, str):
        types: set[str] | None = {declared}
    elif isinstance(declared, list):
        types = {t for t in declared if isinstance(t, str)}
    else:
        types = None
    nullable: bool | None = None
    if types is not None:
        nullable = "null" in types or node.get("nullable") is True
        types.discard("null")
    elif node.get("nullable") is True:
        nullable = True
    if types is None:
        if any(k in node for k in ("properties", "required", "additionalProperties")):
            types = {"object"}
        elif "items" in node:
            types = {"array"}
    return (frozenset(types) if types is not None else None), nullable


def _own_bounds(node: dict, pointer: str) -> dict[str, Any]:
    bounds: dict[str, Any] = {}

    def numeric(name: str, plain: str, exclusive_key: str) -> None:
        value = node.get(plain)
        exclusive = node.get(exclusive_key)
        candidates = []
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            candidates.append((value, exclusive is True))  # 3.0: boolean exclusiveMaximum modifies maximum
        if isinstance(exclusive, (int, float)) and not isinstance(exclusive, bool):
            candidates.append((exclusive, True))  # 3.1: exclusiveMaximum is itself the bound
        if candidates:
            tight = min(candidates, key=lambda c: (c[0], not c[1])) if name == "upper" else max(
                candidates, key=lambda c: (c[0], c[1])
            )
            bounds[name] = (tight, pointer)

    numeric("upper", "maximum", "exclusiveMaximum")
    numeric("lower", "minimum", "exclusiveMinimum")
    for key in (*_UPPER_BOUNDS, *_LOWER_BOUNDS, "pattern", "multipleOf", "uniqueItems"):
        if key in node:
            bounds[key] = (node[key], pointer)
    return bounds


def build_view(resolver: Resolver, node: Any, pointer: str, _stack: frozenset[str] = frozenset()) -> _View:
    node, pointer = resolver.resolve(node, pointer)
    if node is True or not isinstance(node, dict):
        node = {}
    view = _View(pointer=pointer, raw=node)
    if isinstance(node.get("$ref"), str):
        view.external_ref = node["$ref"]
        return view
    view.types, view.nullable = _own_types(node)
    view.format = node.get("format") if isinstance(node.get("format"), str) else None
    if isinstance(node.get("enum"), list):
        view.enum = list(node["enum"])
    elif "const" in node:
        view.enum = [node["const"]]
    if isinstance(node.get("properties"), dict):
        for name, sub in node["properties"].items():
            view.properties[name] = (sub, join_pointer(pointer, "properties", name))
    if isinstance(node.get("required"), list):
        view.required = {r for r in node["required"] if isinstance(r, str)}
    declared_additional = "additionalProperties" in node
    if declared_additional:
        extra = node["additionalProperties"]
        view.additional = False if extra is False else True if extra in (True, {}) else (
            extra, join_pointer(pointer, "additionalProperties")
        )
    if isinstance(node.get("items"), dict):
        view.items = (node["items"], join_pointer(pointer, "items"))
    for keyword in ("oneOf", "anyOf"):
        if isinstance(node.get(keyword), list) and node[keyword]:
            view.alternatives = (view.alternatives or []) + [
                (alt, join_pointer(pointer, keyword, i)) for i, alt in enumerate(node[keyword])
            ]
    view.bounds = _own_bounds(node, pointer)
    view.has_default = "default" in node
    parts = node.get("allOf") if isinstance(node.get("allOf"), list) else []
    for index, part in enumerate(parts):
        _, part_pointer = resolver.resolve(part, join_pointer(pointer, "allOf", index))
        if part_pointer in _stack or part_pointer == pointer:
            continue
        sub = build_view(resolver, part, join_pointer(pointer, "allOf", index), _stack | {pointer})
        _merge(view, sub, declared_additional)
    return view


def _merge(view: _View, part: _View, own_additional: bool) -> None:
    if part.types is not None:
        view.types = part.types if view.types is None else (view.types & part.types or view.types)
    if "nullable" not in view.raw and "type" not in view.raw and part.nullable is not None:
        view.nullable = part.nullable if view.nullable is None else (view.nullable and part.nullable)
    view.format = view.format or part.format
    if part.enum is not None:
        view.enum = part.enum if view.enum is None else [v for v in view.enum if v in part.enum]
    for name, entry in part.properties.items():
        view.properties.setdefault(name, entry)
    view.required |= part.required
    if not own_additional and part.additional is not True and view.additional is True:
        view.additional = part.additional
    view.items = view.items or part.items
    view.alternatives = view.alternatives or part.alternatives
    for key, value in part.bounds.items():
        view.bounds.setdefault(key, value)
    view.has_default = view.has_default or part.has_default


def _covers(wide: frozenset[str], narrow: frozenset[str]) -> bool:
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _child(field_path: str, name: str) -> str:
    return f"{field_path}.{name}" if field_path else name


class SchemaDiffer:
    """Compare two schemas that live in two documents (each with its own Resolver).

    ``ignore_property(schema)`` hides a property on the side where it returns True: the OpenAPI
    comparer hides readOnly properties in requests and writeOnly ones in responses.
    """

    def __init__(
        self,
        old_resolver: Resolver,
        new_resolver: Resolver,
        *,
        ignore_property: Callable[[dict], bool] | None = None,
    ):
        self.old = old_resolver
        self.new = new_resolver
        self.ignore_property = ignore_property

    def diff(self, old_node: Any, old_pointer: str, new_node: Any, new_pointer: str, field_path: str = "") -> list[SchemaChange]:
        out: list[SchemaChange] = []
        self._diff(old_node, old_pointer, new_node, new_pointer, field_path, out, set())
        return out

    def _diff(self, old_node, old_pointer, new_node, new_pointer, field_path, out, seen) -> None:
        old = build_view(self.old, old_node, old_pointer)
        new = build_view(self.new, new_node, new_pointer)
        key = (old.pointer, new.pointer)
        if key in seen:
            return
        seen.add(key)
        if old.external_ref or new.external_ref:
            if old.external_ref != new.external_ref:
                out.append(SchemaChange("reference-changed", field_path, old.pointer, new.pointer, old.external_ref, new.external_ref))
            return
        if old.alternatives and new.alternatives:
            self._alternatives(old, new, field_path, out, seen)
        elif (old.alternatives and not old.properties) or (new.alternatives and not new.properties):
            # A plain schema against a bare oneOf/anyOf: compare it with its matching alternative only.
            self._alternatives(old, new, field_path, out, seen)
            return
        if not self._types(old, new, field_path, out):
            return
        self._format(old, new, field_path, out)
        self._enum(old, new, field_path, out)
        self._bounds(old, new, field_path, out)
        if old.objectish or new.objectish:
            self._properties(old, new, field_path, out, seen)
        if old.items and new.items:
            self._diff(*old.items, *new.items, f"{field_path}[]", out, seen)

    def _types(self, old: _View, new: _View, field_path: str, out: list) -> bool:
        """Record type and null changes; False when the types have nothing in common (stop there)."""
        carry_on = True
        if old.types is not None and new.types is not None and old.types != new.types:
            if _covers(new.types, old.types):
                relation = "wider"
            elif _covers(old.types, new.types):
                relation = "narrower"
            else:
                relation = "incompatible"
                carry_on = False
            out.append(
                SchemaChange("type-changed", field_path, old.pointer, new.pointer, sorted(old.types), sorted(new.types), {"relation": relation})
            )
        if old.nullable is not None and new.nullable is not None and old.nullable != new.nullable:
            kind = "null-added" if new.nullable else "null-removed"
            out.append(SchemaChange(kind, field_path, old.pointer, new.pointer, old.nullable, new.nullable))
        return carry_on

    def _format(self, old: _View, new: _View, field_path: str, out: list) -> None:
        if old.format == new.format:
            return
        if old.format is None:
            relation = "narrower"
        elif new.format is None or (old.format, new.format) in _WIDER_FORMATS:
            relation = "wider"
        elif (new.format, old.format) in _WIDER_FORMATS:
            relation = "narrower"
        else:
            relation = "incompatible"
        out.append(SchemaChange("format-changed", field_path, old.pointer, new.pointer, old.format, new.format, {"relation": relation}))

    def _enum(self, old: _View, new: _View, field_path: str, out: list) -> None:
        if old.enum is None and new.enum is None:
            return
        if old.enum is None:
            out.append(SchemaChange("enum-added", field_path, old.pointer, new.pointer, None, new.enum))
            return
        if new.enum is None:
            out.append(SchemaChange("enum-removed", field_path, old.pointer, new.pointer, old.enum, None))
            return
        old_keys = {_canonical(v) for v in old.enum}
        new_keys = {_canonical(v) for v in new.enum}
        removed = [v for v in old.enum if _canonical(v) not in new_keys]
        added = [v for v in new.enum if _canonical(v) not in old_keys]
        if removed:
            out.append(SchemaChange("enum-values-removed", field_path, old.pointer, new.pointer, removed, None))
        if added:
            out.append(SchemaChange("enum-values-added", field_path, old.pointer, new.pointer, None, added))

    def _bounds(self, old: _View, new: _View, field_path: str, out: list) -> None:
        for keyword in sorted(set(old.bounds) | set(new.bounds)):
            old_value, old_at = old.bounds.get(keyword, (None, old.pointer))
            new_value, new_at = new.bounds.get(keyword, (None, new.pointer))
            relation = _bound_relation(keyword, old_value, new_value)
            if relation is None:
                continue
            out.append(
                SchemaChange(
                    "bound-changed", field_path, old_at, new_at, _bound_text(keyword, old_value), _bound_text(keyword, new_value),
                    {"relation": relation, "keyword": _bound_name(keyword)},
                )
            )

    def _visible(self, view: _View, resolver: Resolver) -> dict[str, tuple[Any, str]]:
        if self.ignore_property is None:
            return view.properties
        return {
            name: (node, pointer)
            for name, (node, pointer) in view.properties.items()
            if not (
                (isinstance(node, dict) and self.ignore_property(node))
                or self.ignore_property(build_view(resolver, node, pointer).raw)
            )
        }

    def _properties(self, old: _View, new: _View, field_path: str, out: list, seen: set) -> None:
        old_props, new_props = self._visible(old, self.old), self._visible(new, self.new)
        hidden_old = set(old.properties) - set(old_props)
        hidden_new = set(new.properties) - set(new_props)
        old_names = set(old_props) | (old.required - hidden_old)
        new_names = set(new_props) | (new.required - hidden_new)
        for name in sorted(old_names | new_names):
            child = _child(field_path, name)
            old_entry, new_entry = old_props.get(name), new_props.get(name)
            old_at = old_entry[1] if old_entry else old.pointer
            new_at = new_entry[1] if new_entry else new.pointer
            if name not in new_names:
                out.append(SchemaChange(
                    "property-removed", child, old_at, None,
                    facts={"was_required": name in old.required, "new_closed": new.closed, "old_closed": old.closed},
                ))
                continue
            if name not in old_names:
                has_default = bool(new_entry) and build_view(self.new, *new_entry).has_default
                out.append(SchemaChange(
                    "property-added", child, None, new_at,
                    facts={"required": name in new.required, "has_default": has_default, "old_closed": old.closed},
                ))
                continue
            if (name in old.required) != (name in new.required):
                kind = "property-became-required" if name in new.required else "property-became-optional"
                has_default = bool(new_entry) and build_view(self.new, *new_entry).has_default
                out.append(SchemaChange(kind, child, old_at, new_at, facts={"has_default": has_default}))
            if old_entry and new_entry:
                self._diff(*old_entry, *new_entry, child, out, seen)
        self._additional(old, new, field_path, out, seen)

    def _additional(self, old: _View, new: _View, field_path: str, out: list, seen: set) -> None:
        old_extra, new_extra = old.additional, new.additional
        if isinstance(old_extra, tuple) and isinstance(new_extra, tuple):
            self._diff(*old_extra, *new_extra, _child(field_path, "*"), out, seen)
            return
        rank = {True: 2, False: 0}
        old_rank = rank.get(old_extra, 1) if not isinstance(old_extra, tuple) else 1
        new_rank = rank.get(new_extra, 1) if not isinstance(new_extra, tuple) else 1
        if old_rank == new_rank:
            return
        kind = "additional-properties-closed" if new_rank < old_rank else "additional-properties-opened"
        describe = {0: "false", 1: "a schema", 2: "true"}
        out.append(SchemaChange(kind, field_path, old.pointer, new.pointer, describe[old_rank], describe[new_rank]))

    def _alternatives(self, old: _View, new: _View, field_path: str, out: list, seen: set) -> None:
        # A plain schema stands for itself as the only alternative; its raw node is compared
        # without the oneOf/anyOf container so the walk does not loop back here.
        old_alts = old.alternatives or [(old.raw, old.pointer)]
        new_alts = new.alternatives or [(new.raw, new.pointer)]
        old_views = [(build_view(self.old, n, p), n, p) for n, p in old_alts]
        new_views = [(build_view(self.new, n, p), n, p) for n, p in new_alts]
        unmatched_new = list(range(len(new_views)))
        for old_view, old_node, old_at in old_views:
            match = _match_alternative(old_view, [new_views[i][0] for i in unmatched_new])
            if match is None:
                out.append(SchemaChange("alternative-removed", field_path, old_view.pointer, None, _alt_label(old_view), None))
                continue
            index = unmatched_new.pop(match)
            new_view, new_node, new_at = new_views[index]
            self._diff(old_node, old_at, new_node, new_at, field_path, out, seen)
        for index in unmatched_new:
            new_view = new_views[index][0]
            out.append(SchemaChange("alternative-added", field_path, None, new_view.pointer, None, _alt_label(new_view)))


def _alt_label(view: _View) -> str:
    if "/components/schemas/" in view.pointer or "/$defs/" in view.pointer or "/definitions/" in view.pointer:
        return view.pointer.rsplit("/", 1)[-1]
    if isinstance(view.raw.get("title"), str):
        return view.raw["title"]
    return "/".join(sorted(view.types)) if view.types else "any value"


def _match_alternative(old: _View, candidates: list[_View]) -> int | None:
    label = _alt_label(old)
    for index, candidate in enumerate(candidates):
        if _alt_label(candidate) == label:
            return index
    same_type = [i for i, c in enumerate(candidates) if c.types == old.types]
    return same_type[0] if len(same_type) == 1 else None


def _bound_name(keyword: str) -> str:
    return {"upper": "maximum", "lower": "minimum"}.get(keyword, keyword)


def _bound_text(keyword: str, value: Any) -> Any:
    if keyword in ("upper", "lower") and value is not None:
        number, exclusive = value
        return f"{'<' if keyword == 'upper' else '>'}{'' if exclusive else '='} {number}"
    return value


def _bound_relation(keyword: str, old: Any, new: Any) -> str | None:
    """tighter (fewer values valid), looser, changed (cannot tell) or None (same)."""
    if old == new:
        return None
    if keyword in ("upper", "lower"):
        if old is None or new is None:
            return "tighter" if old is None else "looser"
        (old_n, old_x), (new_n, new_x) = old, new
        if keyword == "upper":
            tighter = new_n < old_n or (new_n == old_n and new_x and not old_x)
        else:
            tighter = new_n > old_n or (new_n == old_n and new_x and not old_x)
        return "tighter" if tighter else "looser"
    if keyword in _UPPER_BOUNDS:
        if old is None or new is None:
            return "tighter" if old is None else "looser"
        return "tighter" if new < old else "looser"
    if keyword in _LOWER_BOUNDS:
        old_v, new_v = old or 0, new or 0
        if old_v == new_v:
            return None
        return "tighter" if new_v > old_v else "looser"
    if keyword == "uniqueItems":
        if bool(old) == bool(new):
            return None
        return "tighter" if new else "looser"
    if old is None or new is None:
        return "tighter" if old is None else "looser"
    if keyword == "multipleOf" and isinstance(old, (int, float)) and isinstance(new, (int, float)) and old and new:
        if (new / old).is_integer():
            return "tighter"
        if (old / new).is_integer():
            return "looser"
    return "changed"
