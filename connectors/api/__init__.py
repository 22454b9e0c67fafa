"""The connectors app's HTTP API: inbound partner messages and their status."""
