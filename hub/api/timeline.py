"""GET /api/v1/orders/{id}/timeline: everything that touched an order, in time order."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import domain_read_assert
from canonical.api.views.base import PartnerOrStaff, visible_record
from canonical.api.views.orders import OrderViewSet
from canonical.models import Domain, Order, OrderStatus
from hub.selectors.timeline import MAX_ENTRIES_PER_KIND, Kind, OrderTimeline, TimelineViewer, order_timeline


class TimelineOrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    customer = serializers.IntegerField(source="customer_id")
    correlation_id = serializers.CharField()


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When the hub recorded it (an event's occurred_at is in data).")
    kind = serializers.ChoiceField(choices=Kind.choices)
    title = serializers.CharField(help_text="One line for a person.")
    object_type = serializers.CharField(help_text="order, shipment, invoice, return, credit_memo, purchase_order, "
                                                  "delivery, inbound_message or exception.")
    object_id = serializers.CharField()
    status = serializers.CharField(help_text="Status after a status change; outcome of an attempt; status of a "
                                             "message or exception now (the status it had at `at` is "
                                             "data.status_then). Empty for events and audit entries.")
    actor = serializers.CharField(help_text="user:<name>, system:<code>, connector:<code> or hub.")
    correlation_id = serializers.CharField()
    causation_id = serializers.CharField(help_text="What caused it: inbound:<message id>, an event id, or empty.")
    data = serializers.DictField(help_text="The kind's details (event id and type, from/to, attempt number and "
                                           "HTTP status, message type, exception category, audit before/after).")
    links = serializers.DictField(child=serializers.CharField(), help_text="api (and admin, for staff) URLs.")


class OrderTimelineSerializer(serializers.Serializer):
    order = TimelineOrderSerializer()
    entries = TimelineEntrySerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Entries per kind.")
    correlation_ids = serializers.ListField(child=serializers.CharField())
    truncated = serializers.ListField(
        child=serializers.ChoiceField(choices=Kind.choices),
        help_text=f"Kinds that had more than {MAX_ENTRIES_PER_KIND} entries; the newest are kept.",
    )


def timeline_body(timeline: OrderTimeline, request) -> dict:
    staff = timeline.viewer.is_staff
    entries = []
    for entry in timeline.entries:
        links = {}
        if entry.api_url:
            links["api"] = request.build_absolute_uri(entry.api_url)
        if staff and entry.admin_url:
            links["admin"] = request.build_absolute_uri(entry.admin_url)
        entries.append({
            "at": entry.at, "kind": entry.kind, "title": entry.title, "object_type": entry.object_type,
            "object_id": entry.object_id, "status": entry.status, "actor": entry.actor,
            "correlation_id": entry.correlation_id, "causation_id": entry.causation_id, "data": entry.data,
            "links": links,
        })
    return OrderTimelineSerializer({
        "order": timeline.order, "entries": entries, "counts": timeline.counts,
        "correlation_ids": timeline.correlation_ids, "truncated": timeline.truncated,
    }).data


class OrderTimelineView(APIView):
    permission_classes = [PartnerOrStaff]

    @extend_schema(
        tags=["orders"],
        operation_id="order_timeline",
        summary="The order's timeline: status changes, events, deliveries, inbound messages, exceptions",
        description=(
            "Everything that touched the order, oldest first: its status changes, the business events of the "
            "order and of its shipments, invoices, returns, credit memos and purchase orders, the delivery "
            "attempts of those events, the inbound messages that caused them or share their correlation id, "
            "and (for hub staff) the exceptions and audit entries about them. Each entry names its correlation "
            "id and links to the record. Partner systems see the domains their kind of system may read, their "
            f"own deliveries and their own messages. At most {MAX_ENTRIES_PER_KIND} entries per kind, the newest; "
            "`truncated` names the kinds that had more."
        ),
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Hub id of the order.")],
        responses={200: OrderTimelineSerializer},
    )
    def get(self, request, id: int):  # noqa: A002 - the path parameter's documented name
        domain_read_assert(request.user, Domain.ORDERS)
        order = visible_record(user=request.user, queryset=Order.objects.select_related("customer"),
                               viewset=OrderViewSet, pk=id, noun="order")
        timeline = order_timeline(order=order, viewer=TimelineViewer.for_user(request.user))
        return Response(timeline_body(timeline, request))


urlpatterns = [path("orders/<int:id>/timeline", OrderTimelineView.as_view(), name="order-timeline")]
