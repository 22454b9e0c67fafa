"""The API's JSON renderer: DRF's, writing with orjson.

DRF's JSONRenderer writes with the standard library's encoder in Python; orjson writes the same
compact UTF-8 text several times faster (an order's answer is written twice: once for the
partner, once as the Idempotency-Key's stored answer). What orjson does not write itself (dates
and times, decimals, lazy strings, querysets, ...) goes to DRF's encoder, as before. Anything
orjson refuses (an integer over 64 bits, a lone surrogate, a value DRF's encoder refuses too)
is written by DRF's renderer instead, which answers as it always did, errors included. So are
indented answers (`Accept: application/json; indent=4`).

What still differs, none of it in what the API's serializers write (amounts and quantities are
decimal strings; tests/hub/test_renderers.py compares the bytes of real answers):
- a float may be written in another of its exact forms (1e-05 as 0.00001; a raw Decimal, which
  DRF's encoder turns into a float, 1e-07 as 1e-7). Floats reach answers only from stored JSON
  (event payloads, inbound results);
- NaN or an infinity is written as null where DRF's strict mode refused the answer;
- a plain Enum, and a UUID, date or Enum as a key, are written where DRF's encoder refused them;
- a dict subclass that overrides ``items()``, or an OrderedDict reordered by ``move_to_end``, is
  written in the order its entries were stored.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers

from canonical.json_text import ORJSON_OPTIONS

_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is not None and self.compact and not self.ensure_ascii and self.strict \
                and self.get_indent(accepted_media_type, renderer_context or {}) is None:
            try:
                text = orjson.dumps(data, default=self.encoder_class().default, option=ORJSON_OPTIONS)
            except orjson.JSONEncodeError:
                pass  # DRF's renderer writes it, or says why not, as before
            else:
                # JavaScript's line and paragraph separators, escaped as DRF does.
                if _LINE_SEPARATOR in text or _PARAGRAPH_SEPARATOR in text:
                    text = text.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
                return text
        return super().render(data, accepted_media_type, renderer_context)
