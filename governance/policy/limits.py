"""Rate-plan counters shared by every web process: the database by default, Redis when configured.

Fixed windows per consumer: one second (the plan's burst), one minute and one UTC day. A call
counts in every window of the plan in one round trip; a refused call is taken back out again, so
a client that keeps hammering does not use up its daily quota with calls it never got.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F

from canonical.services.prepared import prepared
from governance.models import RateWindow


@dataclass(frozen=True)
class Window:
    """One window of the plan as this call left it: what remains and when the window starts again."""

    period: str
    seconds: int
    limit: int
    remaining: int
    reset: int


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    period: str = ""
    limit: int = 0
    retry_after: int = 0
    windows: tuple[Window, ...] = ()

    def headers(self) -> dict[str, str]:
        """The plan and what is left of it, as draft-ietf-httpapi-ratelimit-headers (-10) writes them:
        ``RateLimit-Policy: "minute";q=100;w=60`` and ``RateLimit: "minute";r=41;t=17``, one item
        per window of the plan (the burst second, the minute, the UTC day)."""
        if not self.windows:
            return {}
        return {
            "RateLimit-Policy": _policy_field(tuple((w.period, w.limit, w.seconds) for w in self.windows)),
            "RateLimit": ", ".join(f'"{w.period}";r={w.remaining};t={w.reset}' for w in self.windows),
        }


@lru_cache(maxsize=256)
def _policy_field(windows: tuple[tuple[str, int, int], ...]) -> str:
    return ", ".join(f'"{period}";q={limit};w={seconds}' for period, limit, seconds in windows)


def _decide(limits: list[tuple[str, int, int]], counts: dict[str, int], starts: dict[str, int], now: float
            ) -> RateDecision:
    resets = {period: max(1, math.ceil(starts[period] + seconds - now)) for period, seconds, _ in limits}
    refused: tuple[str, int, int] | None = None
    for period, _, limit in limits:
        if counts.get(period, 0) > limit and (refused is None or resets[period] > refused[2]):
            refused = (period, limit, resets[period])
    # A refused call is taken back out of every window (the counters' hit), so it uses up nothing.
    taken_back = 1 if refused else 0
    windows = tuple(Window(period, seconds, limit, max(0, limit - counts.get(period, 0) + taken_back), resets[period])
                    for period, seconds, limit in limits)
    if refused is None:
        return RateDecision(allowed=True, windows=windows)
    period, limit, wait = refused
    return RateDecision(allowed=False, period=period, limit=limit, retry_after=wait, windows=windows)


class DatabaseCounter:
    """One row per consumer and period, counted with a single INSERT .. ON CONFLICT .. RETURNING.

    The statement is atomic on both SQLite and PostgreSQL, so concurrent workers never lose a count;
    a new window resets the row instead of adding one, so the table does not grow with traffic.
    """

    def _sql(self, rows: int) -> str:
        table = connection.ops.quote_name(RateWindow._meta.db_table)
        values = ", ".join(["(%s, %s, %s, 1)"] * rows)
        return (
            f"INSERT INTO {table} (consumer_id, period, window_start, count) VALUES {values} "
            f"ON CONFLICT (consumer_id, period) DO UPDATE SET "
            f"count = CASE WHEN {table}.window_start = excluded.window_start THEN {table}.count + 1 ELSE 1 END, "
            f"window_start = excluded.window_start "
            f"RETURNING period, count"
        )

    def hit(self, consumer_id: int, limits: list[tuple[str, int, int]], now: float) -> RateDecision:
        starts = {period: int(now // seconds * seconds) for period, seconds, _ in limits}
        params: list = []
        for period, _, _ in limits:
            params += [consumer_id, period, starts[period]]
        with connection.cursor() as cursor:
            cursor.execute(*prepared(self._sql(len(limits)), params))
            counts = dict(cursor.fetchall())
        decision = _decide(limits, counts, starts, now)
        if not decision.allowed:
            for period, start in starts.items():
                RateWindow.objects.filter(consumer_id=consumer_id, period=period, window_start=start,
                                          count__gt=0).update(count=F("count") - 1)
        return decision


class CacheCounter:
    """Counters in the Django cache (Redis when REDIS_URL is set): ``incr`` is atomic there."""

    def _key(self, consumer_id: int, period: str, start: int) -> str:
        return f"hub:rate:{consumer_id}:{period}:{start}"

    def _incr(self, key: str, seconds: int) -> int:
        try:
            return cache.incr(key)
        except ValueError:
            if cache.add(key, 1, timeout=seconds + 5):
                return 1
            return cache.incr(key)

    def hit(self, consumer_id: int, limits: list[tuple[str, int, int]], now: float) -> RateDecision:
        starts = {period: int(now // seconds * seconds) for period, seconds, _ in limits}
        keys = {period: self._key(consumer_id, period, starts[period]) for period, _, _ in limits}
        counts = {period: self._incr(keys[period], seconds) for period, seconds, _ in limits}
        decision = _decide(limits, counts, starts, now)
        if not decision.allowed:
            for key in keys.values():
                try:
                    cache.decr(key)
                except ValueError:
                    pass
        return decision


def clock() -> float:
    """Seconds since the epoch; the one place the policy reads the time (tests set it)."""
    return time.time()


def counter():
    return CacheCounter() if settings.REDIS_URL else DatabaseCounter()
