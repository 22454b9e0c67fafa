"""The per-connector rate limit, shared by every worker through one RateWindow row.

A send takes the connector's next free start time with one conditional UPDATE (atomic
on every database) and moves it on by 1/rate seconds, so sends are spaced at least
1/rate apart whichever worker makes them: no sliding second holds more than the rate.
Clocks of the workers' hosts are assumed to be NTP-synchronised.
"""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction
from django.db.models import F

from connectors.models import Connector, RateWindow


def _now_us() -> int:
    return time.time_ns() // 1000


def ratelimit_acquire(connector: Connector) -> float:
    """0 when this worker may send to ``connector`` now (and has used the turn), else seconds to wait."""
    rate = connector.rate_limit_per_second
    if not rate:
        return 0.0
    interval_us = max(1, int(1_000_000 / rate))
    for _ in range(2):
        now_us = _now_us()
        taken = RateWindow.objects.filter(connector_id=connector.pk, slot__lte=now_us).update(
            slot=now_us + interval_us, count=F("count") + 1
        )
        if taken:
            return 0.0
        next_slot = RateWindow.objects.filter(connector_id=connector.pk).values_list("slot", flat=True).first()
        if next_slot is not None:
            return max(next_slot - now_us, 1) / 1_000_000
        try:
            with transaction.atomic():
                RateWindow.objects.create(connector_id=connector.pk, slot=0)
        except IntegrityError:
            pass  # another worker created it first; take the turn from its row
    return interval_us / 1_000_000
