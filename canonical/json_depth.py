"""How deeply a JSON document partners send may nest.

Python's JSON decoder recurses once per level of arrays and objects, and so does everything that
walks a document after it (the partner API's string checks, JSON Schema validation, mappings).
A body nested a thousand levels deep made the decoder raise RecursionError, which no handler
expected: the partner got a 500. No document the hub takes comes near the limit here; a body
that goes past it is refused as malformed, naming the limit.
"""

from __future__ import annotations

MAX_JSON_DEPTH = 64
TOO_DEEP = (f"The JSON nests arrays and objects more than {MAX_JSON_DEPTH} levels deep; the hub takes at most "
            f"{MAX_JSON_DEPTH}.")


class JSONTooDeep(ValueError):
    """A document nested past MAX_JSON_DEPTH (or past what the decoder can recurse)."""

    def __init__(self):
        super().__init__(TOO_DEEP)


def json_depth_check(value: object) -> None:
    """Raise JSONTooDeep when ``value`` (a decoded document) nests past MAX_JSON_DEPTH; without recursing."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [child for node in level if isinstance(node, dict | list)
                 for child in (node.values() if isinstance(node, dict) else node)]
        if not level:
            return
    if any(isinstance(node, dict | list) for node in level):
        raise JSONTooDeep()
