"""The write path's shortcuts (bench/upsert_vs_bare.py) say and do exactly what the long way did."""

from datetime import UTC, datetime

import pytest
from django.db import transaction
from rest_framework import serializers

from canonical.context import Actor
from canonical.models import BusinessEvent, Shipment, ShipmentMilestone
from canonical.serializers.base import FieldsBuiltOnce
from canonical.serializers.fulfilment import (
    MilestoneRecordedSerializer,
    ShipmentMilestoneSerializer,
    ShipmentSummarySerializer,
)
from canonical.services.events import event_record
from canonical.services.inserts import row_insert
from tests.factories import ExternalRefFactory, ShipmentFactory, SystemFactory, SystemOfRecordFactory

pytestmark = pytest.mark.django_db

AT = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def record(aggregate_id):
    return event_record(event_type="shipment.milestone", aggregate_type="shipment", aggregate_id=aggregate_id,
                        payload={"n": aggregate_id}, actor=Actor.hub())


def test_an_events_sequence_is_taken_in_its_insert_and_read_back():
    with transaction.atomic():
        first, second, other, third = record(7), record(7), record(8), record(7)
    assert [first.sequence, second.sequence, third.sequence, other.sequence] == [1, 2, 3, 1]
    stored = BusinessEvent.objects.get(pk=third.pk)
    assert (stored.event_id, stored.sequence, stored.recorded_at, stored.payload, stored.aggregate_id) == (
        third.event_id, 3, third.recorded_at, {"n": 7}, "7"
    )
    assert not third._state.adding
    third.relayed_at = AT
    third.save(update_fields=["relayed_at"])  # an instance the ORM can go on with
    assert BusinessEvent.objects.get(pk=third.pk).relayed_at == AT


def test_a_row_whose_unique_key_is_taken_is_not_written_and_the_transaction_goes_on():
    shipment = ShipmentFactory()
    with transaction.atomic():
        first = ShipmentMilestone(shipment=shipment, code="picked", occurred_at=AT)
        repeat = ShipmentMilestone(shipment=shipment, code="picked", occurred_at=AT, detail="again")
        assert row_insert(first, unless_taken=["shipment", "code", "occurred_at"]) is True
        assert row_insert(repeat, unless_taken=["shipment", "code", "occurred_at"]) is False
        Shipment.objects.filter(pk=shipment.pk).update(status="picked")  # no aborted transaction
    assert first.pk is not None and repeat.pk is None
    assert list(ShipmentMilestone.objects.values_list("pk", "detail")) == [(first.pk, "")]


def post_milestone(client, external_id, system, code="picked"):
    return client.post(f"/api/v1/systems/{system}/shipments/{external_id}/milestones",
                       {"code": code, "occurred_at": "2025-03-01T10:00:00Z"}, format="json")


def test_a_system_that_knows_a_shipment_but_does_not_own_shipments_is_409(partner_client):
    wms = SystemFactory(code="wms", kind="wms")
    SystemOfRecordFactory(domain="shipments", system=wms)
    tms = partner_client("tms", "tms")
    shipment = ShipmentFactory()
    ExternalRefFactory(system=tms.system, entity_type="shipment", external_id="T-1", object_id=shipment.pk)
    response = post_milestone(tms, "T-1", "tms")
    assert response.status_code == 409, response.content
    assert response.json()["system_of_record"] == "wms"
    assert not ShipmentMilestone.objects.exists() and not BusinessEvent.objects.exists()
    # Known id or not, the answer is the same: ownership is refused before the id is looked at.
    assert post_milestone(tms, "T-404", "tms").json()["system_of_record"] == "wms"


def test_a_key_whose_own_system_was_deactivated_writes_nothing(partner_client):
    wms = partner_client("wms", "wms")
    SystemOfRecordFactory(domain="shipments", system=wms.system)
    shipment = ShipmentFactory()
    ExternalRefFactory(system=wms.system, entity_type="shipment", external_id="W-1", object_id=shipment.pk)
    assert post_milestone(wms, "W-1", "wms").status_code == 201
    type(wms.system).objects.filter(pk=wms.system.pk).update(is_active=False)
    response = post_milestone(wms, "W-1", "wms", code="packed")
    assert response.status_code == 404, response.content
    assert response.json()["type"].endswith("/unknown-reference")
    assert ShipmentMilestone.objects.count() == 1


class PlainSummary(serializers.ModelSerializer):
    class Meta(ShipmentSummarySerializer.Meta):
        pass


class PlainMilestone(serializers.ModelSerializer):
    source_system = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    shipment = PlainSummary(read_only=True)

    class Meta(MilestoneRecordedSerializer.Meta):
        pass


def test_serializers_whose_fields_are_built_once_represent_each_record_as_drf_would():
    source = SystemFactory(code="wms", kind="wms")
    one, two = ShipmentFactory(carrier="fastfreight"), ShipmentFactory(status="packed")
    first = ShipmentMilestone.objects.create(shipment=one, code="picked", occurred_at=AT, source_system=source)
    second = ShipmentMilestone.objects.create(shipment=two, code="packed", occurred_at=AT, detail="dock 4")
    for milestone in (first, second, first):
        assert MilestoneRecordedSerializer(milestone).data == PlainMilestone(milestone).data
        assert ShipmentSummarySerializer(milestone.shipment).data == PlainSummary(milestone.shipment).data
    assert ShipmentMilestoneSerializer(second).data["source_system"] is None
    assert ShipmentMilestoneSerializer(first).fields is ShipmentMilestoneSerializer(second).fields
    assert MilestoneRecordedSerializer(first).fields is not ShipmentMilestoneSerializer(first).fields


def test_with_a_context_a_serializer_builds_its_own_fields():
    shipment = ShipmentFactory()
    shared = ShipmentSummarySerializer(shipment).fields
    own = ShipmentSummarySerializer(shipment, context={"request": None})
    assert own.fields is not shared
    assert own.fields is own.fields
    assert own.data == ShipmentSummarySerializer(shipment).data
    assert issubclass(ShipmentSummarySerializer, FieldsBuiltOnce)
