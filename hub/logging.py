"""Log output: structured JSON lines for production (one object per line), and the filter that keeps
expected refusals to one line."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class PermissionDeniedFilter(logging.Filter):
    """A 403 is the hub answering as designed, not a failure: Django logs each PermissionDenied on
    ``django.request`` with its traceback, which buries real errors. Keep it one warning line, with
    the refusal's reason; every other record (a 500 and its traceback included) passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exception = record.exc_info[1] if record.exc_info else None
        if isinstance(exception, PermissionDenied):
            reason = str(exception)
            record.msg = record.getMessage() + (f" ({reason})" if reason else "")
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True
