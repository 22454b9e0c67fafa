"""Request-level rules: correlation ids, refusing oversized or non-JSON API bodies early, and building
the admin's links for the user who asked."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve

from canonical.admin.common import links_for
from connectors.services.inbound import inbound_refuse_oversized, is_json_media_type
from hub.correlation import correlation_from_headers, reset_correlation_id, set_correlation_id
from hub.problems import PROBLEM_CONTENT_TYPE, ProblemJsonResponse

_BODY_METHODS = {"POST", "PUT", "PATCH"}
INBOUND_PREFIX = "/api/v1/inbound/"


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        correlation_id = correlation_from_headers(request.headers)
        request.correlation_id = correlation_id
        token = set_correlation_id(correlation_id)
        try:
            response = self._guard(request) or self.get_response(request)
        finally:
            reset_correlation_id(token)
        response["X-Correlation-ID"] = correlation_id
        return response

    def _guard(self, request):
        if not request.path.startswith("/api/") or request.method not in _BODY_METHODS:
            return None
        limit = settings.HUB_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return ProblemJsonResponse(400, detail="The Content-Length header is not a number.", slug="bad-request")
        if length > limit:
            if request.path.startswith(INBOUND_PREFIX):
                refused = _inbound_refused(request, length, limit)
                if refused is not None:
                    return refused
            return ProblemJsonResponse(
                413,
                detail=f"The request body is {length} bytes; the limit is {limit} bytes.",
                slug="payload-too-large",
                limit_bytes=limit,
            )
        # Partner messages are stored whatever they are, then refused by the inbound pipeline
        # with the reason; only the size limit applies before that.
        if request.path.startswith(INBOUND_PREFIX):
            return None
        if length and not is_json_media_type(request.content_type):
            return ProblemJsonResponse(
                415,
                detail=f"Content type '{request.content_type or 'none'}' is not accepted; send application/json.",
                slug="unsupported-media-type",
            )
        return None


class LinkPermissionsMiddleware:
    """Admin pages link only where their user may go: the display methods that build links ask
    ``canonical.admin.common.may_view``, which needs the request while the page is rendered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with links_for(request):
            return self.get_response(request)


def _inbound_refused(request, length: int, limit: int):
    """A partner message over the size limit: recorded (without its body) and refused with its id."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.url_name != "inbound-message":
        return None  # not a message route: refused as any other oversized request
    outcome = inbound_refuse_oversized(
        system_code=match.kwargs["system"], message_type=match.kwargs["message_type"], headers=request.headers,
        length=length, limit=limit,
        content_type=request.content_type, remote_addr=request.META.get("REMOTE_ADDR", ""),
        correlation_id=request.correlation_id,
    )
    return JsonResponse(outcome.body, status=outcome.status_code, content_type=PROBLEM_CONTENT_TYPE)
