"""URL map of the hub: portal pages, admin, the partner API and its docs, health."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from hub.health import healthz, readyz
from hub.portal import home

handler404 = "hub.views.handler404"
handler500 = "hub.views.handler500"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("governance/", include("governance.pages.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include("canonical.api.urls")),
    path("api/v1/", include("connectors.api.urls")),
]

if settings.HUB_BENCH_BARE:
    urlpatterns.append(path("bench/bare/", include("bench.bare.urls")))
