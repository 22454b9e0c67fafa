"""Customer accounts: hierarchy, sold-to/bill-to/ship-to roles, addresses, contacts, credit."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from django.conf import settings
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


# Duplicate-check keys. Each is a column with an index, so finding the likely duplicates of one
# account is a handful of index lookups whatever the number of accounts (canonical/services/duplicates.py).
NAME_BLOCK_LENGTH = 6
_REMARKS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NAME_STOP_WORDS = frozenset({"and", "the"})


def name_key(name: str) -> str:
    """The name with remarks ("(do not use)"), legal suffixes, case, accents, punctuation, spacing and
    "and"/"the" removed: "ACME Plumbing, Inc" and "Acme  Plumbing Inc. (old)" both give "acmeplumbing"."""
    words = normalise_name(_REMARKS.sub(" ", name)).split()
    return "".join(word for word in words if word not in _NAME_STOP_WORDS)[:200]


def tax_key(tax_id: str) -> str:
    """Letters and digits of a tax id, upper-cased ("12-3456789" and "123456789" match); "" when too
    short to mean anything ("N/A")."""
    key = re.sub(r"[^A-Z0-9]", "", unicodedata.normalize("NFKD", tax_id or "").upper())
    return key[:40] if len(key) >= 5 else ""


_STREET_WORDS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd",
    "drive": "dr", "lane": "ln", "court": "ct", "place": "pl", "parkway": "pkwy", "highway": "hwy",
    "square": "sq", "terrace": "ter", "circle": "cir", "suite": "ste", "building": "bldg", "floor": "fl",
    "north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw",
    "southeast": "se", "southwest": "sw", "number": "", "no": "",
}


def address_key(*, line1: str, city: str = "", postal_code: str = "", country: str = "") -> str:
    """Country, postal code (or city without one) and street line, with case, punctuation and the usual
    abbreviations (Street/St, Suite/Ste, North/N, ...) evened out; "" for an address without a street."""
    def words(text: str) -> list[str]:
        plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
        return re.sub(r"[^a-z0-9]+", " ", plain).split()

    street = " ".join(_STREET_WORDS.get(word, word) for word in words(line1)).split()
    if not street:
        return ""
    place = "".join(words(postal_code))[:5] or " ".join(words(city))
    return f"{(country or '').upper()}|{place}|{' '.join(street)}"[:300]


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


class Onboarding(models.TextChoices):
    """Where an account created in the CRM is on its way to ERP (hub/workflows/onboarding.py)."""

    NONE = "", "Not onboarded through the hub"
    DUPLICATE_REVIEW = "duplicate_review", "Held for duplicate review"
    ACTIVATION_REQUESTED = "activation_requested", "Waiting for ERP activation"
    ACTIVATED = "activated", "Activated in ERP"


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
    onboarding = models.CharField(max_length=30, choices=Onboarding.choices, default=Onboarding.NONE, blank=True)
    activation_requested_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Duplicate-check keys, derived from name and tax id on save (see name_key, tax_key).
    name_key = models.CharField(max_length=200, blank=True, editable=False)
    name_block = models.CharField(max_length=NAME_BLOCK_LENGTH, blank=True, editable=False)
    tax_key = models.CharField(max_length=40, blank=True, editable=False)

    class Meta:
        ordering = ["account_number"]
        indexes = [
            # One index serves both the exact-name lookup and the similar-name block (same first letters).
            models.Index(fields=["name_block", "name_key"], name="customer_name_match_idx"),
            models.Index(fields=["tax_key"], name="customer_tax_match_idx", condition=~Q(tax_key="")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="customer_credit_limit_not_negative"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="customer_not_own_parent"),
            models.CheckConstraint(
                condition=Q(is_sold_to=True) | Q(is_bill_to=True) | Q(is_ship_to=True),
                name="customer_has_a_role",
            ),
        ]
        # Finance's decision (canonical.services.customers.CREDIT_TERMS_FIELDS), apart from change_customer.
        permissions = [("change_credit_terms", "Can change credit limit, credit status, payment terms and currency")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"

    def save(self, *args, **kwargs):
        # A derived search key, not business logic: kept in step with the name it derives from.
        self.normalised_name = normalise_name(self.name)
        self.name_key = name_key(self.name)
        self.name_block = self.name_key[:NAME_BLOCK_LENGTH]
        self.tax_key = tax_key(self.tax_id)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            derived = set()
            if "name" in update_fields:
                derived |= {"normalised_name", "name_key", "name_block"}
            if "tax_id" in update_fields:
                derived.add("tax_key")
            kwargs["update_fields"] = {*update_fields, *derived}
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


class AddressQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for address in objs:
            address.match_key = address.computed_match_key()
        return super().bulk_create(objs, *args, **kwargs)


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
    # Duplicate-check key, derived on save and bulk_create (see address_key).
    match_key = models.CharField(max_length=300, blank=True, editable=False)

    objects = AddressQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "kind", "-is_default"]
        verbose_name_plural = "addresses"
        indexes = [models.Index(fields=["match_key"], name="address_match_idx", condition=~Q(match_key=""))]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"], condition=Q(is_default=True), name="address_one_default_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.city} {self.postal_code} {self.country}"

    def computed_match_key(self) -> str:
        return address_key(line1=self.line1, city=self.city, postal_code=self.postal_code, country=self.country)

    def save(self, *args, **kwargs):
        # A derived search key, kept in step with the fields it derives from (as Customer.normalised_name).
        self.match_key = self.computed_match_key()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "match_key"}
        super().save(*args, **kwargs)


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


class DuplicateDismissal(models.Model):
    """A data steward's decision that two accounts are not duplicates: the pair is never raised again.

    The pair is stored once, lower id first, whichever account the check started from.
    """

    customer_low = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_high = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    correlation_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.UniqueConstraint(fields=["customer_low", "customer_high"], name="duplicate_dismissal_once_per_pair"),
            models.CheckConstraint(condition=Q(customer_low__lt=models.F("customer_high")),
                                   name="duplicate_dismissal_pair_ordered"),
        ]
        indexes = [models.Index(fields=["customer_high", "customer_low"], name="duplicate_dismissal_high_idx")]

    def __str__(self) -> str:
        return f"{self.customer_low_id} ≠ {self.customer_high_id}"
