"""The correlation id of the work in progress, for log lines and the records a request creates."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

_current: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
_SAFE = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def correlation_from_headers(headers) -> str:
    """X-Correlation-ID if it is sane, else the trace id of a W3C traceparent, else a new id."""
    given = (headers.get("X-Correlation-ID") or "").strip()
    if given and _SAFE.match(given):
        return given
    match = _TRACEPARENT.match((headers.get("traceparent") or "").strip().lower())
    if match and match.group(1) != "0" * 32:
        return match.group(1)
    return uuid.uuid4().hex


def get_correlation_id() -> str:
    return _current.get()


def set_correlation_id(value: str) -> contextvars.Token:
    return _current.set(value)


def reset_correlation_id(token: contextvars.Token) -> None:
    _current.reset(token)


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _current.get()
        return True
