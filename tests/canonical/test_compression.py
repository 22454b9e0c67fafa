"""Large values written on the hot paths are compressed with lz4 where PostgreSQL has it (canonical.compression)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

COLUMNS = [("canonical_businessevent", "payload"), ("hub_idempotencyrecord", "response_body"),
           ("connectors_inboundmessage", "body"), ("connectors_inboundmessage", "response_body")]


def test_the_hot_paths_large_columns_are_compressed_with_lz4():
    with connection.cursor() as cursor:
        cursor.execute("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        if "lz4" not in cursor.fetchone()[0]:
            pytest.skip("this PostgreSQL has no lz4; the migrations leave pglz")
        methods = {}
        for table, column in COLUMNS:
            cursor.execute("SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
                           [table, column])
            methods[(table, column)] = cursor.fetchone()[0]
        assert methods == {column: "l" for column in COLUMNS}

        # A value over the compression threshold is stored lz4-compressed and reads back whole.
        from canonical.context import Actor
        from canonical.models import BusinessEvent
        from canonical.services.events import event_record

        payload = {"lines": [{"sku": f"SKU-{i:04d}", "note": "repeated text " * 4} for i in range(60)]}
        event = event_record(event_type="order.created", aggregate_type="order", aggregate_id=1, payload=payload,
                             actor=Actor.hub())
        cursor.execute("SELECT pg_column_compression(payload) FROM canonical_businessevent WHERE id = %s", [event.pk])
        assert cursor.fetchone()[0] == "lz4"
        assert BusinessEvent.objects.get(pk=event.pk).payload == payload
