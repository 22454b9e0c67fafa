"""The exception queue: every failure a person must act on, with its business context."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from canonical.models import Customer, Invoice, Order, PurchaseOrder, Shipment, System
from canonical.state import TransitionTable
from connectors.models.connectors import Connector
from connectors.models.deliveries import Delivery
from connectors.models.inbound import InboundMessage


class Category(models.TextChoices):
    VALIDATION = "validation", "Validation"
    MAPPING = "mapping", "Mapping"
    AUTHENTICATION = "authentication", "Authentication"
    TIMEOUT = "timeout", "Timeout"
    RATE_LIMITED = "rate_limited", "Rate limited"
    PARTNER_ERROR = "partner_error", "Partner error"
    BUSINESS_RULE = "business_rule", "Business rule"
    CREDIT_HOLD = "credit_hold", "Credit hold"
    INVENTORY_SHORTAGE = "inventory_shortage", "Inventory shortage"
    SUPPLIER_DATE_MISS = "supplier_date_miss", "Supplier date miss"
    DUPLICATE_CUSTOMER = "duplicate_customer", "Duplicate customer"
    INVOICE_DISPUTE = "invoice_dispute", "Invoice dispute"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# Time to act, by severity: the SLA due time of a new exception.
SLA_BY_SEVERITY = {
    Severity.CRITICAL: timedelta(hours=1),
    Severity.HIGH: timedelta(hours=4),
    Severity.MEDIUM: timedelta(hours=24),
    Severity.LOW: timedelta(hours=72),
}


class Team(models.TextChoices):
    FINANCE = "finance", "Finance"
    OPERATIONS = "operations", "Operations"
    DATA_STEWARDSHIP = "data_stewardship", "Data stewardship"
    SUPPLIER_MANAGEMENT = "supplier_management", "Supplier management"
    INTEGRATION = "integration", "Integration"


class ExceptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


X = ExceptionStatus
EXCEPTION_TRANSITIONS = TransitionTable(
    "Exception",
    {
        X.OPEN: {X.IN_PROGRESS, X.RESOLVED, X.IGNORED},
        X.IN_PROGRESS: {X.OPEN, X.RESOLVED, X.IGNORED},
        X.RESOLVED: {X.OPEN},
        X.IGNORED: {X.OPEN},
    },
)
ACTIVE_EXCEPTION_STATUSES = (X.OPEN, X.IN_PROGRESS)


class IntegrationException(models.Model):
    category = models.CharField(max_length=30, choices=Category.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=12, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN)
    team = models.CharField(max_length=30, choices=Team.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True, help_text="Facts a person needs to decide.")
    fingerprint = models.CharField(
        max_length=200, help_text="Same failure, same fingerprint: repeats raise occurrences, not new rows."
    )
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    sla_due_at = models.DateTimeField()

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    shipment = models.ForeignKey(Shipment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supplier = models.ForeignKey(System, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    connector = models.ForeignKey(Connector, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    inbound_message = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    workflow_step = models.CharField(max_length=80, blank=True)
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)

    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["sla_due_at", "-id"]
        verbose_name = "exception"
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(status__in=["open", "in_progress"]),
                name="exception_one_active_per_fingerprint",
            )
        ]
        indexes = [
            models.Index(fields=["team", "status", "sla_due_at"], name="exception_queue_idx"),
            models.Index(fields=["status", "last_seen_at"], name="exception_status_idx"),
        ]
        permissions = [
            ("work_finance_queue", "Can work the finance exception queue"),
            ("work_operations_queue", "Can work the operations exception queue"),
            ("work_data_stewardship_queue", "Can work the data stewardship exception queue"),
            ("work_supplier_management_queue", "Can work the supplier management exception queue"),
            ("work_integration_queue", "Can work the integration exception queue"),
        ]

    def __str__(self) -> str:
        return f"[{self.get_category_display()}] {self.title}"
