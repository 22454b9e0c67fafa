"""Reads that span the canonical store and the connectors (timelines, queues)."""
