"""What the customers' system of record sends to upsert an account."""

from __future__ import annotations

from rest_framework import serializers

from canonical.api.fields import RecordRefField, StrictFieldsMixin
from canonical.models import (
    AddressKind,
    CreditStatus,
    Customer,
    CustomerGroup,
    CustomerStatus,
    EntityType,
    PaymentTerms,
)


class AddressInput(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=AddressKind.choices, default=AddressKind.SHIPPING)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.RegexField(r"^[A-Z]{2}$", default="US", help_text="ISO 3166-1 alpha-2")
    is_default = serializers.BooleanField(default=False)


class ContactInput(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    role = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    is_primary = serializers.BooleanField(default=False)


ROLE_CHOICES = ["sold_to", "bill_to", "ship_to"]


class CustomerUpsertInput(StrictFieldsMixin, serializers.Serializer):
    account_number = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    status = serializers.ChoiceField(choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    parent = RecordRefField(
        model=Customer, entity_type=EntityType.CUSTOMER, required=False, allow_null=True, default=None,
        help_text="The parent account in the hierarchy (sold-to above ship-tos).",
    )
    group = serializers.SlugRelatedField(
        slug_field="code", queryset=CustomerGroup.objects.all(), required=False, allow_null=True, default=None
    )
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ROLE_CHOICES), allow_empty=False, default=lambda: list(ROLE_CHOICES)
    )
    tax_id = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="USD", help_text="ISO 4217 code")
    payment_terms = serializers.ChoiceField(choices=PaymentTerms.choices, default=PaymentTerms.NET30)
    credit_limit = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, default=0)
    credit_status = serializers.ChoiceField(choices=CreditStatus.choices, default=CreditStatus.GOOD)
    addresses = AddressInput(many=True, required=False)
    contacts = ContactInput(many=True, required=False)

    def validate_addresses(self, value):
        defaults = [a["kind"] for a in value if a["is_default"]]
        duplicated = sorted({kind for kind in defaults if defaults.count(kind) > 1})
        if duplicated:
            raise serializers.ValidationError(f"Only one default address per kind; more than one for {duplicated}.")
        return value

    def validate(self, attrs):
        roles = attrs.pop("roles")
        attrs["is_sold_to"] = "sold_to" in roles
        attrs["is_bill_to"] = "bill_to" in roles
        attrs["is_ship_to"] = "ship_to" in roles
        return attrs
