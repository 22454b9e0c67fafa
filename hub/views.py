"""Error pages: problem details for the API, plain pages for people."""

from __future__ import annotations

from django.views.defaults import page_not_found, server_error

from hub.problems import ProblemJsonResponse


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return ProblemJsonResponse(404, detail=f"No API resource at {request.path}.")
    return page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return ProblemJsonResponse(
            500,
            detail="The hub failed to handle this request. It has been logged; quote the correlation id to support.",
            correlation_id=getattr(request, "correlation_id", None),
        )
    return server_error(request)
