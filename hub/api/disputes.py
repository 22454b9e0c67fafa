"""POST /api/v1/invoices/{id}/dispute: a customer-facing system contests an invoice for its customer."""

from __future__ import annotations

from decimal import Decimal

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import AccessDenied, acting_system, domain_read_assert
from canonical.api.fields import StrictFieldsMixin
from canonical.api.views.base import PartnerOrStaff, actor_for, visible_record
from canonical.api.views.billing import InvoiceViewSet
from canonical.models import Domain, Invoice, SystemKind
from canonical.serializers.billing import InvoiceSerializer, invoice_queryset
from hub.workflows.disputes import REASON_MAX_LENGTH, invoice_dispute

# The systems that speak for the customer; the ERP, which owns invoices, changes them by upsert.
DISPUTING_KINDS = frozenset({SystemKind.CRM, SystemKind.ECOMMERCE})
STAFF_PERMISSION = "canonical.change_invoice"


class DisputeInput(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text="What the customer contests.")
    disputed_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, min_value=Decimal("0.01"),
        help_text="The contested part of the invoice; the whole invoice when left out.",
    )


class DisputeSerializer(serializers.Serializer):
    reason = serializers.CharField()
    disputed_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    raised_by = serializers.CharField()
    exception_id = serializers.IntegerField(help_text="The finance exception that tracks the dispute.")


class DisputeResultSerializer(serializers.Serializer):
    invoice = InvoiceSerializer()
    dispute = DisputeSerializer()


def dispute_assert(user) -> None:
    """Customer-facing systems (CRM, web store) and staff who may change invoices."""
    system = acting_system(user)
    if system is None:
        if not user.has_perm(STAFF_PERMISSION):
            raise AccessDenied("Disputing an invoice needs the 'canonical.change_invoice' permission.")
        return
    if system.kind not in DISPUTING_KINDS:
        raise AccessDenied(
            f"System '{system.code}' ({system.get_kind_display()}) may not dispute invoices; disputes come from "
            "the systems that speak for the customer (CRM, ecommerce).",
            system=system.code,
        )


class InvoiceDisputeView(APIView):
    permission_classes = [PartnerOrStaff]

    @extend_schema(
        tags=["invoices"],
        operation_id="invoice_dispute",
        summary="Dispute an invoice (opens a finance exception)",
        description=(
            "The invoice moves to `disputed` (from posted or paid), `invoice.disputed` is emitted to subscribers "
            "(the ERP among them) and a finance exception is opened with the invoice, its order and its customer. "
            "For customer-facing systems (CRM, ecommerce) and hub staff. An invoice already disputed, or "
            "credited, answers 409."
        ),
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Hub id of the invoice.")],
        request=DisputeInput,
        responses={200: DisputeResultSerializer},
    )
    def post(self, request, id: int):  # noqa: A002 - the path parameter's documented name
        domain_read_assert(request.user, Domain.INVOICES)
        invoice = visible_record(user=request.user, queryset=Invoice.objects.all(), viewset=InvoiceViewSet, pk=id,
                                 noun="invoice")
        dispute_assert(request.user)
        data = DisputeInput(data=request.data)
        data.is_valid(raise_exception=True)
        actor = actor_for(request)
        result = invoice_dispute(invoice=invoice, reason=data.validated_data["reason"], actor=actor,
                                 disputed_amount=data.validated_data.get("disputed_amount"))
        return Response(DisputeResultSerializer({
            "invoice": invoice_queryset().get(pk=result.invoice.pk),
            "dispute": {"reason": result.invoice.dispute_reason, "disputed_amount": result.disputed_amount,
                        "raised_by": actor.label, "exception_id": result.exception.pk},
        }).data)


urlpatterns = [path("invoices/<int:id>/dispute", InvoiceDisputeView.as_view(), name="invoice-dispute")]
