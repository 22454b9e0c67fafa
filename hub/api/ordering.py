"""What the quote and order process APIs share: who may call them and how a body names things."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from canonical.access import AccessDenied, acting_system
from canonical.api.fields import RecordRefField, StrictFieldsMixin
from canonical.models import Customer, EntityType, SystemKind

# The systems that sell: they quote and place orders for customers (the ERP books them).
ORDERING_KINDS = frozenset({SystemKind.CRM, SystemKind.ECOMMERCE, SystemKind.ERP, SystemKind.HUB})
MAX_LINES = 200


def ordering_assert(user, *, staff_permission: str, what: str) -> None:
    """Selling systems (CRM, ecommerce, ERP) and staff with ``staff_permission``."""
    system = acting_system(user)
    if system is None:
        if not user.has_perm(staff_permission):
            raise AccessDenied(f"{what} needs the '{staff_permission}' permission.")
        return
    if system.kind not in ORDERING_KINDS:
        raise AccessDenied(
            f"{what} is for the systems that sell (CRM, ecommerce, ERP); system '{system.code}' "
            f"({system.get_kind_display()}) is not one of them.",
            system=system.code,
        )


def customer_ref_field(**kwargs) -> RecordRefField:
    return RecordRefField(model=Customer, entity_type=EntityType.CUSTOMER, **kwargs)


class QuoteLineInput(StrictFieldsMixin, serializers.Serializer):
    sku = serializers.CharField(max_length=60)
    quantity = serializers.DecimalField(
        max_digits=14, decimal_places=3, min_value=Decimal("0.001"), help_text="Positive; up to 3 decimals."
    )
    requested_date = serializers.DateField(required=False, allow_null=True)


class OrderSubmitLineInput(QuoteLineInput):
    unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True,
        help_text="The price the customer was shown; refused when it is not the hub's price for the line.",
    )


class CreditStandingSerializer(serializers.Serializer):
    credit_account = serializers.IntegerField(help_text="Hub id of the account whose limit applies (the root).")
    currency = serializers.CharField()
    limit = serializers.DecimalField(max_digits=14, decimal_places=2)
    exposure = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Open orders + open invoices.")
    open_orders = serializers.DecimalField(max_digits=14, decimal_places=2)
    open_invoices = serializers.DecimalField(max_digits=14, decimal_places=2)
    available = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Limit - exposure; may be < 0.")
    credit_status = serializers.CharField()
    on_hold = serializers.BooleanField()


class ProcessProblemSerializer(serializers.Serializer):
    pointer = serializers.CharField(help_text="JSON pointer into the request body.")
    code = serializers.CharField()
    detail = serializers.CharField()


def problem_item(pointer: str, code: str, detail: str) -> dict:
    return {"pointer": pointer, "code": code, "detail": detail}
