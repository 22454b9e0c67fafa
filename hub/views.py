"""Error pages: problem details for the API, pages for people."""

from __future__ import annotations

from django.apps import apps
from django.shortcuts import render
from django.urls import Resolver404, resolve
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
    app_label, _, rest = match.url_name.partition("_")
    model_name, _, page = rest.rpartition("_")
    try:
        opts = apps.get_model(app_label, model_name)._meta
    except LookupError:
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
