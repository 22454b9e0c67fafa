"""Partner REST API for the canonical store, mounted at /api/v1/ by hub.urls."""

from django.urls import include, path

app_name = "canonical-api"

urlpatterns = [
    path("", include("canonical.api.read_urls")),
    path("", include("canonical.api.upsert_urls")),
]
