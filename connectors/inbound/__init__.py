"""Inbound partner messages: the message type registry, their JSON Schemas (schemas/) and handlers.

The pipeline itself is connectors.services.inbound; the HTTP endpoint is connectors.api.
"""
