"""Stored answers of idempotency keys compressed with lz4 where PostgreSQL has it (canonical.compression)."""

from django.db import migrations

from canonical.compression import compression_set


class Migration(migrations.Migration):

    dependencies = [
        ("hub", "0002_idempotency_records"),
    ]

    operations = [compression_set([("hub_idempotencyrecord", "response_body")])]
