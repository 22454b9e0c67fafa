"""The API's JSON renderer writes what DRF's renderer writes, with orjson."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from canonical.services.inserts import json_text
from hub.renderers import JSONRenderer

SAMPLES = [
    {"id": 1, "number": "SO-000001", "lines": [{"sku": "A-1", "quantity": "2.000", "unit_price": "10.50"}]},
    ReturnDict({"order": ReturnList([{"a": None, "b": True, "c": False}], serializer=None)}, serializer=None),
    {"when": datetime.datetime(2026, 12, 7, 6, 30, 15, 123456, tzinfo=datetime.UTC),
     "naive": datetime.datetime(2026, 12, 7, 6, 30), "day": datetime.date(2026, 12, 7),
     "at": datetime.time(6, 30, 1, 500), "wait": datetime.timedelta(hours=2, seconds=3)},
    {"amount": decimal.Decimal("12.50"), "id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"lazy": gettext_lazy("Required"), "text": "quote \" back \\ slash \n tab \t bell \x07 del \x7f"},
    {"unicode": "Müller, 東京, emoji 🚚", "separators": "a\u2028b\u2029c"},
    {1: "int key", None: "none key", False: "bool key", 2.5: "float key"},
    {"tuple": (1, 2), "set": [3], "nested": {"deep": [[[{"x": -1}]]]}, "big": 2**62, "negative": -(2**62)},
    [],
    "plain text",
    {"count": 0, "ratio": 0.5, "half": -0.25, "whole": 3.0},
]


@pytest.mark.parametrize("data", SAMPLES)
def test_the_renderer_writes_the_same_bytes_as_drfs(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_what_orjson_refuses_is_written_or_refused_by_drfs_renderer():
    too_big = {"n": 2**70}
    assert JSONRenderer().render(too_big) == b'{"n":1180591620717411303424}'
    with pytest.raises(UnicodeEncodeError):  # as DRF's renderer does
        JSONRenderer().render({"text": "\ud800"})
    with pytest.raises(TypeError, match="not JSON serializable"):
        JSONRenderer().render({"value": object()})


def test_an_indented_answer_asked_for_is_indented_as_before():
    data = {"a": [1, {"b": "c"}]}
    media_type = "application/json; indent=2"
    assert JSONRenderer().render(data, media_type) == renderers.JSONRenderer().render(data, media_type)
    assert b'\n  "a"' in JSONRenderer().render(data, media_type)


def test_no_data_is_an_empty_body():
    assert JSONRenderer().render(None) == b""


def test_the_api_answers_with_the_renderer(client):
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] == ["hub.renderers.JSONRenderer"]
    response = client.get("/api/v1/orders", HTTP_ACCEPT="application/json")
    assert response.status_code in (401, 403)  # a problem document, rendered by it
    assert response.json()["status"] == response.status_code


@pytest.mark.parametrize("value", [
    [{"id": 1, "payload": {"a": [1, 2.5, None, True]}, "text": "Müller \u2028 \"q\" \\", "n": 2**62}],
    [{"key": {1: "int key"}}],
])
def test_json_text_for_postgresql_is_what_json_dumps_writes_parsed(value):
    import json

    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


def test_json_text_refuses_or_writes_as_json_dumps_does_what_orjson_does_not():
    import json

    assert json_text([{"n": 2**70}]) == json.dumps([{"n": 2**70}])
    assert json_text(["\ud800"]) == json.dumps(["\ud800"])
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text([{"when": datetime.date(2026, 1, 1)}])
