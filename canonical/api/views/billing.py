"""Invoices (the invoices' system of record), returns and credit memos (the returns' one): reads and upserts."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from canonical.api.filters.billing import CreditMemoFilter, InvoiceFilter, ReturnFilter
from canonical.api.serializers.billing import CreditMemoUpsertInput, InvoiceUpsertInput, ReturnUpsertInput
from canonical.api.views.base import CanonicalReadViewSet, ExternalRecordView
from canonical.models import CreditMemo, Domain, EntityType, Invoice, ReturnAuthorization
from canonical.serializers.billing import (
    CreditMemoSerializer,
    InvoiceSerializer,
    ReturnSerializer,
    credit_memo_queryset,
    invoice_queryset,
    return_queryset,
)
from canonical.services.billing import credit_memo_upsert, invoice_upsert, return_upsert


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
    upsert = staticmethod(invoice_upsert)

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
