"""Usage counting: one row per consumer, version, UTC day and status class, incremented in place.

With ``HUB_USAGE_FLUSH_SECONDS`` above 0 (production: 1), the policy adds each call to a small
in-process buffer that a timer writes that many seconds later, one ``count = count + n`` per key:
a busy API costs a few writes a second rather than one per call, and the board's figures lag by
about a second (a crash loses at most that). At 0 every call is written at once (tests rely on it).
"""

from __future__ import annotations

import atexit
import logging
import threading
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from governance.models import UsageCounter

logger = logging.getLogger(__name__)


def status_class(status_code: int) -> str:
    return f"{min(max(status_code // 100, 2), 5)}xx"


def usage_record(*, consumer_id: int, version_id: int, status_code: int, at: datetime, count: int = 1) -> None:
    """Count calls now. The steady state is a single UPDATE; the first call of a day inserts the row."""
    _write((consumer_id, version_id, at.astimezone(UTC).date(), status_class(status_code)), count, at)


def _write(key: tuple[int, int, date, str], count: int, last: datetime) -> None:
    consumer_id, version_id, day, klass = key
    rows = UsageCounter.objects.filter(consumer_id=consumer_id, version_id=version_id, day=day, status_class=klass)
    changes = {"count": F("count") + count, "last_called_at": Greatest(F("last_called_at"), last)}
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            UsageCounter.objects.create(consumer_id=consumer_id, version_id=version_id, day=day, status_class=klass,
                                        count=count, last_called_at=last)
    except IntegrityError:
        # Another process inserted the day's row between our UPDATE and INSERT.
        rows.update(**changes)


class UsageBuffer:
    """Counts per key, written together by a timer once the flush interval has passed."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, int, date, str], list] = {}
        self._timer: threading.Timer | None = None

    def add(self, *, consumer_id: int, version_id: int, status_code: int, at: datetime) -> None:
        key = (consumer_id, version_id, at.astimezone(UTC).date(), status_class(status_code))
        interval = getattr(settings, "HUB_USAGE_FLUSH_SECONDS", 1)
        if interval <= 0:
            _write(key, 1, at)
            return
        with self._lock:
            entry = self._pending.setdefault(key, [0, at])
            entry[0] += 1
            entry[1] = max(entry[1], at)
            if self._timer is None:
                self._timer = threading.Timer(interval, self._flush_from_timer)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for key, (count, last) in pending.items():
            _write(key, count, last)

    def _flush_from_timer(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - a lost second of counts must not kill the thread silently
            logger.exception("Could not write API usage counts")
        finally:
            connections.close_all()  # this thread's own connections


usage_buffer = UsageBuffer()


def _flush_at_exit() -> None:
    try:
        usage_buffer.flush()
    except Exception:  # noqa: BLE001 - the process is ending; say what was lost rather than fail the exit
        logger.exception("Could not write the last API usage counts")


atexit.register(_flush_at_exit)
