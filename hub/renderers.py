"""The API's JSON renderer: DRF's, writing with orjson.

DRF's JSONRenderer writes with the standard library's encoder in Python; orjson writes the same
compact UTF-8 text several times faster (an order's answer is written twice: once for the
partner, once as the Idempotency-Key's stored answer). What orjson does not write itself (dates
and times, decimals, lazy strings, querysets, ...) goes to DRF's encoder, as before. Anything
orjson refuses (an integer over 64 bits, a lone surrogate, a value DRF's encoder refuses too)
is written by DRF's renderer instead, which answers as it always did, errors included. So are
indented answers (`Accept: application/json; indent=4`).

Two differences remain, both in floats, which the API's serializers do not write (amounts and
quantities are decimal strings): a float may be written in another of its exact forms (1e-05 as
0.00001), and NaN or an infinity is written as null where DRF's strict mode refused the answer.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def json_bytes(data, default=None) -> bytes:
    """``data`` as compact JSON text in UTF-8, as DRF's compact renderer writes it.

    ``default`` writes what orjson does not (DRF's encoder by default); orjson.JSONEncodeError
    (a TypeError) when a value cannot be written this way.
    """
    text = orjson.dumps(data, default=default or _drf_default, option=_OPTIONS)
    if b"\xe2\x80\xa8" in text or b"\xe2\x80\xa9" in text:  # JavaScript's line separators, escaped as DRF does
        text = text.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return text


_drf_default = renderers.JSONRenderer.encoder_class().default


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is not None and self.compact and not self.ensure_ascii and self.strict \
                and self.get_indent(accepted_media_type, renderer_context or {}) is None:
            try:
                return json_bytes(data, self.encoder_class().default)
            except orjson.JSONEncodeError:
                pass  # DRF's renderer writes it, or says why not, as before
        return super().render(data, accepted_media_type, renderer_context)
