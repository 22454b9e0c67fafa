"""Representations of inbound messages for the partner who sent them (and for the API schema)."""

from __future__ import annotations

from rest_framework import serializers

from connectors.models import InboundMessage


class InboundMessageStatusSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    duplicate_of = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = InboundMessage
        fields = [
            "id", "system", "message_type", "sender_message_id", "status", "received_at", "processed_at",
            "processing_attempts", "correlation_id", "errors", "response_status", "response_body", "duplicate_of",
        ]
        read_only_fields = fields


class InboundMessageRef(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()


class InboundProcessedSerializer(serializers.Serializer):
    message = InboundMessageRef()
    status = serializers.CharField()
    message_type = serializers.CharField()
    result = serializers.JSONField(help_text="What the message did; its shape depends on the message type.")


class InboundAcceptedSerializer(serializers.Serializer):
    message = InboundMessageRef()
    status = serializers.CharField()
    detail = serializers.CharField()
