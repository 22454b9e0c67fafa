"""The JSON parser of the partner API.

DRF's JSONParser plus one rule: no string in the body (key or value) may hold a NUL character.
PostgreSQL text cannot hold one, so such a value could never be stored or even looked up; the
partner gets a 400 naming the field (as a JSON pointer), instead of a database error deep in a
service.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

NUL_MESSAGE = "Holds a NUL character (\\u0000), which no field accepts."


def _nul_paths(value, path: tuple = ()):
    """Every path (keys and indexes) to a string, or a key, holding a NUL."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield (*path, key.replace("\x00", "\\u0000"))
            else:
                yield from _nul_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*path, index))


def _detail(paths: list[tuple]):
    """A ValidationError detail shaped like the body, so the problem names each pointer."""
    if paths == [()]:
        return [NUL_MESSAGE]
    tree: dict = {}
    for path in paths:
        node = tree
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = [NUL_MESSAGE]
    return tree


class HubJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        paths = list(_nul_paths(data))
        if paths:
            raise ValidationError(_detail(paths))
        return data
