"""URL map of the hub: portal pages, admin, the partner API and its docs, health."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from hub.health import healthz, readyz
from hub.pages.credit import credit_hold_for_exception, credit_holds, credit_holds_decide
from hub.pages.timeline import order_timeline_page
from hub.portal import home
from hub.views import favicon

handler403 = "hub.views.handler403"
handler404 = "hub.views.handler404"
handler500 = "hub.views.handler500"

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("portal/credit-holds/", credit_holds, name="credit-holds"),
    path("portal/credit-holds/decide/", credit_holds_decide, name="credit-holds-decide"),
    path("portal/credit-holds/exception/<int:exception_id>/", credit_hold_for_exception,
         name="credit-hold-for-exception"),
    path("portal/stewardship/", include("hub.pages.stewardship_urls")),
    # Before the admin's own URLs: an admin page of the hub's (it reads connectors, which canonical cannot).
    path("admin/canonical/order/<int:pk>/timeline/", order_timeline_page, name="order-timeline-page"),
    path("admin/", admin.site.urls),
    path("governance/", include("governance.pages.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Process APIs of the hub, before the canonical routes they extend.
    path("api/v1/", include("hub.api.timeline")),
    path("api/v1/", include("hub.api.disputes")),
    path("api/v1/", include("hub.api.supply")),
    path("api/v1/", include("hub.api.orders")),
    path("api/v1/", include("hub.api.pricing")),
    path("api/v1/", include("canonical.api.urls")),
    path("api/v1/", include("connectors.api.urls")),
]

if settings.HUB_BENCH_BARE:
    urlpatterns.append(path("bench/bare/", include("bench.bare.urls")))
