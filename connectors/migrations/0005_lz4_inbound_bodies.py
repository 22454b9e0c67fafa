"""Inbound messages' bodies and outcomes compressed with lz4 where PostgreSQL has it (canonical.compression)."""

from django.db import migrations

from canonical.compression import compression_set


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0004_message_id_field_help"),
    ]

    operations = [compression_set([("connectors_inboundmessage", "body"), ("connectors_inboundmessage", "response_body")])]
