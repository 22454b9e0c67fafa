"""Customer accounts: hierarchy, sold-to/bill-to/ship-to roles, addresses, contacts, credit."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from django.db import models
from django.db.models import Q

from canonical.models.base import TimeStamped, money_field

_LEGAL_SUFFIXES = re.compile(
    r"\b(inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|co|company|gmbh|plc|sa|bv|pty)\b\.?"
)


def normalise_name(name: str) -> str:
    """Lower-case, accents and punctuation removed, legal suffixes dropped: the key for duplicate checks."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    text = _LEGAL_SUFFIXES.sub(" ", text)
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    return " ".join(text.split())


class CustomerGroup(TimeStamped):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CreditStatus(models.TextChoices):
    GOOD = "good", "Good standing"
    WATCH = "watch", "On watch"
    HOLD = "hold", "On credit hold"


class CustomerStatus(models.TextChoices):
    PENDING = "pending", "Pending onboarding"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    MERGED = "merged", "Merged into another account"


class PaymentTerms(models.TextChoices):
    PREPAID = "prepaid", "Prepaid"
    NET15 = "net15", "Net 15"
    NET30 = "net30", "Net 30"
    NET45 = "net45", "Net 45"
    NET60 = "net60", "Net 60"


class Customer(TimeStamped):
    """A customer account. Ship-to and bill-to accounts hang below their sold-to in the hierarchy."""

    account_number = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    normalised_name = models.CharField(max_length=200, db_index=True, editable=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    group = models.ForeignKey(
        CustomerGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    is_sold_to = models.BooleanField(default=True)
    is_bill_to = models.BooleanField(default=True)
    is_ship_to = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    tax_id = models.CharField(max_length=40, blank=True, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    payment_terms = models.CharField(max_length=20, choices=PaymentTerms.choices, default=PaymentTerms.NET30)
    credit_limit = money_field(default=Decimal("0"))
    credit_status = models.CharField(max_length=10, choices=CreditStatus.choices, default=CreditStatus.GOOD)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_accounts"
    )

    class Meta:
        ordering = ["account_number"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="customer_credit_limit_not_negative"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="customer_not_own_parent"),
            models.CheckConstraint(
                condition=Q(is_sold_to=True) | Q(is_bill_to=True) | Q(is_ship_to=True),
                name="customer_has_a_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"

    def save(self, *args, **kwargs):
        # A derived search key, not business logic: kept in step with the name it derives from.
        self.normalised_name = normalise_name(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "normalised_name"}
        super().save(*args, **kwargs)

    @property
    def root(self) -> Customer:
        node = self
        seen = {node.pk}
        while node.parent_id and node.parent_id not in seen:
            node = node.parent
            seen.add(node.pk)
        return node


class AddressKind(models.TextChoices):
    BILLING = "billing", "Billing"
    SHIPPING = "shipping", "Shipping"
    REGISTERED = "registered", "Registered office"


class Address(TimeStamped):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(max_length=20, choices=AddressKind.choices, default=AddressKind.SHIPPING)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["customer", "kind", "-is_default"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"], condition=Q(is_default=True), name="address_one_default_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.city} {self.postal_code} {self.country}"


class Contact(TimeStamped):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    role = models.CharField(max_length=80, blank=True, help_text="e.g. buyer, accounts payable")
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["customer", "-is_primary", "name"]

    def __str__(self) -> str:
        return self.name
