"""Event payloads compressed with lz4 where PostgreSQL has it (canonical.compression)."""

from django.db import migrations

from canonical.compression import compression_set


class Migration(migrations.Migration):

    dependencies = [
        ("canonical", "0010_invoice_disputed_amount"),
    ]

    operations = [compression_set([("canonical_businessevent", "payload")])]
