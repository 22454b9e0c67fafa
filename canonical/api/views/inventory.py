"""Locations and inventory positions: read endpoints, the WMS's location upsert and its stock reports.

A stock report is addressed by what a warehouse knows about a position, the location
and the SKU: ``PUT /api/v1/systems/{system}/inventory/{location}/{sku}``.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import domain_read_assert, write_as_assert
from canonical.api.filters.inventory import InventoryPositionFilter, LocationFilter
from canonical.api.serializers.inventory import InventoryReportInput, LocationUpsertInput
from canonical.api.views.base import CanonicalReadViewSet, ExternalRecordView, PartnerOrStaff, actor_for
from canonical.models import Domain, EntityType, InventoryPosition, Location
from canonical.serializers.inventory import (
    INVENTORY_SELECT,
    InventoryPositionSerializer,
    InventoryReportResultSerializer,
    LocationSerializer,
)
from canonical.services.inventory import (
    ReportOutcome,
    inventory_position_find,
    inventory_position_report,
    location_upsert,
)
from canonical.services.refs import system_get


def _positions():
    return InventoryPosition.objects.select_related(*INVENTORY_SELECT)


@extend_schema_view(
    list=extend_schema(tags=["inventory"], summary="List locations (warehouses, branches, supplier sites)"),
    retrieve=extend_schema(tags=["inventory"], summary="Get a location by hub id"),
)
class LocationViewSet(CanonicalReadViewSet):
    domain = Domain.INVENTORY
    queryset = Location.objects.all()
    serializer_class = LocationSerializer
    filterset_class = LocationFilter


@ExternalRecordView.documented(tag="inventory", noun="location")
class LocationByExternalId(ExternalRecordView):
    domain = Domain.INVENTORY
    entity_type = EntityType.LOCATION
    model = Location
    serializer_class = LocationSerializer
    write_serializer_class = LocationUpsertInput
    upsert = staticmethod(location_upsert)


@extend_schema_view(
    list=extend_schema(
        tags=["inventory"],
        summary="List inventory positions",
        description="One row per product and location, with available to promise (on hand − reserved) and "
        "freshness: when and by which system the position was last reported. `available_lte` finds low stock.",
    ),
    retrieve=extend_schema(tags=["inventory"], summary="Get an inventory position by hub id"),
)
class InventoryPositionViewSet(CanonicalReadViewSet):
    domain = Domain.INVENTORY
    queryset = _positions()
    serializer_class = InventoryPositionSerializer
    filterset_class = InventoryPositionFilter


_POSITION_PARAMS = [
    OpenApiParameter("system", str, OpenApiParameter.PATH, description="Code of the reporting system."),
    OpenApiParameter(
        "location", str, OpenApiParameter.PATH,
        description="The system's external id for the location (see PUT .../locations/{external_id}), "
        "or else the hub's location code.",
    ),
    OpenApiParameter("sku", str, OpenApiParameter.PATH, description="The product's SKU."),
]


@extend_schema_view(
    get=extend_schema(
        tags=["inventory"],
        summary="Get the inventory position of a SKU at a location",
        parameters=_POSITION_PARAMS,
        responses={200: InventoryPositionSerializer},
        operation_id="inventory_position_by_location_sku",
    ),
    put=extend_schema(
        tags=["inventory"],
        summary="Report stock on hand and in transit for a SKU at a location (inventory's system of record)",
        description=(
            "The warehouse reports what it counted, as of a moment; `reserved` is the hub's (stock held by "
            "order lines) and cannot be sent. Answers 201 for a new position, else 200, with `outcome`:\n\n"
            "* `updated`: quantities changed; `inventory.changed` is emitted with before, after and available "
            "to promise;\n"
            "* `unchanged`: same quantities; only last_updated_at/last_updated_by move forward, no event;\n"
            "* `stale`: `as_of` is older than the position's last_updated_at, so the report is ignored "
            "(a late, out-of-order delivery is not an error for the sender) and the body shows the newer "
            "figures the hub holds.\n\n"
            "A report whose on hand is below the hub's reserved quantity is refused with 422 "
            "(`on-hand-below-reserved`, naming both numbers); it is never clamped. Only the system of record for "
            "inventory may report; others get 409 naming the owner."
        ),
        parameters=_POSITION_PARAMS,
        request=InventoryReportInput,
        responses={200: InventoryReportResultSerializer, 201: InventoryReportResultSerializer},
        operation_id="inventory_position_report",
    ),
)
class InventoryPositionByLocationSku(APIView):
    permission_classes = [PartnerOrStaff]

    def get(self, request, system: str, location: str, sku: str):
        domain_read_assert(request.user, Domain.INVENTORY)
        position = inventory_position_find(system=system_get(code=system), location_ref=location, sku=sku)
        return Response(InventoryPositionSerializer(_positions().get(pk=position.pk)).data)

    def put(self, request, system: str, location: str, sku: str):
        target = system_get(code=system)
        write_as_assert(request.user, target)
        serializer = InventoryReportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = inventory_position_report(
            system=target, location_ref=location, sku=sku, actor=actor_for(request), **serializer.validated_data
        )
        position = _positions().get(pk=report.position.pk)
        position.outcome = report.outcome
        created = report.outcome == ReportOutcome.CREATED
        return Response(
            InventoryReportResultSerializer(position).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


read_routes = [
    ("locations", LocationViewSet, "location"),
    ("inventory", InventoryPositionViewSet, "inventory-position"),
]
external_routes = [("locations", LocationByExternalId)]
# <path:sku> as the last segment: a SKU may contain "/", which a client cannot escape past URL decoding.
extra_urlpatterns = [
    path(
        "systems/<str:system>/inventory/<str:location>/<path:sku>",
        InventoryPositionByLocationSku.as_view(),
        name="inventory-position-by-location-sku",
    ),
]
