"""Configuration as code: export → apply round trip, dry run, idempotency, errors naming line and field."""

from __future__ import annotations

import io
import json
import textwrap

import pytest
import yaml
from django.core.management import CommandError, call_command

from canonical.demo.systems import SYSTEM_OF_RECORD, SYSTEMS
from canonical.models import AuditEntry, System, SystemOfRecord
from connectors.config import DEMO_CONFIG
from connectors.config.loader import ConfigInvalid, config_parse
from connectors.models import Connector, Mapping, Subscription
from connectors.secrets import secret_encrypt, secret_resolve

pytestmark = pytest.mark.django_db


def hub_config(*args) -> str:
    out = io.StringIO()
    call_command("hub_config", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def write(tmp_path, text: str, name: str = "hub.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def errors_of(tmp_path, text: str) -> list[str]:
    with pytest.raises(CommandError) as failure:
        hub_config("apply", write(tmp_path, text))
    cause = failure.value.__cause__
    assert isinstance(cause, ConfigInvalid)
    return [str(error) for error in cause.errors]


def counts() -> tuple[int, ...]:
    return (System.objects.count(), SystemOfRecord.objects.count(), Connector.objects.count(),
            Subscription.objects.count(), Mapping.objects.count(), AuditEntry.objects.count())


def test_demo_configuration_matches_the_demo_systems_and_system_of_record():
    document = yaml.safe_load(DEMO_CONFIG.read_text())
    assert {s["code"]: (s["name"], s["kind"], s["description"]) for s in document["systems"]} == {
        code: (name, str(kind), description) for code, (name, kind, description) in SYSTEMS.items()}
    assert {r["domain"]: (r["system"], r["notes"]) for r in document["system_of_record"]} == {
        str(domain): owner for domain, owner in SYSTEM_OF_RECORD.items()}


def test_demo_mappings_are_the_worked_examples_shipped_as_fixtures():
    fixtures = DEMO_CONFIG.parent.parent / "mapping" / "fixtures"
    document = yaml.safe_load(DEMO_CONFIG.read_text())
    specs = {m["name"]: m["spec"] for m in document["mappings"]}
    assert specs == {
        "erp-order": json.loads((fixtures / "erp" / "order_outbound.mapping.json").read_text()),
        "salesforce-account": json.loads((fixtures / "salesforce" / "account_outbound.mapping.json").read_text()),
    }


def test_demo_configuration_applies_then_a_second_apply_changes_nothing():
    output = hub_config("apply", str(DEMO_CONFIG))
    assert "+ create connector crm-webhook" in output
    assert "+ create subscription shop-webhook: order, shipment and inventory updates" in output
    assert output.strip().endswith("40 created, 0 updated, 0 unchanged.")
    shop = Subscription.objects.get(connector__code="shop-webhook", name="order, shipment and inventory updates")
    assert shop.event_types == ["order.*", "shipment.*", "inventory.changed"] and shop.ordered
    assert Connector.objects.get(code="erp-rest").secret_ref == "env:HUB_DEMO_ERP_TOKEN"
    assert set(Connector.objects.values_list("system__code", flat=True)) == set(SYSTEMS)
    before = counts()
    again = hub_config("apply", str(DEMO_CONFIG))
    assert "No changes: the hub already matches" in again and "0 to create, 0 to update, 40 unchanged." in again
    assert "+ create" not in again and "~ update" not in again
    assert counts() == before, "an idempotent apply writes nothing, not even audit entries"


def test_dry_run_shows_the_difference_and_changes_nothing():
    before = counts()
    output = hub_config("apply", str(DEMO_CONFIG), "--dry-run")
    assert "+ create system crm" in output
    assert "Dry run, nothing changed: 40 to create, 0 to update, 0 unchanged." in output
    assert counts() == before


def test_export_then_apply_restores_what_was_changed_by_hand(tmp_path):
    hub_config("apply", str(DEMO_CONFIG))
    wms_order = Mapping.objects.create(
        name="wms-order", version=1, direction="outbound",
        spec={"fields": [{"target": "/OrderNo", "source": "/order/number", "required": True}]})
    Subscription.objects.filter(name="orders to fulfil").update(mapping=wms_order, payload_format="mapped")
    exported = str(tmp_path / "export.yaml")
    hub_config("export", "--output", exported)
    assert "No changes" in hub_config("apply", exported)

    Connector.objects.filter(code="erp-rest").update(timeout_seconds=99, base_url="http://127.0.0.1:1")
    Subscription.objects.filter(name="orders to fulfil").update(event_types=["order.created"])
    output = hub_config("apply", exported, "--dry-run")
    assert "~ update connector erp-rest" in output
    assert "    timeout_seconds: 99.0 → 15.0" in output
    assert "    base_url: 'http://127.0.0.1:1' → 'http://127.0.0.1:9102'" in output
    assert '    event_types: ["order.created"] → ["order.*"]' in output
    assert "0 to create, 2 to update, 39 unchanged." in output
    hub_config("apply", exported)
    erp = Connector.objects.get(code="erp-rest")
    assert (erp.timeout_seconds, erp.base_url) == (15.0, "http://127.0.0.1:9102")
    entry = AuditEntry.objects.get(action="config.updated", object_type="connector", object_id=str(erp.pk))
    assert entry.before == {"base_url": "http://127.0.0.1:1", "timeout_seconds": 99.0}
    assert "No changes" in hub_config("apply", exported)
    second = str(tmp_path / "again.yaml")
    hub_config("export", "--output", second)
    strip = lambda path: [line for line in open(path) if not line.startswith("# Exported")]  # noqa: E731
    assert strip(exported) == strip(second)


def test_encrypted_secrets_are_exported_as_a_placeholder_that_keeps_the_stored_value(tmp_path):
    hub_config("apply", str(DEMO_CONFIG))
    Connector.objects.filter(code="wms-rest").update(secret_ref=secret_encrypt("wms-api-key-1"))
    exported = str(tmp_path / "export.yaml")
    hub_config("export", "--output", exported)
    text = open(exported).read()
    assert "wms-api-key-1" not in text and "enc:" not in text
    wms = next(c for c in yaml.safe_load(text)["connectors"] if c["code"] == "wms-rest")
    assert wms["secret_ref"] == "<encrypted>"
    assert "No changes" in hub_config("apply", exported)
    assert secret_resolve(Connector.objects.get(code="wms-rest").secret_ref) == "wms-api-key-1"

    Connector.objects.filter(code="wms-rest").update(secret_ref="env:WMS_KEY")
    errors = errors_of(tmp_path, text)
    line = next(n for n, content in enumerate(text.splitlines(), 1) if content == "  secret_ref: <encrypted>")
    assert errors == [f"line {line}, connectors[6].secret_ref: '<encrypted>' keeps an encrypted secret this hub "
                      "already has, and it has none here: set the secret in the admin, or give 'env:VARIABLE_NAME'"]
    assert Connector.objects.get(code="wms-rest").secret_ref == "env:WMS_KEY"


MINIMAL = """
version: 1
systems:
- code: erp
  name: ERP
  kind: erp
connectors:
- code: erp-rest
  name: ERP API
  system: erp
  kind: rest
  base_url: http://127.0.0.1:9102
subscriptions:
- connector: erp-rest
  name: orders
  event_types: [order.*]
"""


def test_a_minimal_document_applies_with_model_defaults(tmp_path):
    assert "3 created" in hub_config("apply", write(tmp_path, MINIMAL))
    connector = Connector.objects.get(code="erp-rest")
    assert (connector.max_attempts, connector.direction, connector.enabled) == (8, "outbound", True)
    assert "No changes" in hub_config("apply", write(tmp_path, MINIMAL))


@pytest.mark.parametrize(("change", "expected"), [
    (("  base_url: http://127.0.0.1:9102", "  base_ulr: http://127.0.0.1:9102"),
     "line 11, connectors[0].base_ulr: unknown field 'base_ulr' (allowed: code, name, system, kind"),
    (("  kind: erp\n", "  kind: mainframe\n"), "line 5, systems[0].kind: 'mainframe' is not one of"),
    (("  name: ERP API\n", ""), "line 7, connectors[0]: the required field 'name' is missing"),
    (("  base_url: http://127.0.0.1:9102", "  base_url: http://127.0.0.1:9102\n  max_attempts: lots"),
     "line 12, connectors[0].max_attempts: 'lots' is not of type 'integer'"),
    (("  base_url: http://127.0.0.1:9102", "  base_url: http://127.0.0.1:9102\n  secret_ref: hunter2"),
     "line 12, connectors[0].secret_ref: a secret is given by reference only: 'env:VARIABLE_NAME'"),
    (("  base_url: http://127.0.0.1:9102", "  base_url: not a url"),
     "line 11, connectors[0].base_url: Enter a valid URL."),
    (("  system: erp\n", "  system: sap\n"), "line 9, connectors[0].system: no system 'sap' in the document or the hub"),
    (("  kind: rest\n", "  kind: carrier-pigeon\n"),
     "line 10, connectors[0].kind: unknown connector kind 'carrier-pigeon' (known: rest, webhook)"),
    (("  base_url: http://127.0.0.1:9102", "  base_url: http://127.0.0.1:9102\n  message_id_field: /messageId"),
     "line 12, connectors[0].message_id_field: '/messageId' is not a field of the hub's inbound messages"),
    (("  base_url: http://127.0.0.1:9102", "  base_url: http://127.0.0.1:9102\n  message_id_field: messageId"),
     "line 12, connectors[0].message_id_field: pointer 'messageId' must start with '/'"),
    (("event_types: [order.*]", "event_types: [order.*, ordr.created]"),
     "line 15, subscriptions[0].event_types[1]: 'ordr.created' matches no business event type"),
    (("  event_types: [order.*]", "  event_types: [order.*]\n  payload_format: mapped"),
     "line 13, subscriptions[0].mapping: a subscription with payload_format 'mapped' needs a mapping"),
    (("  event_types: [order.*]", "  event_types: [order.*]\n  mapping: {name: nope, version: 1}"),
     "line 16, subscriptions[0].mapping: no mapping nope v1 in the document or the hub"),
    (("  kind: erp\n", "  kind: erp\n  name: Again\n"), "line 6, systems[0].name: 'name' is given twice"),
    (("  name: orders", "  name: [orders"), "line 15, (top level): not valid YAML: expected ',' or ']'"),
])
def test_invalid_documents_are_refused_naming_the_line_and_field(tmp_path, change, expected):
    old, new = change
    assert old in MINIMAL
    errors = errors_of(tmp_path, MINIMAL.replace(old, new, 1))
    assert any(error.startswith(expected) for error in errors), errors
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_every_error_is_reported_at_once_and_nothing_is_applied(tmp_path):
    text = MINIMAL.replace("kind: rest", "kind: soap").replace("[order.*]", "[nothing.*]")
    errors = errors_of(tmp_path, text)
    assert [e.split(":")[0] for e in errors] == ["line 10, connectors[0].kind", "line 15, subscriptions[0].event_types[0]"]
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_duplicates_within_a_section_name_the_first_line(tmp_path):
    text = MINIMAL + "- connector: erp-rest\n  name: orders\n  event_types: [order.created]\n"
    assert errors_of(tmp_path, text) == [
        "line 16, subscriptions[1]: subscription erp-rest: orders is already given at line 13"]


def test_a_mapping_version_cannot_change_its_spec(tmp_path):
    text = MINIMAL + textwrap.dedent("""\
        mappings:
        - name: erp-order
          version: 1
          direction: outbound
          spec: {fields: [{target: /OrderNo, source: /order/number}]}
        """)
    hub_config("apply", write(tmp_path, text))
    changed = text.replace("/OrderNo", "/OrderNumber")
    assert errors_of(tmp_path, changed) == [
        "line 20, mappings[0].spec: mapping erp-order v1 already exists with another spec; mappings are versioned: "
        "add it as version 2"]
    assert "+ create mapping erp-order v2" in hub_config(
        "apply", write(tmp_path, changed.replace("  version: 1", "  version: 2")), "--dry-run")


def test_inbound_mappings_name_their_connector_and_message_type(tmp_path):
    text = MINIMAL + textwrap.dedent("""\
        mappings:
        - name: erp-status
          version: 1
          direction: inbound
          spec: {fields: [{target: /status, source: /Status}]}
        """)
    errors = errors_of(tmp_path, text)
    assert errors == [
        "line 17, mappings[0].connector: an inbound mapping names the connector whose messages it translates",
        "line 17, mappings[0].message_type: an inbound mapping names the message type it translates",
    ]
    fixed = text.replace("direction: inbound", "direction: inbound\n  connector: erp-rest\n  message_type: order.status")
    hub_config("apply", write(tmp_path, fixed))
    mapping = Mapping.objects.get()
    assert (mapping.connector.code, mapping.message_type) == ("erp-rest", "order.status")
    assert "No changes" in hub_config("apply", write(tmp_path, fixed))


def test_message_id_field_is_the_schemas_or_with_an_inbound_mapping_the_partners(tmp_path):
    text = MINIMAL.replace("  base_url: http://127.0.0.1:9102", "  base_url: http://127.0.0.1:9102\n"
                           "  direction: both\n  message_id_field: /message_id")
    hub_config("apply", write(tmp_path, text))
    assert Connector.objects.get().message_id_field == "/message_id"
    mapped = text.replace("/message_id", "/MessageId") + textwrap.dedent("""\
        mappings:
        - name: erp-status
          version: 1
          direction: inbound
          connector: erp-rest
          message_type: order.status
          spec: {fields: [{target: /status, source: /Status}]}
        """)
    hub_config("apply", write(tmp_path, mapped))
    assert Connector.objects.get().message_id_field == "/MessageId"


def test_apply_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        hub_config("apply", str(tmp_path / "nope.yaml"))


def test_parse_keeps_lines_for_nested_fields():
    document = config_parse(MINIMAL.lstrip("\n"))
    assert document.line(("subscriptions", 0, "event_types", 0)) == 15
    assert document.line(("connectors", 0, "base_url")) == 11
