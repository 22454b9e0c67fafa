"""Usage counters: aggregated per consumer, version, day and status class, and what the board reads from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from governance.models import UsageCounter
from governance.policy.usage import status_class, usage_record
from governance.selectors import usage_by_version, usage_of_consumers
from tests.factories import ApiVersionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("code", "expected"), [(200, "2xx"), (201, "2xx"), (304, "3xx"), (404, "4xx"),
                                                 (429, "4xx"), (500, "5xx"), (503, "5xx"), (101, "2xx")])
def test_status_classes(code, expected):
    assert status_class(code) == expected


def test_calls_are_counted_in_place_one_row_per_key(consumer_with_key):
    consumer, _ = consumer_with_key()
    version = ApiVersionFactory()
    day_one = datetime(2030, 5, 1, 23, 59, tzinfo=UTC)
    for code in (200, 200, 204, 500):
        usage_record(consumer_id=consumer.pk, version_id=version.pk, status_code=code, at=day_one)
    usage_record(consumer_id=consumer.pk, version_id=version.pk, status_code=200, at=day_one + timedelta(minutes=2))
    rows = {(r.day.isoformat(), r.status_class): r.count for r in UsageCounter.objects.all()}
    assert rows == {("2030-05-01", "2xx"): 3, ("2030-05-01", "5xx"): 1, ("2030-05-02", "2xx"): 1}
    assert UsageCounter.objects.get(day="2030-05-01", status_class="2xx").last_called_at == day_one


def test_the_board_sees_thirty_days_of_calls_and_the_last_call_per_consumer(consumer_with_key, subscribe):
    crm, _ = consumer_with_key("crm-app")
    shop, _ = consumer_with_key("shop-app", system_code="shop")
    version = ApiVersionFactory()
    subscribe(crm, version)
    now = timezone.now()
    usage_record(consumer_id=crm.pk, version_id=version.pk, status_code=200, at=now)
    usage_record(consumer_id=crm.pk, version_id=version.pk, status_code=404, at=now - timedelta(days=2))
    usage_record(consumer_id=crm.pk, version_id=version.pk, status_code=200, at=now - timedelta(days=45))
    usage_record(consumer_id=shop.pk, version_id=version.pk, status_code=200, at=now - timedelta(days=60))
    rows = {row.consumer.name: row for row in usage_by_version(version.product)[version.pk]}
    assert (rows["crm-app"].calls, rows["crm-app"].errors) == (2, 1)
    assert rows["crm-app"].last_call == now and rows["crm-app"].subscription is not None
    # Not subscribed any more, but it called within the history: the board still sees it.
    assert rows["shop-app"].calls == 0 and rows["shop-app"].subscription is None
    assert usage_of_consumers(version, [crm])[crm.pk]["calls"] == 2


def test_days_until_counts_whole_days_and_shows_a_passed_date_at_once():
    from governance.selectors import days_until

    now = timezone.now()
    assert days_until(now + timedelta(days=42, hours=5), now=now) == 42
    assert days_until(now + timedelta(hours=5), now=now) == 0
    assert days_until(now - timedelta(hours=5), now=now) == -1
    assert days_until(now - timedelta(days=1, hours=10), now=now) == -1
    assert days_until(now - timedelta(days=3, hours=1), now=now) == -3
    assert days_until(None) is None


def _count_while_flushing() -> int:
    """The counters written so far; 0 while the buffer's thread is writing them. The tests' in-memory
    SQLite database shares one cache between connections, whose table locks fail at once ("database
    table is locked") instead of waiting as a file database in WAL mode does."""
    try:
        return UsageCounter.objects.count()
    except OperationalError:
        return 0


@pytest.mark.django_db(transaction=True)
def test_the_buffer_writes_counts_together_once_the_interval_has_passed(consumer_with_key, settings):
    import time

    from governance.policy.usage import UsageBuffer

    consumer, _ = consumer_with_key()
    version = ApiVersionFactory()
    settings.HUB_USAGE_FLUSH_SECONDS = 0.3
    buffer = UsageBuffer()
    now = timezone.now()
    for code in (200, 200, 404):
        buffer.add(consumer_id=consumer.pk, version_id=version.pk, status_code=code, at=now)
    assert not UsageCounter.objects.exists()
    deadline = time.monotonic() + 10
    while _count_while_flushing() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dict(UsageCounter.objects.values_list("status_class", "count")) == {"2xx": 2, "4xx": 1}
    settings.HUB_USAGE_FLUSH_SECONDS = 0
    buffer.add(consumer_id=consumer.pk, version_id=version.pk, status_code=201, at=now)
    assert UsageCounter.objects.get(status_class="2xx").count == 3
