"""Webhook kind: POST the signed event envelope (or the mapped payload) to the subscriber's URL."""

from connectors.kinds.webhook.client import WebhookTransport

__all__ = ["WebhookTransport"]
