"""The canonical JSON representation of each record: what the API returns and event payloads carry."""
