"""Purchase orders: reads, the ERP's upsert, and the supplier's acknowledgements and advance ship notices.

A supplier system reads only the purchase orders addressed to it; another supplier's PO
answers 404 exactly like a missing one.
"""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import acting_system, domain_read_assert, write_as_assert
from canonical.api.filters.supply import PurchaseOrderFilter
from canonical.api.serializers.supply import (
    AcknowledgementInput,
    AdvanceShipNoticeInput,
    PurchaseOrderUpsertInput,
)
from canonical.api.views.base import CanonicalReadViewSet, ExternalRecordView, PartnerOrStaff, actor_for
from canonical.models import Domain, EntityType, PurchaseOrder, SystemKind
from canonical.serializers.supply import (
    AcknowledgementSerializer,
    AdvanceShipNoticeSerializer,
    PurchaseOrderSerializer,
    acknowledgement_queryset,
    advance_ship_notice_queryset,
    purchase_order_queryset,
)
from canonical.services.refs import system_get, unknown_reference
from canonical.services.supply import (
    advance_ship_notice_upsert,
    purchase_order_for_supplier,
    purchase_order_upsert,
    supplier_acknowledgement_record,
    supplier_writer_assert,
)


def addressed_to(queryset, system):
    """A supplier sees only its own purchase orders; other readers see every one of the domain."""
    if system.kind == SystemKind.SUPPLIER:
        return queryset.filter(supplier=system)
    return queryset


@extend_schema_view(
    list=extend_schema(tags=["purchase orders"], summary="List purchase orders with their lines"),
    retrieve=extend_schema(tags=["purchase orders"], summary="Get a purchase order by hub id"),
)
class PurchaseOrderViewSet(CanonicalReadViewSet):
    domain = Domain.SUPPLIER_COMMITMENTS
    queryset = purchase_order_queryset()
    serializer_class = PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter

    def scope_for_system(self, queryset, system):
        return addressed_to(queryset, system)


@ExternalRecordView.documented(tag="purchase orders", noun="purchase order")
class PurchaseOrderByExternalId(ExternalRecordView):
    domain = Domain.SUPPLIER_COMMITMENTS
    entity_type = EntityType.PURCHASE_ORDER
    model = PurchaseOrder
    serializer_class = PurchaseOrderSerializer
    write_serializer_class = PurchaseOrderUpsertInput
    upsert = staticmethod(purchase_order_upsert)

    def get_queryset(self):
        return purchase_order_queryset()

    def scope_for_system(self, queryset, system):
        return addressed_to(queryset, system)


_SUPPLIER = OpenApiParameter(
    "system", str, OpenApiParameter.PATH, description="Code of the supplier system the purchase order is addressed to."
)
_PO_REF = OpenApiParameter(
    "po_ref", str, OpenApiParameter.PATH,
    description="The supplier's own id for the purchase order, or the purchase order number.",
)
_ASN_NUMBER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="The supplier's ASN number.")


class _SupplierDocumentView(APIView):
    """Documents a supplier sends about a purchase order addressed to it."""

    permission_classes = [PartnerOrStaff]

    def purchase_order_for_reading(self, request, system: str, po_ref: str) -> PurchaseOrder:
        domain_read_assert(request.user, Domain.SUPPLIER_COMMITMENTS)
        supplier = system_get(code=system)
        reader = acting_system(request.user)
        if reader is not None and reader.kind == SystemKind.SUPPLIER and reader.pk != supplier.pk:
            raise unknown_reference(system=supplier, entity_type=EntityType.PURCHASE_ORDER, external_id=po_ref)
        return purchase_order_for_supplier(supplier=supplier, reference=po_ref)

    def purchase_order_for_writing(self, request, system: str, po_ref: str):
        supplier = system_get(code=system)
        write_as_assert(request.user, supplier)
        supplier_writer_assert(system=supplier)
        return supplier, purchase_order_for_supplier(supplier=supplier, reference=po_ref)


class Acknowledgements(_SupplierDocumentView):
    """Mounted by the hub (hub.api.supply), whose subclass also checks the supplier's dates against the
    promise window and opens the supplier-management exception: canonical cannot reach that queue."""

    def record(self, *, supplier, purchase_order, data: dict, actor):
        return supplier_acknowledgement_record(supplier=supplier, purchase_order=purchase_order, data=data, actor=actor)

    @extend_schema(
        tags=["purchase orders"],
        summary="List a purchase order's acknowledgements, every revision",
        parameters=[_SUPPLIER, _PO_REF],
        responses={200: AcknowledgementSerializer(many=True)},
        operation_id="supplier_acknowledgement_list",
    )
    def get(self, request, system: str, po_ref: str):
        purchase_order = self.purchase_order_for_reading(request, system, po_ref)
        acks = acknowledgement_queryset().filter(purchase_order=purchase_order)
        return Response(AcknowledgementSerializer(acks, many=True).data)

    @extend_schema(
        tags=["purchase orders"],
        summary="Acknowledge a purchase order (supplier), or send a revision of the acknowledgement",
        description=(
            "Written only by the supplier system the purchase order is addressed to. Revisions are kept and never "
            "overwritten: repeating a recorded revision answers 200 with it, the same revision number with other "
            "content is refused with 409. Without `revision` the next number is taken (or the latest returned if "
            "the body repeats it). A confirmed date after the promise window (the date the goods are needed by, "
            "plus the hub's tolerance), a short confirmation or a rejection opens a supplier-management exception "
            "listing the customer orders at risk; a later revision back inside the window resolves it."
        ),
        parameters=[_SUPPLIER, _PO_REF],
        request=AcknowledgementInput,
        responses={200: AcknowledgementSerializer, 201: AcknowledgementSerializer},
        operation_id="supplier_acknowledgement_record",
    )
    def post(self, request, system: str, po_ref: str):
        supplier, purchase_order = self.purchase_order_for_writing(request, system, po_ref)
        serializer = AcknowledgementInput(data=request.data, context={"purchase_order": purchase_order})
        serializer.is_valid(raise_exception=True)
        result = self.record(
            supplier=supplier, purchase_order=purchase_order, data=serializer.validated_data,
            actor=actor_for(request),
        )
        return Response(
            AcknowledgementSerializer(result.instance).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class AdvanceShipNotices(_SupplierDocumentView):
    @extend_schema(
        tags=["purchase orders"],
        summary="List the advance ship notices for a purchase order",
        parameters=[_SUPPLIER, _PO_REF],
        responses={200: AdvanceShipNoticeSerializer(many=True)},
        operation_id="advance_ship_notice_list",
    )
    def get(self, request, system: str, po_ref: str):
        purchase_order = self.purchase_order_for_reading(request, system, po_ref)
        notices = advance_ship_notice_queryset().filter(purchase_order=purchase_order)
        return Response(AdvanceShipNoticeSerializer(notices, many=True).data)


class AdvanceShipNoticeByNumber(_SupplierDocumentView):
    @extend_schema(
        tags=["purchase orders"],
        summary="Get one advance ship notice",
        parameters=[_SUPPLIER, _PO_REF, _ASN_NUMBER],
        responses={200: AdvanceShipNoticeSerializer},
        operation_id="advance_ship_notice_get",
    )
    def get(self, request, system: str, po_ref: str, number: str):
        purchase_order = self.purchase_order_for_reading(request, system, po_ref)
        notice = advance_ship_notice_queryset().filter(purchase_order=purchase_order, number=number).first()
        if notice is None:
            raise unknown_reference(
                system=purchase_order.supplier, entity_type=EntityType.ADVANCE_SHIP_NOTICE, external_id=number
            )
        return Response(AdvanceShipNoticeSerializer(notice).data)

    @extend_schema(
        tags=["purchase orders"],
        summary="Send or correct an advance ship notice (supplier)",
        description=(
            "Written only by the supplier system the purchase order is addressed to; keyed by the ASN number. "
            "The same body twice changes nothing."
        ),
        parameters=[_SUPPLIER, _PO_REF, _ASN_NUMBER],
        request=AdvanceShipNoticeInput,
        responses={200: AdvanceShipNoticeSerializer, 201: AdvanceShipNoticeSerializer},
        operation_id="advance_ship_notice_upsert",
    )
    def put(self, request, system: str, po_ref: str, number: str):
        supplier, purchase_order = self.purchase_order_for_writing(request, system, po_ref)
        serializer = AdvanceShipNoticeInput(data=request.data, context={"purchase_order": purchase_order})
        serializer.is_valid(raise_exception=True)
        result = advance_ship_notice_upsert(
            supplier=supplier, purchase_order=purchase_order, number=number, data=serializer.validated_data,
            actor=actor_for(request),
        )
        notice = advance_ship_notice_queryset().get(pk=result.instance.pk)
        return Response(
            AdvanceShipNoticeSerializer(notice).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


read_routes = [("purchase-orders", PurchaseOrderViewSet, "purchase-order")]
external_routes = [("purchase-orders", PurchaseOrderByExternalId)]
# A NUL byte can never be an id (PostgreSQL text refuses it): such a path is simply not found.
_BASE = r"^systems/(?P<system>[^/\x00]+)/purchase-orders/(?P<po_ref>[^/\x00]+)"
# Served by hub.api.supply (a subclass of Acknowledgements with the promise check).
ACKNOWLEDGEMENTS_ROUTE = rf"{_BASE}/acknowledgements$"
extra_urlpatterns = [
    re_path(rf"{_BASE}/advance-ship-notices$", AdvanceShipNotices.as_view(), name="purchase-order-asns"),
    re_path(
        rf"{_BASE}/advance-ship-notices/(?P<number>[^/\x00]+)$", AdvanceShipNoticeByNumber.as_view(),
        name="purchase-order-asn",
    ),
]
