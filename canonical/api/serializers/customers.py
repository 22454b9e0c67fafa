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
    # Left out, a field keeps its value on a known account (a partial sync changes only what it
    # sends, as the addresses and contacts always did) and takes the default on a new one.
    status = serializers.ChoiceField(
        choices=CustomerStatus.choices, required=False,
        help_text="Left out: unchanged. A new account (active or left out) starts pending: the hub checks it for "
        "duplicates, then the ERP activates it; `active` for an account still in onboarding waits for that.",
    )
    parent = RecordRefField(
        model=Customer, entity_type=EntityType.CUSTOMER, required=False, allow_null=True,
        help_text="The parent account in the hierarchy (sold-to above ship-tos); null for none. Left out: unchanged.",
    )
    group = serializers.SlugRelatedField(
        slug_field="code", queryset=CustomerGroup.objects.all(), required=False, allow_null=True,
        help_text="The buying group's code; null for none. Left out: unchanged.",
    )
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ROLE_CHOICES), allow_empty=False, required=False,
        help_text="Left out: every role for a new account, unchanged for a known one.",
    )
    tax_id = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                   help_text="Left out: empty for a new account, unchanged for a known one.")
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False,
                                      help_text="ISO 4217 code. Left out: USD for a new account, unchanged for a known one.")
    payment_terms = serializers.ChoiceField(
        choices=PaymentTerms.choices, required=False,
        help_text="Left out: net30 for a new account, unchanged for a known one.",
    )
    credit_limit = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False,
        help_text="Left out: 0 for a new account, unchanged for a known one.",
    )
    credit_status = serializers.ChoiceField(
        choices=CreditStatus.choices, required=False,
        help_text="Left out: good for a new account, unchanged for a known one (a credit hold stays).",
    )
    addresses = AddressInput(many=True, required=False)
    contacts = ContactInput(many=True, required=False)

    def validate_addresses(self, value):
        defaults = [a["kind"] for a in value if a["is_default"]]
        duplicated = sorted({kind for kind in defaults if defaults.count(kind) > 1})
        if duplicated:
            raise serializers.ValidationError(f"Only one default address per kind; more than one for {duplicated}.")
        return value

    def validate(self, attrs):
        roles = attrs.pop("roles", None)
        if roles is not None:
            attrs["is_sold_to"] = "sold_to" in roles
            attrs["is_bill_to"] = "bill_to" in roles
            attrs["is_ship_to"] = "ship_to" in roles
        return attrs
