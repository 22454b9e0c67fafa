"""POST /api/v1/orders (idempotent order submission) and POST /api/v1/orders/{id}/cancel.

``/api/v1/orders`` is also the canonical order list: ``orders_collection`` sends POST here and
every other method to the canonical list view, so one URL serves both.
"""

from __future__ import annotations

import functools

from django.db import transaction
from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import AccessDenied, acting_system
from canonical.api.fields import StrictFieldsMixin, plain_validated
from canonical.api.views.base import PartnerOrStaff, actor_for, visible_record
from canonical.api.views.orders import OrderByExternalId, OrderViewSet
from canonical.errors import CanonicalError
from canonical.models import Domain, Order, SystemOfRecord
from canonical.serializers.orders import OrderSerializer, order_queryset
from canonical.services.inserts import writes_batched
from canonical.services.order_entry import LineRequest, order_request_check
from canonical.services.prepared import reads_along
from canonical.services.transactions import atomic_begin_carried
from canonical.state import IllegalTransition
from hub.api.examples import ORDER_EXAMPLE
from hub.api.ordering import (
    MAX_LINES,
    CreditStandingSerializer,
    OrderSubmitLineInput,
    customer_ref_field,
    ordering_assert,
)
from hub.idempotency import (
    HEADER,
    ClaimAnswered,
    ClaimLost,
    idempotency_claim,
    idempotency_claim_read,
    idempotency_complete,
    idempotency_key_parse,
    idempotency_scope,
    request_fingerprint,
)
from hub.problems import Problem, problem_exception_handler
from hub.workflows.orders import (
    HOLD_REASONS,
    OrderSubmission,
    order_cancel,
    order_record_upsert,
    order_submit,
    order_submit_reads,
)


class OrderSubmitInput(StrictFieldsMixin, serializers.Serializer):
    customer = customer_ref_field(help_text="The sold-to account.")
    ship_to = customer_ref_field(
        required=False, allow_null=True,
        help_text="The customer itself or an account below it; left out: the customer, or its only ship-to.",
    )
    lines = OrderSubmitLineInput(many=True, allow_empty=False, max_length=MAX_LINES)
    requested_date = serializers.DateField(required=False, allow_null=True,
                                           help_text="For every line that does not name its own.")
    customer_po = serializers.CharField(required=False, allow_blank=True, max_length=60,
                                        help_text="The customer's own purchase order number.")
    external_id = serializers.CharField(
        required=False, allow_blank=True, max_length=200,
        help_text="Your own id for the order; the hub records it so you can address the order by it.",
    )

    def validate_external_id(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Must not contain NUL characters.")
        return value.strip()


class PurchaseOrderSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    supplier = serializers.CharField(help_text="Code of the supplier system.")
    kind = serializers.CharField()
    status = serializers.CharField()


class CreditHoldSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=list(HOLD_REASONS))
    exception_id = serializers.IntegerField(help_text="The finance exception that tracks the hold.")


class OrderSubmitResultSerializer(serializers.Serializer):
    order = OrderSerializer()
    outcome = serializers.ChoiceField(
        choices=["allocated", "backordered", "credit_hold"],
        help_text="allocated: every stock line reserved; backordered: some is short (purchase orders raised); "
        "credit_hold: waiting for finance.",
    )
    credit = CreditStandingSerializer(help_text="The standing before this order.")
    credit_hold = CreditHoldSerializer(allow_null=True)
    purchase_orders = PurchaseOrderSummarySerializer(many=True)


class OrderCancelInput(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class KeptPurchaseOrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    reason = serializers.CharField()


class OrderCancelResultSerializer(serializers.Serializer):
    order = OrderSerializer()
    changed = serializers.BooleanField(help_text="False when the order was already cancelled.")
    reservations_released = serializers.IntegerField()
    purchase_orders_cancelled = serializers.ListField(child=serializers.CharField())
    purchase_orders_kept = KeptPurchaseOrderSerializer(many=True,
                                                       help_text="POs the supplier already has; a buyer decides.")


_KEY_PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=True,
    description=(
        "A unique key per order you submit (e.g. a UUID), kept for at least 24 hours. The same key with the same "
        "body answers the first response again (same status and body, header `Idempotent-Replayed: true`); with "
        "another body 422; while the first request still runs 409 (retry after `Retry-After`)."
    ),
)


def _submission_body(submission: OrderSubmission) -> dict:
    order = submission.order
    resumption = submission.resumption
    purchase_orders = resumption.purchase_orders if resumption else []
    return {
        "order": submission.representation(),
        "outcome": order.status if order.status in ("allocated", "backordered") else "credit_hold",
        "credit": submission.credit.as_dict(),
        "credit_hold": {"reason": submission.credit_hold_reason, "exception_id": submission.credit_exception.pk}
        if submission.on_credit_hold else None,
        "purchase_orders": [
            {"id": po.pk, "number": po.number, "supplier": po.supplier.code, "kind": po.kind, "status": po.status}
            for po in purchase_orders
        ],
    }


class _Refused(Exception):
    """A refusal of the order (a 4xx), carried out of the order's transaction so it rolls back."""

    def __init__(self, exc: Exception):
        super().__init__(str(exc))
        self.exc = exc


def _answered_meanwhile(identity: dict) -> Response:
    """The stored answer of a key that another request answered just as this one began (ClaimLost)."""
    with transaction.atomic():
        claim = idempotency_claim(**identity)
    if claim.replay is not None:
        return claim.replay
    raise Problem(409, f"The {HEADER} '{identity['key']}' was answered by another request meanwhile; send the "
                  "request again to get that answer.", slug="idempotency-key-in-use", title="Request in progress")


class OrderSubmitView(APIView):
    permission_classes = [PartnerOrStaff]

    @extend_schema(
        tags=["process: orders"],
        operation_id="order_submit",
        summary="Submit an order (idempotent with Idempotency-Key)",
        description=(
            "Places an order for a customer: checks it (customer active and a sold-to, ship-to in the customer's "
            "hierarchy, SKUs active, quantities positive, a price for every line; every refusal names its field "
            "as a JSON pointer), then decides credit. An order that would take the account's exposure (open "
            "orders + open invoices) over its limit, or whose account is on credit hold, is placed on credit "
            "hold for finance (`outcome: credit_hold`): `order.created` tells the subscribers (the ERP books it "
            "as held), and nothing is reserved until finance releases it (`order.credit_hold_released`). "
            "Otherwise stock is reserved per line, what is short is backordered and ordered from the supplier, "
            "and the order goes to the ERP (`order.created`) and the warehouse (`order.fulfilment_requested`). "
            "Name the customer and ship-to by hub id, your own id, or "
            "`{\"system\": ..., \"external_id\": ...}`. Needs an `Idempotency-Key` header."
        ),
        parameters=[
            _KEY_PARAMETER,
            OpenApiParameter("Location", str, OpenApiParameter.HEADER, response=[201],
                             description="The order's URL, /api/v1/orders/{id}."),
            OpenApiParameter("Idempotent-Replayed", str, OpenApiParameter.HEADER, response=True,
                             description="`true` when this is the stored answer to an earlier request with the key."),
            OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=[409],
                             description="Seconds to wait before sending the request again (key in use)."),
        ],
        request=OrderSubmitInput,
        responses={
            201: OrderSubmitResultSerializer,
            409: OpenApiResponse(description="The Idempotency-Key's first request is still running, or the "
                                             "external id is already another order's."),
            422: OpenApiResponse(description="The order is refused (each problem names its field), or the "
                                             "Idempotency-Key was used for another request."),
        },
        examples=[OpenApiExample("Two lines", request_only=True, value=ORDER_EXAMPLE)],
    )
    def post(self, request):
        ordering_assert(request.user, staff_permission="canonical.add_order", what="Placing orders")
        key = idempotency_key_parse(request.headers.get(HEADER))
        data = request.data  # parsed before the key is claimed: malformed JSON is a 400 that claims nothing
        identity = {
            "scope": idempotency_scope(request.user), "key": key, "method": request.method, "path": request.path,
            "fingerprint": request_fingerprint(method=request.method, path=request.path, data=data),
            "correlation_id": getattr(request, "correlation_id", ""),
        }
        try:
            # The key's claim, the order's writes and the stored response: one transaction, the
            # writes and the response in one statement at its end, which also commits. The
            # transaction begins with the order's first read, and the claim goes in that read's
            # round trip, before it; a stored answer or a refusal of the key (ClaimAnswered)
            # stops the order where it stands.
            with atomic_begin_carried(), writes_batched(commit=True), \
                    reads_along(idempotency_claim_read(**identity, stopping=True)) as along:
                try:
                    response = self._submit(request, data)
                except (exceptions.APIException, CanonicalError, IllegalTransition) as exc:
                    raise _Refused(exc) from exc  # leaves the block: the order's writes roll back
                [claim] = along.answered()
                if not idempotency_complete(record=claim.record, response=response):
                    # Never an order without its answer stored: a retry would place it again.
                    raise RuntimeError(f"The answer to {HEADER} '{key}' cannot be stored; the order is not placed.")
            return response
        except ClaimAnswered as answered:  # the order's work rolled back; the key answers
            return answered.response()
        except _Refused as refused:
            response = problem_exception_handler(refused.exc, {"request": request, "view": self})
            if response is None or response.status_code >= 500:
                raise refused.exc from None
            try:
                # A refusal is the answer to this key too; stored under a claim of its own.
                with transaction.atomic():
                    claim = idempotency_claim(**identity)
                    if claim.replay is not None:
                        return claim.replay  # answered by another request meanwhile: that answer counts
                    idempotency_complete(record=claim.record, response=response)
                return response
            except ClaimLost:
                return _answered_meanwhile(identity)
        except ClaimLost:
            return _answered_meanwhile(identity)

    def _submit(self, request, data) -> Response:
        system = acting_system(request.user)
        context = {"system": system, "request": request}
        valid = plain_validated(OrderSubmitInput, data, context)
        if valid is None:  # not plainly valid: the serializer says what is wrong
            serializer = OrderSubmitInput(data=data, context=context)
            serializer.is_valid(raise_exception=True)
            valid = serializer.validated_data
        checked = order_request_check(
            customer=valid["customer"], ship_to=valid.get("ship_to"),
            lines=[LineRequest(sku=line["sku"], quantity=line["quantity"], unit_price=line.get("unit_price"),
                               requested_date=line.get("requested_date")) for line in valid["lines"]],
            requested_date=valid.get("requested_date"), customer_po=valid.get("customer_po", ""),
            reads_with=order_submit_reads,  # the credit decision's reads go with the products and prices
        )
        submission = order_submit(checked=checked, source_system=system, actor=actor_for(request),
                                  external_id=valid.get("external_id", ""))
        return Response(_submission_body(submission), status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/orders/{submission.order.pk}"})


def cancel_assert(user, order: Order) -> None:
    """Staff who may change orders, the system that placed the order, or the orders' system of record."""
    system = acting_system(user)
    if system is None:
        if not user.has_perm("canonical.change_order"):
            raise AccessDenied("Cancelling an order needs the 'canonical.change_order' permission.")
        return
    owner = SystemOfRecord.objects.filter(domain=Domain.ORDERS).values_list("system_id", flat=True).first()
    if system.pk not in {order.source_system_id, owner}:
        raise AccessDenied(
            f"System '{system.code}' did not place order {order.number} and does not own orders; only the system "
            "that placed it (or the orders' system of record) may cancel it.",
            system=system.code, order=order.number,
        )


class OrderCancelView(APIView):
    permission_classes = [PartnerOrStaff]

    @extend_schema(
        tags=["process: orders"],
        operation_id="order_cancel",
        summary="Cancel an order: release its stock and withdraw its open purchase orders",
        description=(
            "Releases the stock the order holds, cancels the purchase orders raised for it that the supplier has "
            "not acknowledged (the supplier is sent the cancellation; acknowledged ones are listed in "
            "`purchase_orders_kept` for a buyer), and moves the order to cancelled (`order.cancelled`). Cancelling "
            "a cancelled order changes nothing. An order that has shipped (partially or fully), been invoiced or "
            "closed cannot be cancelled: 409 naming the current and requested status. The system that placed "
            "the order, the orders' system of record, and staff may cancel."
        ),
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Hub id of the order.")],
        request=OrderCancelInput,
        responses={200: OrderCancelResultSerializer},
    )
    def post(self, request, id: int):  # noqa: A002 - the path parameter's documented name
        ordering_assert(request.user, staff_permission="canonical.change_order", what="Cancelling orders")
        order = visible_record(user=request.user, queryset=Order.objects.all(), viewset=OrderViewSet, pk=id,
                               noun="order")
        cancel_assert(request.user, order)
        serializer = OrderCancelInput(data=request.data if request.data else {})
        serializer.is_valid(raise_exception=True)
        try:
            result = order_cancel(order=order, actor=actor_for(request), reason=serializer.validated_data.get("reason", ""))
        except IllegalTransition as exc:
            raise Problem(
                409, f"Order {order.number} is {exc.current} and cannot be cancelled any more.",
                slug="illegal-transition", title="Illegal status transition", **exc.problem_members(),
            ) from None
        body = {
            "order": OrderSerializer(order_queryset().get(pk=order.pk)).data,
            "changed": result.changed,
            "reservations_released": result.reservations_released,
            "purchase_orders_cancelled": [po.number for po in result.purchase_orders.cancelled],
            "purchase_orders_kept": [{"number": po.number, "reason": why} for po, why in result.purchase_orders.kept],
        }
        return Response(body)


_submit_view = OrderSubmitView.as_view()
_list_view = OrderViewSet.as_view({"get": "list"})


@functools.wraps(_submit_view)  # carries the submit view's .cls, so the schema documents POST here
def orders_collection(request, *args, **kwargs):
    """POST submits an order; anything else is the canonical order list (GET) and its answers."""
    if request.method == "POST":
        return _submit_view(request, *args, **kwargs)
    return _list_view(request, *args, **kwargs)


# canonical's order by external id, written through hub's workflow (which also closes finance's
# credit hold when the system of record cancels the order). No docstring: the schema would show it.
class OrderByExternalIdWritten(OrderByExternalId):
    upsert = staticmethod(order_record_upsert)


urlpatterns = [
    path("orders", orders_collection, name="order-submit"),
    path("systems/<str:system>/orders/<str:external_id>", OrderByExternalIdWritten.as_view(),
         name="orders-by-external-id"),
    path("orders/<int:id>/cancel", OrderCancelView.as_view(), name="order-cancel"),
]
