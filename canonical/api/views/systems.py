"""The systems the hub talks to and the system-of-record table: readable by staff and every partner."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from canonical.api.filters.systems import SystemFilter
from canonical.api.views.base import PartnerOrStaff
from canonical.models import System, SystemOfRecord
from canonical.serializers.systems import SystemOfRecordSerializer, SystemSerializer


@extend_schema_view(
    list=extend_schema(tags=["systems"], summary="List the external systems, with the domains each one owns"),
    retrieve=extend_schema(tags=["systems"], summary="Get a system by its code"),
)
class SystemViewSet(viewsets.ReadOnlyModelViewSet):
    """Not domain data: any partner needs to know who owns what before it writes."""

    permission_classes = [PartnerOrStaff]
    queryset = System.objects.prefetch_related("owned_domains")
    serializer_class = SystemSerializer
    filterset_class = SystemFilter
    lookup_field = "code"


@extend_schema_view(
    list=extend_schema(
        tags=["systems"],
        summary="The system-of-record table: which system owns each domain",
        description="Only the owner of a domain may write it; a write from another system is refused with 409. "
        "The table has at most one row per domain, so it is not paginated.",
    ),
    retrieve=extend_schema(tags=["systems"], summary="The system of record for one domain"),
)
class SystemOfRecordViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [PartnerOrStaff]
    queryset = SystemOfRecord.objects.select_related("system").order_by("domain")
    serializer_class = SystemOfRecordSerializer
    pagination_class = None
    filter_backends = []
    lookup_field = "domain"


read_routes = [
    ("systems", SystemViewSet, "system"),
    ("system-of-record", SystemOfRecordViewSet, "system-of-record"),
]
