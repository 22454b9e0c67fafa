"""demo_setup, what `make run` loads: the demo distributor, its API catalog and working partner keys."""

from __future__ import annotations

import copy
import stat
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from governance import hub_api
from governance.models import ApiVersion, Lifecycle
from tests.governance.hub_schemas import with_an_inbound_endpoint

pytestmark = pytest.mark.django_db


def demo_setup(keys_file) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("demo_setup", "--keys-file", str(keys_file), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def published() -> set[tuple[str, str]]:
    return set(ApiVersion.objects.filter(status=Lifecycle.PUBLISHED).values_list("product__slug", "version"))


def test_demo_setup_twice_then_after_an_upgrade(tmp_path, monkeypatch):
    keys_file = tmp_path / "keys" / "demo-api-keys.txt"
    out, err = demo_setup(keys_file)
    assert not err
    parts = hub_api.split_schema(hub_api.live_schema())
    assert {(slug, "1.0.0") for slug, _ in parts} <= published()
    assert "hub-canonical v1 1.0.0 published" in out
    assert "Partner API keys for 7 demo systems written" in out
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    rows = [line.split("\t") for line in keys_file.read_text().splitlines()]
    assert len(rows) == 7 and len({code for code, _, _ in rows}) == 7
    # Every key it hands out gets through to the hub's API (subscribed, so the runtime policy lets it
    # in): asked for a message it never sent, each system hears that the message is unknown.
    for code, raw_key, _ in rows:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        response = client.get("/api/v1/inbound/messages/never-sent")
        assert response.status_code == 404, (code, response.status_code, response.content[:300])
        assert "never-sent" in response.json()["detail"]

    # Again: nothing new, no key written twice, the catalog as it was.
    before = published()
    out, err = demo_setup(keys_file)
    assert not err
    assert "The hub's API:" not in out and "Partner API keys: see" in out
    assert len(keys_file.read_text().splitlines()) == 7
    assert published() == before

    # After an upgrade that adds an endpoint to the inbound API, its new minor is published.
    grown = with_an_inbound_endpoint(hub_api.live_schema())
    monkeypatch.setattr(hub_api, "live_schema", lambda: copy.deepcopy(grown))
    out, err = demo_setup(keys_file)
    assert not err
    assert "The hub's API: hub-inbound v1 1.1.0 published." in out
    assert published() == before | {("hub-inbound", "1.1.0")}


def test_demo_setup_refuses_a_production_hub(settings, tmp_path):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="HUB_PRODUCTION is on"):
        demo_setup(tmp_path / "keys.txt")
