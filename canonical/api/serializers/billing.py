"""What the invoices' and returns' systems of record send to upsert invoices, returns and credit memos."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from canonical.api.fields import HappenedAtField, RecordRefField, StrictFieldsMixin
from canonical.api.serializers.orders import (
    SkuField,
    money,
    non_negative_quantity,
    positive_quantity,
    unique_line_numbers,
)
from canonical.models import (
    Customer,
    EntityType,
    Invoice,
    InvoiceStatus,
    Order,
    ReturnAuthorization,
    ReturnStatus,
    Shipment,
)


def _order_lines(order: Order) -> dict[int, tuple[int, int]]:
    """{line_number: (order line id, product id)} of an order."""
    return {number: (pk, product) for number, pk, product in order.lines.values_list("line_number", "pk", "product_id")}


def _not_your_order(customer: Customer, order: Order) -> str:
    return f"Account {customer.account_number} is not the customer of order {order.number}."


class InvoiceLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None,
        help_text="The order line invoiced (needs the invoice's order).",
    )
    sku = SkuField()
    quantity = positive_quantity()
    unit_price = money()


class InvoiceUpsertInput(StrictFieldsMixin, serializers.Serializer):
    number = serializers.CharField(max_length=40)
    customer = RecordRefField(model=Customer, entity_type=EntityType.CUSTOMER, help_text="The billed account.")
    order = RecordRefField(
        model=Order, entity_type=EntityType.ORDER, required=False, allow_null=True, default=None,
        help_text="The order invoiced; taken from the shipment when only that is given.",
    )
    shipment = RecordRefField(
        model=Shipment, entity_type=EntityType.SHIPMENT, required=False, allow_null=True, default=None
    )
    status = serializers.ChoiceField(
        choices=InvoiceStatus.choices, required=False,
        help_text="Left out: posted for a new invoice, unchanged for a known one (a dispute raised in the hub "
        "stays until the invoice is sent with another status).",
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, default=None, help_text="ISO 4217; defaults to the customer's currency."
    )
    amount_paid = money(default=0)
    issued_at = serializers.DateTimeField()
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    paid_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    dispute_reason = serializers.CharField(required=False, allow_blank=True,
                                           help_text="Left out: empty for a new invoice, unchanged for a known one.")
    lines = InvoiceLineInput(many=True, allow_empty=False, help_text="The amount is computed from the lines.")

    def validate(self, attrs):
        customer, order, shipment = attrs["customer"], attrs["order"], attrs["shipment"]
        if shipment is not None and order is not None and shipment.order_id != order.pk:
            raise serializers.ValidationError({"shipment": [f"Shipment {shipment.number} is not of this order."]})
        if order is None and shipment is not None:
            order = attrs["order"] = Order.objects.get(pk=shipment.order_id)
        if order is not None and customer.pk not in (order.customer_id, order.bill_to_id):
            raise serializers.ValidationError({"customer": [_not_your_order(customer, order)]})
        lines = _order_lines(order) if order is not None else {}
        errors = []
        for item in attrs["lines"]:
            number, error = item["line_number"], {}
            item["order_line_id"] = None
            if number is not None:
                if order is None:
                    error = {"line_number": ["An order line needs the invoice's order."]}
                elif number not in lines:
                    error = {"line_number": [f"Order {order.number} has no line {number}."]}
                elif lines[number][1] != item["sku"].pk:
                    error = {"sku": [f"Order {order.number} line {number} is not for SKU {item['sku'].sku}."]}
                else:
                    item["order_line_id"] = lines[number][0]
            errors.append(error)
        if any(errors):
            raise serializers.ValidationError({"lines": errors})
        attrs["currency"] = attrs["currency"] or customer.currency
        return attrs


def _return_lines_resolve(attrs: dict) -> dict:
    """A return's customer (default: the order's) must be a party to the order, and each line number one
    of the order's lines; each line gets its ``order_line_id``."""
    order = attrs["order"]
    customer = attrs["customer"] or order.customer
    if customer.pk not in (order.customer_id, order.ship_to_id, order.bill_to_id):
        raise serializers.ValidationError({"customer": [_not_your_order(customer, order)]})
    attrs["customer"] = customer
    lines = _order_lines(order)
    errors = []
    for item in attrs["lines"]:
        found = lines.get(item["line_number"])
        item["order_line_id"] = found[0] if found else None
        errors.append({} if found else {"line_number": [f"Order {order.number} has no line {item['line_number']}."]})
    if any(errors):
        raise serializers.ValidationError({"lines": errors})
    return attrs


class ReturnLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, help_text="The order line returned.")
    quantity_requested = positive_quantity()
    quantity_received = non_negative_quantity(default=0)


class ReturnUpsertInput(StrictFieldsMixin, serializers.Serializer):
    number = serializers.CharField(max_length=40)
    order = RecordRefField(model=Order, entity_type=EntityType.ORDER)
    customer = RecordRefField(
        model=Customer, entity_type=EntityType.CUSTOMER, required=False, allow_null=True, default=None,
        help_text="Defaults to the order's customer; may be its ship-to or bill-to account.",
    )
    status = serializers.ChoiceField(
        choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED,
        help_text="Any status when the return is new; a change must be an allowed transition.",
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    decision_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    requested_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    lines = ReturnLineInput(many=True, allow_empty=False)

    def validate_lines(self, value):
        return unique_line_numbers(value)

    def validate(self, attrs):
        return _return_lines_resolve(attrs)


class CreditMemoUpsertInput(StrictFieldsMixin, serializers.Serializer):
    number = serializers.CharField(max_length=40)
    customer = RecordRefField(model=Customer, entity_type=EntityType.CUSTOMER)
    rma = RecordRefField(
        model=ReturnAuthorization, entity_type=EntityType.RETURN, required=False, allow_null=True, default=None,
        by_number="number", help_text="The return this memo credits: its RMA number, your id for it, or the hub's.",
    )
    invoice = RecordRefField(
        model=Invoice, entity_type=EntityType.INVOICE, required=False, allow_null=True, default=None,
        help_text="The invoice this memo credits.",
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, default=None, help_text="ISO 4217; defaults to the customer's currency."
    )
    amount = money(min_value=Decimal("0.01"), help_text="More than 0.")
    issued_at = serializers.DateTimeField()

    def validate(self, attrs):
        customer, rma, invoice = attrs["customer"], attrs["rma"], attrs["invoice"]
        accounts = {
            # A ship-to's return is credited to the order's customer or bill-to account as well.
            "rma": {rma.customer_id, rma.order.customer_id, rma.order.bill_to_id} if rma else set(),
            "invoice": {invoice.customer_id} if invoice else set(),
        }
        for name, document in (("rma", rma), ("invoice", invoice)):
            if document is not None and customer.pk not in accounts[name]:
                raise serializers.ValidationError(
                    {name: [f"{document.number} is not a document of account {customer.account_number}."]}
                )
        if rma is not None and rma.status == ReturnStatus.REJECTED:
            raise serializers.ValidationError({"rma": [f"Return {rma.number} was rejected; there is nothing to credit."]})
        attrs["currency"] = attrs["currency"] or customer.currency
        return attrs


class ReturnRequestLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, help_text="The order line to return.")
    quantity = positive_quantity(help_text="How much of it the customer wants to return.")


class ReturnRequestInput(StrictFieldsMixin, serializers.Serializer):
    external_id = serializers.CharField(
        max_length=200,
        help_text="Your id for this request. Sending it again with the same content answers with the RMA already "
        "made; with other content it is refused (409).",
    )
    order = RecordRefField(
        model=Order, entity_type=EntityType.ORDER,
        help_text="The order the goods came on: hub id, your id for it, or {\"system\": ..., \"external_id\": ...}.",
    )
    customer = RecordRefField(
        model=Customer, entity_type=EntityType.CUSTOMER, required=False, allow_null=True, default=None,
        help_text="Defaults to the order's customer; may be its ship-to or bill-to account.",
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    lines = ReturnRequestLineInput(many=True, allow_empty=False)

    def validate_external_id(self, value):
        if "\x00" in value or not value.strip():
            raise serializers.ValidationError("Give your id for the request.")
        return value.strip()

    def validate_lines(self, value):
        return unique_line_numbers(value)

    def validate(self, attrs):
        return _return_lines_resolve(attrs)


class ReturnReceiptLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, help_text="The order line the goods belong to.")
    quantity_received = non_negative_quantity(help_text="Total received back for this line so far.")


class ReturnReceiptInput(StrictFieldsMixin, serializers.Serializer):
    """What the warehouse received back against a return (``rma`` in the context)."""

    received_at = HappenedAtField(help_text="When the goods came back; not in the future.")
    lines = ReturnReceiptLineInput(many=True, allow_empty=False)

    def validate_lines(self, value):
        value = unique_line_numbers(value)
        rma = self.context["rma"]
        on_return = dict(rma.lines.values_list("order_line__line_number", "pk"))
        errors = []
        for item in value:
            item["return_line_id"] = on_return.get(item["line_number"])
            errors.append(
                {} if item["return_line_id"] else
                {"line_number": [f"Return {rma.number} has no line for order line {item['line_number']}."]}
            )
        if any(errors):
            raise serializers.ValidationError(errors)
        return value
