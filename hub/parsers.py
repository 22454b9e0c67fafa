"""The JSON parser of the partner API.

DRF's JSONParser plus one rule: no string in the body (key or value) may hold a NUL character
or a lone UTF-16 surrogate (JSON's ``\\ud800`` without its pair). PostgreSQL text cannot hold a
NUL, and a lone surrogate is not a character at all (it cannot be encoded, so neither database
can take it), so such a value could never be stored or even looked up; the partner gets a 400
naming the field (as a JSON pointer), instead of a database error deep in a service. So does a
number too large for any numeric field (``1e999``, which Python reads as infinity; DRF's parser
already refuses NaN and Infinity). A body nested deeper than canonical.json_depth allows is malformed (400).
"""

from __future__ import annotations

import math

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from canonical.json_depth import TOO_DEEP, JSONTooDeep, json_depth_check
from canonical.services.refs import storable

NUL_MESSAGE = "Holds a NUL character (\\u0000), which no field accepts."
OUT_OF_RANGE_MESSAGE = "Holds a number too large for any numeric field (read as infinity)."
SURROGATE_MESSAGE = "Holds a lone UTF-16 surrogate (\\ud800-\\udfff without its pair), which is not a character."


def _fault(text: str) -> str | None:
    if storable(text):
        return None
    return NUL_MESSAGE if "\x00" in text else SURROGATE_MESSAGE


def _faults(value, path: tuple = ()):
    """(path, message) for every string, or key, that no field accepts, and every number read as
    infinity (keys and indexes as the path)."""
    if isinstance(value, str):
        if fault := _fault(value):
            yield path, fault
    elif isinstance(value, float):
        if not math.isfinite(value):  # 1e999, which Python reads as infinity
            yield path, OUT_OF_RANGE_MESSAGE
    elif isinstance(value, dict):
        for key, item in value.items():
            if fault := _fault(key):
                printable = key.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\\u0000")
                yield (*path, printable), fault
            else:
                yield from _faults(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _faults(item, (*path, index))


def _detail(faults: list[tuple]):
    """A ValidationError detail shaped like the body, so the problem names each pointer."""
    if len(faults) == 1 and faults[0][0] == ():
        return [faults[0][1]]
    tree: dict = {}
    for path, fault in faults:
        node = tree
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = [fault]
    return tree


class HubJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            json_depth_check(data)
        except (RecursionError, JSONTooDeep):
            raise ParseError(TOO_DEEP) from None
        faults = list(_faults(data))
        if faults:
            raise ValidationError(_detail(faults))
        return data
