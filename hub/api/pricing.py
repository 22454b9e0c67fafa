"""POST /api/v1/pricing/quote: price, availability and promised date per line, and credit standing.

One synchronous call for a selling system: what each line would cost the customer and by which
rule, how much each location can promise and when the line would ship, and where the customer
stands against its credit limit. Problems with one line (an unknown or inactive SKU, no price)
or with the customer are named in the answer where they apply; the rest is still quoted.
A quote reserves nothing.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import acting_system
from canonical.api.fields import RecordRefField, StrictFieldsMixin
from canonical.api.views.base import PartnerOrStaff
from canonical.models import Customer, EntityType, ProductStatus
from canonical.models.base import line_amount_over_max, money_over_max
from canonical.services.allocation import quantity_text
from canonical.services.availability import (
    line_promise,
    products_short,
    products_with_stock,
    supply_by_product,
)
from canonical.services.credit import customer_credit_standing
from canonical.services.order_entry import customer_problems, ship_to_resolve
from canonical.services.pricing import PriceRule, prices_find, pricing_currency
from hub.api.examples import QUOTE_EXAMPLE
from hub.api.ordering import (
    MAX_LINES,
    CreditStandingSerializer,
    ProcessProblemSerializer,
    QuoteLineInput,
    ordering_assert,
    problem_item,
)

_CENT = Decimal("0.01")


class Unknown:
    """A reference that names no record; the quote says so instead of failing."""

    def __init__(self, message: str):
        self.message = message


class LenientRecordRefField(RecordRefField):
    """A RecordRefField that hands an unknown (but well-formed) reference back as ``Unknown``."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail[0] if isinstance(exc.detail, list) and exc.detail else None
            if getattr(detail, "code", "") in {"unknown_id", "unknown_ref", "unknown_system"}:
                return Unknown(str(detail))
            raise


class QuoteInput(StrictFieldsMixin, serializers.Serializer):
    customer = LenientRecordRefField(model=Customer, entity_type=EntityType.CUSTOMER)
    ship_to = LenientRecordRefField(model=Customer, entity_type=EntityType.CUSTOMER, required=False, allow_null=True)
    lines = QuoteLineInput(many=True, allow_empty=False, max_length=MAX_LINES)


class QuotePriceSerializer(serializers.Serializer):
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    rule = serializers.ChoiceField(choices=PriceRule.ALL, help_text="The rule that produced the price.")
    currency = serializers.CharField()
    source = serializers.CharField(help_text="The contract reference or the price list code.")
    min_quantity = serializers.DecimalField(max_digits=14, decimal_places=3,
                                            help_text="The quantity break the line reached.")


class QuoteLocationAvailabilitySerializer(serializers.Serializer):
    location = serializers.CharField()
    available_to_promise = serializers.DecimalField(max_digits=14, decimal_places=3)
    on_hand = serializers.DecimalField(max_digits=14, decimal_places=3)
    reserved = serializers.DecimalField(max_digits=14, decimal_places=3)
    in_transit = serializers.DecimalField(max_digits=14, decimal_places=3)
    last_updated_at = serializers.DateTimeField(allow_null=True, help_text="When the warehouse last reported it.")


class QuoteLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Index of the line in the request.")
    sku = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3)
    requested_date = serializers.DateField(allow_null=True)
    quotable = serializers.BooleanField(help_text="False when a problem keeps the line from being ordered.")
    price = QuotePriceSerializer(allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    drop_ship = serializers.BooleanField()
    available_to_promise = serializers.DecimalField(max_digits=14, decimal_places=3,
                                                    help_text="At all locations together.")
    availability = QuoteLocationAvailabilitySerializer(many=True)
    promised_date = serializers.DateField(allow_null=True, help_text="When the line can ship complete.")
    promise_source = serializers.ChoiceField(
        choices=["stock", "supply_on_order", "supplier_lead_time", "drop_ship"], allow_null=True)
    problems = ProcessProblemSerializer(many=True)


class QuoteAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    account_number = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    customer = QuoteAccountSerializer(allow_null=True)
    ship_to = QuoteAccountSerializer(allow_null=True)
    currency = serializers.CharField()
    priced_on = serializers.DateField()
    lines = QuoteLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Sum of the quotable lines.")
    credit = CreditStandingSerializer(allow_null=True)
    within_credit = serializers.BooleanField(
        allow_null=True, help_text="Whether an order of the quotable lines would pass the credit check now.")
    problems = ProcessProblemSerializer(many=True, help_text="Problems with the customer or ship-to.")


def _account(customer: Customer | None) -> dict | None:
    if customer is None:
        return None
    return {"id": customer.pk, "account_number": customer.account_number, "name": customer.name,
            "status": customer.status}


def _problems_as_items(problems: list[dict], code: str) -> list[dict]:
    return [problem_item(p["pointer"], code, message) for p in problems for message in p["messages"]]


def quote_body(*, customer, ship_to, lines: list[dict], today) -> dict:
    """The quote for resolved references (a Customer, an Unknown or None) and validated lines."""
    problems = []
    if isinstance(customer, Unknown):
        problems.append(problem_item("/customer", "unknown_customer", customer.message + " Quoted at list prices."))
        customer = None
    unknown_ship_to = ship_to if isinstance(ship_to, Unknown) else None
    if unknown_ship_to is not None:
        problems.append(problem_item("/ship_to", "unknown_ship_to", ship_to.message))
        ship_to = None
    if customer is not None:
        problems += _problems_as_items(customer_problems(customer), "customer_cannot_order")
        if unknown_ship_to is None:  # the order's rule: the ship-to named, else the customer's default
            named = ship_to is not None
            ship_to, refused = ship_to_resolve(customer, ship_to)
            problems += _problems_as_items(refused, "ship_to_not_allowed" if named else "ship_to_required")
    products, stock = products_with_stock(line["sku"] for line in lines)
    currency = pricing_currency(customer=customer, on_date=today)
    active = [(i, line, products[line["sku"]]) for i, line in enumerate(lines)
              if line["sku"] in products and products[line["sku"]].status == ProductStatus.ACTIVE]
    prices = dict(zip(
        (i for i, _, _ in active),
        prices_find(customer=customer, lines=[(p, line["quantity"]) for _, line, p in active], on_date=today,
                    currency=currency),
        strict=True,
    ))
    supply = supply_by_product(products_short(((p, line["quantity"]) for _, line, p in active), stock), today=today)
    out, total = [], Decimal("0.00")
    for index, line in enumerate(lines):
        product = products.get(line["sku"])
        line_problems = []
        price = prices.get(index)
        if product is None:
            line_problems.append(problem_item(f"/lines/{index}/sku", "unknown_sku", f"No product with SKU '{line['sku']}'."))
        elif product.status != ProductStatus.ACTIVE:
            line_problems.append(problem_item(f"/lines/{index}/sku", "inactive_sku",
                                              f"SKU '{line['sku']}' is {product.status}; it cannot be ordered."))
        elif price is None:
            line_problems.append(problem_item(
                f"/lines/{index}/sku", "no_price",
                f"No price for SKU '{line['sku']}' and quantity {line['quantity']} in {currency}"
                + (f" for account {customer.account_number}." if customer else "."),
            ))
        amount = (line["quantity"] * price.unit_price).quantize(_CENT) if price is not None else None
        if amount is not None and not line_problems and (
                too_large := line_amount_over_max(line["quantity"], price.unit_price, price.currency)):
            line_problems.append(problem_item(f"/lines/{index}/quantity", "amount_too_large", too_large))
        quotable = not line_problems
        if quotable:
            total += amount
        stocks = stock.get(product.pk, []) if product else []
        promise = None
        if product is not None and product.status == ProductStatus.ACTIVE:
            promise = line_promise(product=product, quantity=line["quantity"],
                                   requested_date=line.get("requested_date"), stock=stocks,
                                   supply=supply.get(product.pk, []), today=today)
        out.append({
            "line": index,
            "sku": line["sku"],
            "description": product.description if product else None,
            "quantity": quantity_text(line["quantity"]),
            "requested_date": line.get("requested_date"),
            "quotable": quotable,
            "price": price.as_dict() if price is not None else None,
            "amount": str(amount) if amount is not None else None,
            "drop_ship": bool(product and product.drop_ship),
            "available_to_promise": quantity_text(sum((s.available for s in stocks), Decimal("0"))),
            "availability": [s.as_dict() for s in stocks],
            "promised_date": promise.promised_date if promise else None,
            "promise_source": promise.source if promise else None,
            "problems": line_problems,
        })
    if too_large := money_over_max(total, "The total of the quotable lines"):
        problems.append(problem_item("/lines", "total_too_large",
                                     too_large + " An order of them would be refused: split it into several."))
    credit = customer_credit_standing(customer=customer) if customer is not None else None
    return {
        "customer": _account(customer),
        "ship_to": _account(ship_to),
        "currency": currency,
        "priced_on": today,
        "lines": out,
        "total": str(total),
        "credit": credit.as_dict() if credit else None,
        "within_credit": (not credit.on_hold and not credit.would_exceed(total)) if credit else None,
        "problems": problems,
    }


class QuoteView(APIView):
    permission_classes = [PartnerOrStaff]

    @extend_schema(
        tags=["process: orders"],
        operation_id="pricing_quote",
        summary="Price and availability: unit price and rule, available-to-promise and promised date per line, "
        "and the customer's credit standing",
        description=(
            "For a customer (hub id, your own id for it, or `{\"system\": ..., \"external_id\": ...}`) and lines "
            "(SKU, quantity, requested date): per line the unit price and the rule that produced it "
            "(`contract_customer`, `contract_group`, `quantity_break`, `list_price`), what each location can "
            "promise, and the date the line can ship complete; and the customer's credit standing (limit, "
            "exposure = open orders + open invoices, available). An unknown or inactive SKU, or a line without a "
            "price, is named in that line's `problems`; an unknown customer is named in `problems` and the lines "
            "are quoted at list prices. Nothing is reserved. At most 200 lines."
        ),
        request=QuoteInput,
        responses={200: QuoteSerializer},
        examples=[OpenApiExample("Two lines", request_only=True, value=QUOTE_EXAMPLE)],
    )
    def post(self, request):
        ordering_assert(request.user, staff_permission="canonical.view_pricelist", what="Quoting")
        serializer = QuoteInput(data=request.data, context={"system": acting_system(request.user)})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        body = quote_body(customer=data["customer"], ship_to=data.get("ship_to"), lines=data["lines"],
                          today=timezone.localdate())
        return Response(body)  # already in QuoteSerializer's shape (which documents it)


urlpatterns = [path("pricing/quote", QuoteView.as_view(), name="pricing-quote")]
