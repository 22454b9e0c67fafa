"""Partner REST API for the canonical store, mounted at /api/v1/ by hub.urls."""

from canonical.api.read_urls import urlpatterns

__all__ = ["urlpatterns"]
