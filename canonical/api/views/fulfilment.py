"""Shipments: read endpoints, the shipments' system of record's upsert, and milestones from
warehouses and carriers (see canonical.services.fulfilment for who may report what)."""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.api.filters.fulfilment import ShipmentFilter
from canonical.api.serializers.fulfilment import MilestoneReportInput, ShipmentUpsertInput
from canonical.api.views.base import (
    CanonicalReadViewSet,
    ExternalRecordView,
    PartnerOrStaff,
    actor_for,
    writing_system,
)
from canonical.models import Domain, EntityType, Shipment, System, SystemKind
from canonical.serializers.fulfilment import (
    MilestoneRecordedSerializer,
    ShipmentSerializer,
    shipment_queryset,
)
from canonical.services.fulfilment import shipment_milestone_record, shipment_upsert


def carried_by(queryset, system: System):
    """A carrier sees only the shipments it carries; other systems see every shipment of the domain."""
    if system.kind == SystemKind.CARRIER:
        return queryset.filter(carrier__iexact=system.code)
    return queryset


@extend_schema_view(
    list=extend_schema(tags=["shipments"], summary="List shipments with lines and milestones"),
    retrieve=extend_schema(tags=["shipments"], summary="Get a shipment by hub id"),
)
class ShipmentViewSet(CanonicalReadViewSet):
    domain = Domain.SHIPMENTS
    queryset = shipment_queryset()
    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter

    def scope_for_system(self, queryset, system):
        return carried_by(queryset, system)


@ExternalRecordView.documented(tag="shipments", noun="shipment")
class ShipmentByExternalId(ExternalRecordView):
    domain = Domain.SHIPMENTS
    entity_type = EntityType.SHIPMENT
    model = Shipment
    serializer_class = ShipmentSerializer
    write_serializer_class = ShipmentUpsertInput
    upsert = staticmethod(shipment_upsert)

    def get_queryset(self):
        return shipment_queryset()

    def scope_for_system(self, queryset, system):
        return carried_by(queryset, system)


class ShipmentMilestones(APIView):
    permission_classes = [PartnerOrStaff]

    @extend_schema(
        tags=["shipments"],
        summary="Report a shipment milestone (warehouse or carrier)",
        description=(
            "Posted by the shipments' system of record for a shipment it knows by `external_id`, or by a "
            "carrier system for a shipment it carries (the shipment's `carrier` is the carrier's system code), "
            "named by the carrier's own id for it or by the tracking number. Idempotent per (shipment, code, "
            "occurred_at): a repeat answers 200 with the stored milestone, a new one 201. The shipment's status "
            "only moves forward (created → picked → packed → dispatched → in transit → delivered); an "
            "exception or a late earlier milestone is recorded without moving it back.\n\n"
            "The system of record may send the shipment itself in `shipment` (number, order, lines with their "
            "quantities per order line): it is created or updated first, shipped quantities roll up into the order "
            "(partially shipped, then shipped) and consume the lines' reservations. Each milestone keeps when it "
            "happened (`occurred_at`) and when the hub heard of it (`received_at`)."
        ),
        parameters=[
            OpenApiParameter("system", str, OpenApiParameter.PATH, description="Code of the reporting system."),
            OpenApiParameter(
                "external_id", str, OpenApiParameter.PATH,
                description="That system's id for the shipment (a carrier may give the tracking number).",
            ),
        ],
        request=MilestoneReportInput,
        responses={200: MilestoneRecordedSerializer, 201: MilestoneRecordedSerializer},
        operation_id="shipment_milestone_record",
    )
    def post(self, request, system: str, external_id: str):
        target = writing_system(request, system)
        serializer = MilestoneReportInput(data=request.data, context={"system": target, "request": request})
        serializer.is_valid(raise_exception=True)
        result = shipment_milestone_record(
            system=target, external_id=external_id, data=serializer.validated_data, actor=actor_for(request)
        )
        return Response(
            MilestoneRecordedSerializer(result.instance).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


read_routes = [("shipments", ShipmentViewSet, "shipment")]
external_routes = [("shipments", ShipmentByExternalId)]
# A NUL byte can never be an id (PostgreSQL text refuses it): such a path is simply not found.
extra_urlpatterns = [
    re_path(
        r"^systems/(?P<system>[^/\x00]+)/shipments/(?P<external_id>[^/\x00]+)/milestones$",
        ShipmentMilestones.as_view(),
        name="shipment-milestones",
    )
]
