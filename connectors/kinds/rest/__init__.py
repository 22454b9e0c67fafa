"""REST kind: call the partner's resource API (method and path template from the connector)."""

from connectors.kinds.rest.client import RestTransport

__all__ = ["RestTransport"]
