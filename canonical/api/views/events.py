"""The pull feed of business events, for partners that poll instead of taking webhooks.

``GET /api/v1/events?after=<cursor>&type=order.*`` answers the events after the cursor, oldest
first, that the caller may see. The cursor is an event's feed position, given by the relay in
commit order (see canonical.models.BusinessEvent): a poller that stores the ``cursor`` of each
answer and passes it back never misses an event and never sees one twice, however events were
written concurrently. An event is in the feed once the relay has handed it on (normally well
under a second after it was written).

Visibility: the domains the caller's kind of system may read (canonical.access), and for a
supplier only the purchase orders addressed to it.
"""

from __future__ import annotations

from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import acting_system, readable_aggregate_types
from canonical.api.views.base import PartnerOrStaff
from canonical.events import EVENT_TYPES
from canonical.models import BusinessEvent, EventFeed, PurchaseOrder, SystemKind

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_TYPE_PATTERNS = 20


class FeedEventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="event_id", read_only=True, help_text="Unique; de-duplicate by it.")
    type = serializers.CharField(source="event_type", read_only=True)
    position = serializers.IntegerField(source="feed_position", read_only=True,
                                        help_text="Position in the feed; pass the last one as ?after=.")
    source_system = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = BusinessEvent
        fields = ["id", "position", "type", "schema_version", "aggregate_type", "aggregate_id", "sequence",
                  "occurred_at", "recorded_at", "correlation_id", "causation_id", "source_system", "payload"]


class FeedPageSerializer(serializers.Serializer):
    results = FeedEventSerializer(many=True)
    cursor = serializers.IntegerField(help_text="Pass this as ?after= next time (the same value when nothing was new).")
    has_more = serializers.BooleanField(help_text="True when more events wait after this page: ask again at once.")
    next = serializers.URLField(help_text="The URL of the next poll: this query with after=cursor.")


class FeedQuery(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, max_value=2**63 - 1, default=0, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT, required=False)
    type = serializers.ListField(child=serializers.CharField(max_length=80), required=False,
                                 max_length=MAX_TYPE_PATTERNS)

    def validate_type(self, patterns: list[str]) -> list[str]:
        known = set(EVENT_TYPES)
        for pattern in patterns:
            prefix = pattern[:-1] if pattern.endswith("*") else None
            if "\x00" in pattern or "*" in pattern[:-1]:
                raise ValidationError(f"'{pattern}' is not an event type or a 'prefix.*' pattern.")
            if prefix is None and pattern not in known:
                raise ValidationError(f"Unknown event type '{pattern}'. Known types: {', '.join(sorted(known))}.")
            if prefix is not None and not any(name.startswith(prefix) for name in known):
                raise ValidationError(f"No event type matches '{pattern}'.")
        return patterns


def _type_filter(patterns: list[str]) -> Q:
    condition = Q()
    for pattern in patterns:
        condition |= Q(event_type__startswith=pattern[:-1]) if pattern.endswith("*") else Q(event_type=pattern)
    return condition


def feed_queryset(user):
    """The events ``user`` may see in the feed."""
    events = BusinessEvent.objects.filter(feed_position__isnull=False)
    aggregate_types = readable_aggregate_types(user)
    if aggregate_types is None:
        return events
    system = acting_system(user)
    if system is not None and system.kind == SystemKind.SUPPLIER and "purchase_order" in aggregate_types:
        own = PurchaseOrder.objects.filter(supplier=system).annotate(key=Cast("pk", CharField())).values("key")
        others = [name for name in aggregate_types if name != "purchase_order"]
        return events.filter(Q(aggregate_type__in=others) | Q(aggregate_type="purchase_order", aggregate_id__in=own))
    return events.filter(aggregate_type__in=aggregate_types)


class EventFeedView(APIView):
    permission_classes = [PartnerOrStaff]

    @extend_schema(
        tags=["events"],
        operation_id="events_feed",
        summary="Poll the business events after a cursor, oldest first",
        description=(
            "Events the caller may see, in the order the hub committed them. Store `cursor` from each answer and "
            "pass it as `after` on the next poll; when `has_more` is true, ask again at once. Receivers "
            "de-duplicate by `id` (a re-sent event keeps its id). `type` takes event types or `prefix.*` "
            "patterns, repeated or comma-separated."
        ),
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT64, description="The cursor of the previous answer; 0 or "
                             "absent starts at the beginning."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description=f"At most this many events (1–{MAX_LIMIT}, "
                             f"default {DEFAULT_LIMIT})."),
            OpenApiParameter("type", OpenApiTypes.STR, many=True, explode=True,
                             description="Only these event types, e.g. order.* or shipment.dispatched."),
        ],
        responses={200: FeedPageSerializer},
    )
    def get(self, request):
        raw_types = [part.strip() for value in request.query_params.getlist("type") for part in value.split(",")]
        query = FeedQuery(data={**request.query_params.dict(), "type": [t for t in raw_types if t]})
        query.is_valid(raise_exception=True)
        after, page_size, patterns = query.validated_data["after"], query.validated_data["page_size"], \
            query.validated_data.get("type", [])
        # The high-water mark first: every position up to it is committed (positions become visible in
        # order), so when this page is not full the cursor can move past events the caller may not see
        # or did not ask for, and the next poll does not scan them again.
        high_water = EventFeed.objects.filter(pk=1).values_list("last_position", flat=True).first() or 0
        events = feed_queryset(request.user).filter(feed_position__gt=after, feed_position__lte=high_water)
        if patterns:
            events = events.filter(_type_filter(patterns))
        page = list(events.select_related("source_system").order_by("feed_position")[: page_size + 1])
        has_more = len(page) > page_size
        page = page[:page_size]
        cursor = page[-1].feed_position if has_more else max(after, high_water)
        params = request.query_params.copy()
        params["after"] = str(cursor)
        return Response({
            "results": FeedEventSerializer(page, many=True).data,
            "cursor": cursor,
            "has_more": has_more,
            "next": request.build_absolute_uri(f"{request.path}?{params.urlencode()}"),
        })


extra_urlpatterns = [path("events", EventFeedView.as_view(), name="event-feed")]
