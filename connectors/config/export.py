"""Writing the hub's integration configuration as one YAML document (secrets by reference only)."""

from __future__ import annotations

from typing import Any

import yaml
from django.utils import timezone

from canonical.models import System, SystemOfRecord
from connectors.config.schema import (
    CONNECTOR_FIELDS,
    ENCRYPTED_PLACEHOLDER,
    FORMAT_VERSION,
    MAPPING_FIELDS,
    SYSTEM_FIELDS,
)
from connectors.models import Connector, Mapping, Subscription
from connectors.secrets import ENV_PREFIX

HEADER = f"""\
# Integration configuration of the distribution integration hub.
# Apply with: manage.py hub_config apply FILE [--dry-run]   (shows the difference, then applies it)
#
# Secrets appear by reference only: 'env:NAME' is read from the environment when used. A secret
# stored encrypted in the hub is written as '{ENCRYPTED_PLACEHOLDER}': applying it keeps the encrypted value
# that hub already has, and is refused where that hub has none (set it in the admin, or use env:).
# Not managed here (runtime state): circuit breaker state, 'paused', timestamps, deliveries.
"""


def _secret(ref: str) -> str:
    if not ref:
        return ""
    return ref if ref.startswith(ENV_PREFIX) else ENCRYPTED_PLACEHOLDER


def _row(instance, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in fields}


def config_document() -> dict[str, Any]:
    """The configuration as a plain dict in document order."""
    connectors = []
    for connector in Connector.objects.select_related("system").order_by("code"):
        row = _row(connector, CONNECTOR_FIELDS)
        row["system"] = connector.system.code
        row["secret_ref"] = _secret(connector.secret_ref)
        row["signing_secret_ref"] = _secret(connector.signing_secret_ref)
        connectors.append(row)
    subscriptions = [
        {
            "connector": s.connector.code, "name": s.name, "event_types": list(s.event_types),
            "filters": s.filters, "ordered": s.ordered, "payload_format": s.payload_format,
            "mapping": {"name": s.mapping.name, "version": s.mapping.version} if s.mapping else None,
            "path": s.path, "is_active": s.is_active,
        }
        for s in Subscription.objects.select_related("connector", "mapping").order_by("connector__code", "name")
    ]
    return {
        "version": FORMAT_VERSION,
        "systems": [_row(s, SYSTEM_FIELDS) for s in System.objects.order_by("code")],
        "system_of_record": [
            {"domain": sor.domain, "system": sor.system.code, "notes": sor.notes}
            for sor in SystemOfRecord.objects.select_related("system").order_by("domain")
        ],
        "connectors": connectors,
        "mappings": [
            {**_row(m, MAPPING_FIELDS), "connector": m.connector.code if m.connector_id else None}
            for m in Mapping.objects.select_related("connector").order_by("name", "version")
        ],
        "subscriptions": subscriptions,
    }


class _Dumper(yaml.SafeDumper):
    """Block style, keys in document order, short lists of words on one line, long text as blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list):
    flow = bool(value) and len(value) <= 8 and all(isinstance(v, str) and len(v) < 40 for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def config_export() -> str:
    stamp = f"# Exported {timezone.now():%Y-%m-%d %H:%M:%S %Z}.\n"
    body = yaml.dump(config_document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return HEADER + stamp + body
