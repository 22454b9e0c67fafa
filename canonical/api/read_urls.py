"""Routes of the canonical API, gathered from each module in canonical.api.views.

A module declares ``read_routes = [(prefix, ViewSet, basename)]`` and
``external_routes = [(entity, View)]`` (served at systems/<system>/<entity>/<external_id>).
"""

import importlib
import pkgutil

from django.urls import path
from rest_framework.routers import SimpleRouter

from canonical.api import views as views_package

router = SimpleRouter(trailing_slash=False)
external_patterns = []
for module_info in sorted(pkgutil.iter_modules(views_package.__path__), key=lambda m: m.name):
    if module_info.name == "base":
        continue
    module = importlib.import_module(f"{views_package.__name__}.{module_info.name}")
    for prefix, viewset, basename in getattr(module, "read_routes", []):
        router.register(prefix, viewset, basename=basename)
    for entity, view in getattr(module, "external_routes", []):
        external_patterns.append(
            path(f"systems/<str:system>/{entity}/<str:external_id>", view.as_view(), name=f"{entity}-by-external-id")
        )
    urlpatterns_extra = getattr(module, "extra_urlpatterns", [])
    external_patterns.extend(urlpatterns_extra)

urlpatterns = external_patterns + router.urls
