"""Invoices (the invoices' system of record), returns and credit memos (the returns' one): reads and upserts."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from canonical.access import AccessDenied, acting_system
from canonical.api.filters.billing import CreditMemoFilter, InvoiceFilter, ReturnFilter
from canonical.api.serializers.billing import (
    CreditMemoUpsertInput,
    InvoiceUpsertInput,
    ReturnRequestInput,
    ReturnUpsertInput,
)
from canonical.api.views.base import CanonicalReadViewSet, ExternalRecordView, actor_for
from canonical.models import CreditMemo, Domain, EntityType, Invoice, ReturnAuthorization
from canonical.serializers.billing import (
    CreditMemoSerializer,
    InvoiceSerializer,
    ReturnSerializer,
    credit_memo_queryset,
    invoice_queryset,
    return_queryset,
)
from canonical.services.billing import credit_memo_upsert, invoice_write, return_upsert
from canonical.services.returns import return_request, return_requester_assert


@extend_schema_view(
    list=extend_schema(tags=["invoices"], summary="List invoices with their lines"),
    retrieve=extend_schema(tags=["invoices"], summary="Get an invoice by hub id"),
)
class InvoiceViewSet(CanonicalReadViewSet):
    domain = Domain.INVOICES
    queryset = invoice_queryset()
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter


@ExternalRecordView.documented(tag="invoices", noun="invoice")
class InvoiceByExternalId(ExternalRecordView):
    domain = Domain.INVOICES
    entity_type = EntityType.INVOICE
    model = Invoice
    serializer_class = InvoiceSerializer
    write_serializer_class = InvoiceUpsertInput
    upsert = staticmethod(invoice_write)

    def get_queryset(self):
        return invoice_queryset()


@extend_schema_view(
    list=extend_schema(tags=["returns"], summary="List returns (RMA) with their lines"),
    retrieve=extend_schema(tags=["returns"], summary="Get a return (RMA) by hub id"),
)
class ReturnViewSet(CanonicalReadViewSet):
    domain = Domain.RETURNS
    queryset = return_queryset()
    serializer_class = ReturnSerializer
    filterset_class = ReturnFilter

    @extend_schema(
        tags=["returns"],
        summary="Request a return (RMA) for a customer; authorised or refused by the return rules",
        description=(
            "For customer-facing systems (CRM, ecommerce). Each line is checked: it must be within the return "
            "window (a configured number of days after the line last shipped, or after its first invoice) and "
            "the quantity at most shipped − returned − what open returns already hold. When every line passes the "
            "RMA is authorised: 201 with the RMA (`status` authorised; `return.requested` and `return.authorised` "
            "are emitted, the warehouse and ERP receive them). When any line fails it is recorded as rejected "
            "(`return.rejected`) and the answer is 422 `return-refused`, with one entry in `errors` per refused "
            "line and rule (`/lines/{i}/line_number` for the window, `/lines/{i}/quantity` for the quantity), the "
            "reason in `messages`, and the rejected RMA in `rma`.\n\n"
            "`external_id` makes the call idempotent: the same id and body answer as the first time (200 for an "
            "authorised RMA), the same id with another body is refused with 409 `return-request-conflict`."
        ),
        request=ReturnRequestInput,
        responses={200: ReturnSerializer, 201: ReturnSerializer},
        operation_id="return_request",
    )
    def create(self, request):
        system = acting_system(request.user)
        if system is None:
            raise AccessDenied("Return requests need a partner API key of a customer-facing system.")
        return_requester_assert(system=system)
        serializer = ReturnRequestInput(data=request.data, context={"system": system, "request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        outcome = return_request(
            system=system, external_id=data.pop("external_id"), data=data, actor=actor_for(request)
        )
        if not outcome.authorised:
            raise outcome.refused()  # the rejected RMA is kept: the service's transaction has committed
        return Response(
            ReturnSerializer(return_queryset().get(pk=outcome.rma.pk)).data,
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )


@ExternalRecordView.documented(tag="returns", noun="return (RMA)")
class ReturnByExternalId(ExternalRecordView):
    domain = Domain.RETURNS
    entity_type = EntityType.RETURN
    model = ReturnAuthorization
    serializer_class = ReturnSerializer
    write_serializer_class = ReturnUpsertInput
    upsert = staticmethod(return_upsert)

    def get_queryset(self):
        return return_queryset()


@extend_schema_view(
    list=extend_schema(tags=["returns"], summary="List credit memos"),
    retrieve=extend_schema(tags=["returns"], summary="Get a credit memo by hub id"),
)
class CreditMemoViewSet(CanonicalReadViewSet):
    domain = Domain.RETURNS
    queryset = credit_memo_queryset()
    serializer_class = CreditMemoSerializer
    filterset_class = CreditMemoFilter


@ExternalRecordView.documented(tag="returns", noun="credit memo")
class CreditMemoByExternalId(ExternalRecordView):
    domain = Domain.RETURNS
    entity_type = EntityType.CREDIT_MEMO
    model = CreditMemo
    serializer_class = CreditMemoSerializer
    write_serializer_class = CreditMemoUpsertInput
    upsert = staticmethod(credit_memo_upsert)


read_routes = [
    ("invoices", InvoiceViewSet, "invoice"),
    ("returns", ReturnViewSet, "return"),
    ("credit-memos", CreditMemoViewSet, "credit-memo"),
]
external_routes = [
    ("invoices", InvoiceByExternalId),
    ("returns", ReturnByExternalId),
    ("credit-memos", CreditMemoByExternalId),
]
