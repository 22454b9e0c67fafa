"""Orders: read endpoints and the orders' system of record's upsert."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from canonical.api.filters.orders import OrderFilter
from canonical.api.serializers.orders import OrderUpsertInput
from canonical.api.views.base import CanonicalReadViewSet, ExternalRecordView
from canonical.models import Domain, EntityType, Order
from canonical.serializers.orders import OrderSerializer, order_queryset
from canonical.services.orders import order_upsert


@extend_schema_view(
    list=extend_schema(
        tags=["orders"],
        summary="List orders with their lines",
        description="Newest change first; the cursor stays stable while orders are written.",
    ),
    retrieve=extend_schema(tags=["orders"], summary="Get an order with its lines by hub id"),
)
class OrderViewSet(CanonicalReadViewSet):
    domain = Domain.ORDERS
    queryset = order_queryset()
    serializer_class = OrderSerializer
    filterset_class = OrderFilter


@ExternalRecordView.documented(tag="orders", noun="order")
class OrderByExternalId(ExternalRecordView):
    domain = Domain.ORDERS
    entity_type = EntityType.ORDER
    model = Order
    serializer_class = OrderSerializer
    write_serializer_class = OrderUpsertInput
    upsert = staticmethod(order_upsert)

    def get_queryset(self):
        return order_queryset()


read_routes = [("orders", OrderViewSet, "order")]
# OrderByExternalId is served by hub.api.orders, through hub's workflow: a cancel written by the
# system of record also closes finance's credit hold on the order (connectors' exceptions).
