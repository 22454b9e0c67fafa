"""Event contracts: register a schema version under the contract's compatibility mode.

The canonical event types (canonical.events.EVENT_TYPES) are registered with a schema
generated from the payloads the hub has recorded (see governance.contracts_schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from jsonschema import SchemaError
from jsonschema.validators import validator_for

from canonical.context import Actor
from canonical.events import EVENT_TYPES
from canonical.services.events import audit_record
from governance.contracts_schema import infer_payload_schema
from governance.diff import Finding, check_against_history
from governance.models import CompatibilityMode, EventContract, EventContractVersion
from governance.services.registry import GovernanceError, _user


class ContractRefused(GovernanceError):
    def __init__(self, message: str, findings: list[Finding] | None = None, reasons: list[str] | None = None):
        self.findings = findings or []
        super().__init__(message, reasons or [f"[{f.check_id}] {f.location.pointer or '/'}: {f.message}"
                                              for f in self.findings if f.is_breaking])


@dataclass
class ContractCheck:
    contract: EventContract
    version: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not any(f.is_breaking for f in self.findings)


def _schema_problems(schema: Any) -> list[str]:
    if not isinstance(schema, Mapping):
        return ["The schema must be a JSON object."]
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        return [f"Not a valid JSON Schema: {exc.message}"]
    return []


def event_contract_check(*, contract: EventContract, schema: Mapping) -> ContractCheck:
    """Dry run: the findings of ``schema`` against the contract's history under its mode."""
    problems = _schema_problems(schema)
    if problems:
        raise ContractRefused(f"The schema for {contract.event_type} is not valid.", reasons=problems)
    history = list(contract.versions.order_by("version"))
    next_version = (history[-1].version + 1) if history else 1
    findings: list[Finding] = []
    if history and contract.compatibility != CompatibilityMode.NONE:
        findings = check_against_history(
            [v.schema for v in history], dict(schema), contract.compatibility, contract.transitive,
            labels=[str(v.version) for v in history],
        )
    return ContractCheck(contract=contract, version=next_version, findings=findings)


def event_contract_register(
    *,
    event_type: str,
    schema: Mapping,
    actor: Actor,
    changelog: str = "",
    compatibility: str | None = None,
    transitive: bool | None = None,
    aggregate_type: str = "",
    description: str = "",
) -> EventContractVersion:
    """Add the next schema version of an event contract, refused when it breaks the compatibility mode."""
    with transaction.atomic():
        contract, created = EventContract.objects.select_for_update().get_or_create(
            event_type=event_type,
            defaults={"compatibility": compatibility or CompatibilityMode.BACKWARD,
                      "transitive": bool(transitive), "aggregate_type": aggregate_type,
                      "description": description},
        )
        changed = []
        if not created and compatibility is not None and compatibility != contract.compatibility:
            contract.compatibility = compatibility
            changed.append("compatibility")
        if not created and transitive is not None and transitive != contract.transitive:
            contract.transitive = transitive
            changed.append("transitive")
        if changed:
            contract.save(update_fields=changed)
        check = event_contract_check(contract=contract, schema=schema)
        if not check.compatible:
            mode = contract.compatibility + (" transitive" if contract.transitive else "")
            raise ContractRefused(
                f"Version {check.version} of {event_type} breaks {mode} compatibility.", check.findings
            )
        version = EventContractVersion.objects.create(
            contract=contract, version=check.version, schema=dict(schema), changelog=changelog,
            compatibility_report={"mode": contract.compatibility, "transitive": contract.transitive,
                                  "findings": [f.to_dict() for f in check.findings]},
            created_by=_user(actor),
        )
        audit_record(actor=actor, action="event_contract.version_registered", object_type="event_contract",
                     object_id=contract.pk, after={"event_type": event_type, "version": version.version,
                                                   "mode": contract.compatibility, "transitive": contract.transitive})
    return version


@dataclass
class CanonicalRegistration:
    registered: list[EventContractVersion] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    without_samples: list[str] = field(default_factory=list)
    refused: dict[str, ContractRefused] = field(default_factory=dict)


def event_contracts_register_canonical(*, actor: Actor, sample_size: int = 200) -> CanonicalRegistration:
    """Register every canonical event type with a schema generated from its recorded payloads.

    A type with no recorded event gets its contract without a schema version. A type whose generated schema equals its latest registered one is left alone; a schema that
    breaks the contract's mode is reported, not stored.
    """
    result = CanonicalRegistration()
    for event_type in sorted(EVENT_TYPES):
        schema = infer_payload_schema(event_type, sample_size=sample_size)
        contract = EventContract.objects.filter(event_type=event_type).first()
        if schema is None:
            # Nothing recorded to generate from: the contract is listed, its first schema comes with the first event.
            if contract is None:
                contract = EventContract.objects.create(event_type=event_type,
                                                        aggregate_type=event_type.split(".")[0])
                audit_record(actor=actor, action="event_contract.created", object_type="event_contract",
                             object_id=contract.pk, after={"event_type": event_type})
            result.without_samples.append(event_type)
            continue
        latest = contract.versions.order_by("-version").first() if contract else None
        if latest is not None and latest.schema == schema:
            result.unchanged.append(event_type)
            continue
        try:
            result.registered.append(event_contract_register(
                event_type=event_type, schema=schema, actor=actor, aggregate_type=event_type.split(".")[0],
                changelog="generated from the payloads the hub has recorded",
            ))
        except ContractRefused as exc:
            result.refused[event_type] = exc
    return result
