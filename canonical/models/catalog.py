"""Products, price lists with quantity breaks, and customer or group contract prices."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from canonical.models.base import TimeStamped, money_field, quantity_field
from canonical.models.customers import Customer, CustomerGroup


class ProductStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DISCONTINUED = "discontinued", "Discontinued"


class Product(TimeStamped):
    sku = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=300)
    unit_of_measure = models.CharField(max_length=10, default="EA")
    status = models.CharField(max_length=20, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    drop_ship = models.BooleanField(default=False, help_text="Shipped by the supplier straight to the customer.")
    weight_kg = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.description}"


class PriceList(TimeStamped):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default="USD")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_from__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="pricelist_valid_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PriceListItem(TimeStamped):
    """A list price; several rows for one product with rising ``min_quantity`` are quantity breaks."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="list_prices")
    min_quantity = quantity_field()
    unit_price = money_field()

    class Meta:
        ordering = ["price_list", "product", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product", "min_quantity"], name="pricelistitem_unique_break"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="pricelistitem_price_not_negative"),
            models.CheckConstraint(condition=Q(min_quantity__gte=0), name="pricelistitem_min_qty_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} ≥{self.min_quantity} @ {self.unit_price}"


class ContractPrice(TimeStamped):
    """A negotiated price for one customer or one customer group, valid for a period."""

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="contract_prices"
    )
    customer_group = models.ForeignKey(
        CustomerGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="contract_prices"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="contract_prices")
    contract_reference = models.CharField(max_length=60, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    min_quantity = quantity_field()
    unit_price = money_field()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["product", "customer", "customer_group", "min_quantity"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(customer__isnull=False) & Q(customer_group__isnull=True))
                | (Q(customer__isnull=True) & Q(customer_group__isnull=False)),
                name="contractprice_customer_xor_group",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="contractprice_price_not_negative"),
            models.CheckConstraint(condition=Q(min_quantity__gte=0), name="contractprice_min_qty_not_negative"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="contractprice_valid_range",
            ),
        ]
        indexes = [models.Index(fields=["product", "customer"], name="contractprice_lookup_idx")]

    def __str__(self) -> str:
        who = self.customer or self.customer_group
        return f"{self.product.sku} for {who} @ {self.unit_price}"
