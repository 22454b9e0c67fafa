"""Staff roles: one Django group per role, with exactly the permissions the role needs.

``ROLE_PERMISSIONS`` is the single table. Each entry is ``"app_label.codename"``;
a ``*`` in the codename is a pattern over the permissions that exist (so
``"canonical.view_*"`` also covers canonical models added later). Later issues
add their permissions here. ``roles_apply`` makes the groups match the table
exactly, and refuses a table entry that names no existing permission.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from canonical.context import Actor
from canonical.services.events import audit_record

OPERATIONS = "operations"
FINANCE = "finance"
DATA_STEWARD = "data_steward"
GOVERNANCE_BOARD = "governance_board"
INTEGRATION_ENGINEER = "integration_engineer"

ROLE_LABELS: dict[str, str] = {
    OPERATIONS: "Operations",
    FINANCE: "Finance",
    DATA_STEWARD: "Data steward",
    GOVERNANCE_BOARD: "API governance board",
    INTEGRATION_ENGINEER: "Integration engineer",
}

ROLE_PERMISSIONS: dict[str, list[str]] = {
    OPERATIONS: [
        "canonical.view_*",
        # Cancelling an order (the API and the admin's Cancel order…). Lines, shipments and stock are never
        # edited by hand.
        "canonical.change_order",
        # Exception queues: operations' own and supplier management's (the PRODUCT's operations staff
        # chase suppliers), with read access to what the exceptions point at.
        "connectors.view_integrationexception",
        "connectors.work_operations_queue",
        "connectors.work_supplier_management_queue",
        "connectors.view_delivery",
        "connectors.view_deliveryattempt",
        "connectors.view_inboundmessage",
        "connectors.view_inboundmessagerevision",
        "connectors.view_connector",
        "connectors.view_subscription",
    ],
    FINANCE: [
        "canonical.release_credit_hold",
        "canonical.change_credit_terms",
        "canonical.view_customer",
        "canonical.view_customergroup",
        "canonical.view_address",
        "canonical.view_contact",
        "canonical.view_order",
        "canonical.view_orderline",
        "canonical.view_invoice",
        "canonical.view_invoiceline",
        "canonical.view_creditmemo",
        "canonical.change_invoice",
        # Read access to what finance's pages point at: what an order shipped, returned and bought
        # (a dispute or a credit memo is about them), its products and locations, the systems, and
        # the order's history: its business events and the audit trail of finance's own decisions.
        "canonical.view_shipment",
        "canonical.view_shipmentline",
        "canonical.view_shipmentmilestone",
        "canonical.view_returnauthorization",
        "canonical.view_returnline",
        "canonical.view_purchaseorder",
        "canonical.view_purchaseorderline",
        "canonical.view_product",
        "canonical.view_location",
        "canonical.view_system",
        "canonical.view_externalref",
        "canonical.view_businessevent",
        "canonical.view_auditentry",
        "connectors.view_integrationexception",
        "connectors.work_finance_queue",
    ],
    DATA_STEWARD: [
        "canonical.view_customer",
        "canonical.change_customer",
        "canonical.view_customergroup",
        "canonical.view_address",
        "canonical.change_address",
        "canonical.view_contact",
        "canonical.change_contact",
        "canonical.view_externalref",
        "canonical.change_externalref",
        "canonical.view_system",
        # The audit trail of the merges and dismissals a steward decides.
        "canonical.view_auditentry",
        "connectors.view_integrationexception",
        "connectors.work_data_stewardship_queue",
        "connectors.view_inboundmessage",
    ],
    GOVERNANCE_BOARD: [
        "governance.view_*",
        "governance.add_*",
        "governance.change_*",
        "governance.review_apiversion",
        "canonical.view_system",
        "canonical.view_systemofrecord",
    ],
    INTEGRATION_ENGINEER: [
        "canonical.view_*",
        "governance.view_*",
        "django_q.view_*",
        "canonical.add_system",
        "canonical.change_system",
        "canonical.change_systemofrecord",
        "canonical.add_externalref",
        "canonical.change_externalref",
        "governance.add_consumer",
        "governance.change_consumer",
        "governance.add_apikey",
        "governance.change_apikey",
        # Connectors, mappings and subscriptions are theirs; the integration queue too.
        "connectors.view_*",
        "connectors.add_connector",
        "connectors.change_connector",
        "connectors.add_mapping",
        "connectors.change_mapping",
        "connectors.add_subscription",
        "connectors.change_subscription",
        "connectors.work_integration_queue",
    ],
}


class UnknownPermission(LookupError):
    def __init__(self, missing: dict[str, list[str]]):
        self.missing = missing
        lines = [f"{role}: {', '.join(entries)}" for role, entries in sorted(missing.items())]
        super().__init__(
            "These role permissions match no permission in the database (typo, or migrations not applied?): "
            + "; ".join(lines)
        )


@dataclass
class RoleChange:
    role: str
    created: bool
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def changed(self) -> bool:
        return self.created or bool(self.added or self.removed)


def _label(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def role_permissions_resolve(table: dict[str, list[str]] | None = None) -> dict[str, list[Permission]]:
    """{role: [Permission, ...]} for the table; raise UnknownPermission naming every entry that matches nothing."""
    table = ROLE_PERMISSIONS if table is None else table
    by_label = {_label(p): p for p in Permission.objects.select_related("content_type")}
    resolved: dict[str, list[Permission]] = {}
    missing: dict[str, list[str]] = {}
    for role, entries in table.items():
        chosen: dict[str, Permission] = {}
        for entry in entries:
            if "*" in entry:
                matches = {label: p for label, p in by_label.items() if fnmatch.fnmatchcase(label, entry)}
            else:
                matches = {entry: by_label[entry]} if entry in by_label else {}
            if not matches:
                missing.setdefault(role, []).append(entry)
            chosen.update(matches)
        resolved[role] = sorted(chosen.values(), key=_label)
    if missing:
        raise UnknownPermission(missing)
    return resolved


def roles_apply(*, actor: Actor, table: dict[str, list[str]] | None = None) -> list[RoleChange]:
    """Create one group per role and give it exactly the table's permissions (idempotent, audited)."""
    resolved = role_permissions_resolve(table)
    changes = []
    with transaction.atomic():
        for role, permissions in resolved.items():
            group, created = Group.objects.get_or_create(name=role)
            current = {_label(p): p for p in group.permissions.select_related("content_type")}
            wanted = {_label(p): p for p in permissions}
            change = RoleChange(
                role=role,
                created=created,
                added=sorted(set(wanted) - set(current)),
                removed=sorted(set(current) - set(wanted)),
                total=len(wanted),
            )
            if change.added or change.removed:
                group.permissions.set(permissions)
            if change.changed:
                audit_record(
                    actor=actor, action="role.permissions_set", object_type="group", object_id=group.pk,
                    before={"permissions": sorted(current)}, after={"permissions": sorted(wanted)},
                    note=f"role {role}",
                )
            changes.append(change)
    return changes
