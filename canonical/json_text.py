"""JSON text written with orjson (several times faster than the standard library's encoder).

ORJSON_OPTIONS are the options under which orjson writes what ``json.dumps`` writes (keys that
are not strings written as text, dates and dataclasses passed on to the caller's fallback):
json_text below and the API's renderer (hub.renderers) both write with them.
"""

from __future__ import annotations

import json

import orjson

ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def json_text(value) -> str:
    """``value`` as JSON text for PostgreSQL: what ``json.dumps`` writes, written by orjson (several times faster).

    A value orjson refuses (an integer over 64 bits, a lone surrogate) or is told to pass on (a
    date or time, a dataclass) goes to json.dumps, which writes it or refuses it as before. Where
    the two still differ: orjson writes a UUID or a plain Enum (as a value or as a key) that
    json.dumps refused, and writes NaN and the infinities as null where jsonb refused json.dumps's
    text. The hub's JSON values are parsed JSON (its parsers refuse NaN, the infinities and numbers
    read as infinity) and dicts of its own, which hold none of these.
    """
    try:
        return orjson.dumps(value, option=ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def canonical_json(value) -> str:
    """``value`` as one text whatever its key order and whitespace (sorted keys, no spaces, text as
    is): what two requests or two messages are compared by (the Idempotency-Key's fingerprint, an
    inbound message id reused). Values JSON has no type for are written as text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
