"""Customer accounts, their addresses and contacts."""

from __future__ import annotations

from rest_framework import serializers

from canonical.models import Address, Contact, Customer, CustomerGroup, EntityType
from canonical.serializers.base import CanonicalSerializer, _RefsPrefetchingListSerializer


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = ["id", "kind", "line1", "line2", "city", "region", "postal_code", "country", "is_default"]


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "email", "phone", "role", "is_primary"]


class CustomerSerializer(CanonicalSerializer):
    parent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    merged_into = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The account this one was merged into (status merged)."
    )
    group = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    addresses = AddressSerializer(many=True, read_only=True)
    contacts = ContactSerializer(many=True, read_only=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.CUSTOMER
        fields = [
            "id", "account_number", "name", "status", "parent", "group", "roles", "tax_id", "currency",
            "payment_terms", "credit_limit", "credit_status", "addresses", "contacts", "external_refs",
            "onboarding", "merged_into", "created_at", "updated_at",
        ]

    def get_roles(self, customer: Customer) -> list[str]:
        return [
            role
            for role, flag in (
                ("sold_to", customer.is_sold_to),
                ("bill_to", customer.is_bill_to),
                ("ship_to", customer.is_ship_to),
            )
            if flag
        ]


CUSTOMER_PREFETCH = ("addresses", "contacts")
CUSTOMER_SELECT = ("group",)


def customer_for_event(pk: int) -> Customer:
    """The customer as stored, read with what CustomerSerializer follows (three queries: the row with
    its group, its addresses, its contacts), for the payload of the event that reports a change."""
    return Customer.objects.select_related(*CUSTOMER_SELECT).prefetch_related(*CUSTOMER_PREFETCH).get(pk=pk)


__all__ = ["AddressSerializer", "ContactSerializer", "CustomerGroup", "CustomerSerializer", "customer_for_event"]
