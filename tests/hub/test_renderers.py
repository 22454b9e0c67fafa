"""The API's JSON renderer writes what DRF's renderer writes, with orjson."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from canonical.json_text import json_text
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
    {"tuple": (1, 2), "list": [3], "nested": {"deep": [[[{"x": -1}]]]}, "big": 2**62, "negative": -(2**62)},
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


@pytest.fixture
def drf_renderer_refused(monkeypatch):
    """DRF's own renderer raises: whatever renders now went through orjson."""
    def refuse(*args, **kwargs):
        raise AssertionError("DRF's renderer was used")

    monkeypatch.setattr(renderers.JSONRenderer, "render", refuse)


@pytest.mark.django_db
def test_the_apis_answers_are_drfs_bytes_written_by_orjson(partner_client, monkeypatch):
    """An order submitted, read and refused: each answer is what DRF's renderer writes for its data."""
    from tests.hub.ordering_support import new_key, shop_build

    shop_build()
    crm = partner_client("crm", "crm")
    answers = []
    ours, drfs = JSONRenderer.render, renderers.JSONRenderer.render

    def recorded(self, data, *args, **kwargs):
        text = ours(self, data, *args, **kwargs)
        answers.append((text, drfs(renderers.JSONRenderer(), data, *args, **kwargs)))
        return text

    monkeypatch.setattr(JSONRenderer, "render", recorded)
    body = {"customer": "CRM-100", "ship_to": "CRM-100-1", "lines": [{"sku": "WID-1", "quantity": "4"}]}
    placed = crm.post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert placed.status_code == 201, placed.content
    read = crm.get(f"/api/v1/orders/{placed.json()['order']['id']}")
    refused = crm.post("/api/v1/orders", {**body, "lines": [{"sku": "NOPE", "quantity": "0"}]}, format="json",
                       HTTP_IDEMPOTENCY_KEY=new_key())
    assert (read.status_code, refused.status_code) == (200, 400)  # a quantity of 0: the field is refused
    assert len(answers) >= 4  # the order's answer twice (stored and sent), the read, the refusal
    for written, drf_written in answers:
        assert written == drf_written
    assert b'"placed_at":"' in read.content and b'Z"' in read.content  # DRF's datetime form


def test_the_renderer_writes_with_orjson_not_drfs_renderer(drf_renderer_refused):
    data = SAMPLES[0]
    assert JSONRenderer().render(data) == b'{"id":1,"number":"SO-000001","lines":[{"sku":"A-1","quantity":"2.000",' \
                                          b'"unit_price":"10.50"}]}'


@pytest.mark.parametrize("value", [
    [{"id": 1, "payload": {"a": [1, 2.5, None, True]}, "text": "Müller \u2028 \"q\" \\", "n": 2**62}],
    [{"key": {1: "int key"}}],
])
def test_json_text_for_postgresql_is_what_json_dumps_writes_parsed(value):
    import json

    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


def test_json_text_refuses_or_writes_as_json_dumps_does_what_orjson_does_not():
    """Integers over 64 bits and lone surrogates go to json.dumps; dates are refused as json.dumps refuses them."""
    import json

    assert json_text([{"n": 2**70}]) == json.dumps([{"n": 2**70}])
    assert json_text(["\ud800"]) == json.dumps(["\ud800"])
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text([{"when": datetime.date(2026, 1, 1)}])
