"""RFC 9457 problem details for every error the API returns.

Each problem has a stable ``type`` URI under PROBLEM_BASE, a ``title``, the HTTP
``status``, a human ``detail`` and, for validation failures, ``errors`` listing
each field (as a JSON pointer) with its messages.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from canonical.errors import CanonicalError
from canonical.state import IllegalTransition

logger = logging.getLogger(__name__)

PROBLEM_BASE = "https://hub.example/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

_DEFAULT_TYPES = {
    400: "bad-request",
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "rate-limited",
    500: "server-error",
    503: "unavailable",
}


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


def problem_body(status_code: int, *, detail: str, slug: str | None = None, title: str | None = None, **extra) -> dict:
    body = {
        "type": problem_type(slug or _DEFAULT_TYPES.get(status_code, "error")),
        "title": title or _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


class ProblemJsonResponse(JsonResponse):
    """A plain Django response with a problem body, for errors raised outside DRF views."""

    def __init__(self, status_code: int, *, detail: str, slug: str | None = None, headers=None, **extra):
        super().__init__(
            problem_body(status_code, detail=detail, slug=slug, **extra),
            status=status_code,
            content_type=PROBLEM_CONTENT_TYPE,
            headers=headers,
        )


class Problem(exceptions.APIException):
    """Raise from a view or service caller to answer with a specific problem type."""

    def __init__(self, status_code: int, detail: str, *, slug: str, title: str | None = None, **extra):
        self.status_code = status_code
        self.slug = slug
        self.title = title
        self.extra = extra
        super().__init__(detail=detail)


def _flatten_errors(data, pointer: str = "") -> list[dict]:
    """DRF's nested ValidationError detail → a flat list of {pointer, field, messages}."""
    errors: list[dict] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "non_field_errors":
                errors.extend(_flatten_errors(value, pointer))
            else:
                errors.extend(_flatten_errors(value, f"{pointer}/{key}"))
    elif isinstance(data, list) and data and all(isinstance(item, str) for item in data):
        errors.append({"pointer": pointer or "/", "field": pointer.rsplit("/", 1)[-1] or None, "messages": [str(i) for i in data]})
    elif isinstance(data, list):
        for index, item in enumerate(data):
            if item:
                errors.extend(_flatten_errors(item, f"{pointer}/{index}"))
    elif data:
        errors.append({"pointer": pointer or "/", "field": pointer.rsplit("/", 1)[-1] or None, "messages": [str(data)]})
    return errors


def _summary(errors: list[dict]) -> str:
    parts = [f"{e['pointer']}: {'; '.join(e['messages'])}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def problem_exception_handler(exc, context):
    """DRF exception handler: everything becomes application/problem+json."""
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, CanonicalError):
        exc = Problem(exc.status_code, exc.detail, slug=exc.slug, title=exc.title, **exc.extra)
    elif isinstance(exc, IllegalTransition):
        exc = Problem(
            409,
            str(exc),
            slug="illegal-transition",
            title="Illegal status transition",
            **exc.problem_members(),
        )

    if isinstance(exc, Problem):
        body = problem_body(exc.status_code, detail=str(exc.detail), slug=exc.slug, title=exc.title, **exc.extra)
    elif isinstance(exc, exceptions.ValidationError):
        errors = _flatten_errors(exc.detail)
        body = problem_body(
            400,
            detail=_summary(errors) or "The request is not valid.",
            slug="validation-error",
            title="Validation failed",
            errors=errors,
        )
    elif isinstance(exc, exceptions.ParseError):
        body = problem_body(400, detail=str(exc.detail), slug="malformed-json", title="Malformed request body")
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        body = problem_body(
            415, detail=f"{exc.detail} Send the body as application/json.", slug="unsupported-media-type"
        )
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        body = problem_body(401, detail=str(exc.detail))
        headers["WWW-Authenticate"] = 'Bearer realm="hub"'
    elif isinstance(exc, exceptions.Throttled):
        body = problem_body(429, detail=str(exc.detail))
        if exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
    elif isinstance(exc, exceptions.APIException):
        body = problem_body(exc.status_code, detail=str(exc.detail))
    else:
        return None  # Django turns it into a 500; hub.views.server_error renders that as a problem.

    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) and "Retry-After" not in headers:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    set_rollback()
    response = Response(body, status=body["status"], headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_response(status_code: int, detail: str, *, slug: str | None = None, **extra) -> Response:
    response = Response(problem_body(status_code, detail=detail, slug=slug, **extra), status=status_code)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "Problem",
    "ProblemJsonResponse",
    "problem_body",
    "problem_exception_handler",
    "problem_response",
    "problem_type",
    "status",
]
