"""Error pages: problem details for the API, pages for people."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found, permission_denied, server_error

from hub.problems import ProblemJsonResponse
from hub.roles import ROLE_LABELS


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return ProblemJsonResponse(404, detail=f"No API resource at {request.path}.")
    return page_not_found(request, exception)


def _admin_page_label(request) -> str:
    """"the audit entries list" for an admin URL the user may not open; "" for any other page."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return ""
    if match.namespace != "admin" or not match.url_name:
        return ""
    # The admin names a model's pages "<app label>_<model name>_<page>"; app labels may hold "_"
    # (django_q), so the model is found by its registered prefix, not by splitting the name.
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if match.url_name.startswith(prefix):
            opts, page = model._meta, match.url_name.removeprefix(prefix)
            break
    else:
        return ""
    if page == "changelist":
        return f"the {opts.verbose_name_plural} list"
    return f"a page of {opts.verbose_name_plural}"


def handler403(request, exception=None):
    """The API answers with a problem; staff get a page in the portal's layout saying what their role
    lacks, with a way home; anyone else gets Django's plain page."""
    if _is_api(request):
        return ProblemJsonResponse(403, detail=str(exception or "") or "You may not do this.")
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return permission_denied(request, exception)
    roles = [ROLE_LABELS.get(name, name) for name in user.groups.order_by("name").values_list("name", flat=True)]
    context = {
        "path": request.get_full_path(),
        "page_label": _admin_page_label(request),
        "reason": str(exception or ""),
        "roles": roles,
    }
    return render(request, "hub/forbidden.html", context, status=403)


def handler500(request):
    if _is_api(request):
        return ProblemJsonResponse(
            500,
            detail="The hub failed to handle this request. It has been logged; quote the correlation id to support.",
            correlation_id=getattr(request, "correlation_id", None),
        )
    return server_error(request)


# The hub's mark: a rounded square in the header's blue with a white hub (a ring and four spokes).
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
    'fill="#1f4e79"/><circle cx="8" cy="8" r="2.5" fill="none" stroke="#fff" stroke-width="1.5"/><path '
    'd="M8 1.5v3.5M8 11v3.5M1.5 8h3.5M11 8h3.5" stroke="#fff" stroke-width="1.5"/></svg>'
)


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico on every page, and the admin's pages name no icon: the hub's
    mark, cached for a day, instead of a 404 in the log for each page a person opens."""
    response = HttpResponse(FAVICON_SVG, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
