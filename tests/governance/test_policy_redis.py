"""Rate-plan counters in a real Redis (REDIS_URL): shared by every process, refused calls taken back out.

Needs the Redis server of the production path at HUB_TEST_REDIS_URL (default redis://127.0.0.1:6379/15);
the tests are skipped, saying so, when none answers there.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from rest_framework.test import APIClient

from governance.models import RateWindow
from governance.policy.limits import CacheCounter, counter
from tests.factories import ApiProductFactory, ApiVersionFactory, RatePlanFactory

pytestmark = pytest.mark.django_db
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_cache(settings):
    """The hub configured with Redis, as REDIS_URL does, under a key prefix of this test's own."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis answers at {REDIS_URL} (set HUB_TEST_REDIS_URL)")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings.REDIS_URL = REDIS_URL
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    yield client
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def _keys(client) -> dict[str, int]:
    return {key.decode().split(":", 2)[2]: int(client.get(key)) for key in client.scan_iter("test-*:hub:rate:*")}


def test_redis_is_the_counter_when_configured(redis_cache):
    assert isinstance(counter(), CacheCounter)


def test_a_plan_is_enforced_through_redis_with_retry_after(redis_cache, policy, consumer_with_key, subscribe,
                                                          monkeypatch):
    version = ApiVersionFactory(product=ApiProductFactory(slug="customers", path_prefixes=["customers"]))
    consumer, raw = consumer_with_key()
    subscribe(consumer, version, rate_plan=RatePlanFactory(name="redis", burst=5, per_minute=2, per_day=100))
    # 30 s into a minute (1_900_000_020 is a minute boundary)
    monkeypatch.setattr("governance.policy.middleware.clock", lambda: 1_900_000_050.0)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [client.get("/api/v1/customers").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/api/v1/customers")
    assert refused["Retry-After"] == "30" and refused.json()["period"] == "minute"
    counts = {key.rsplit(":", 2)[1]: value for key, value in _keys(redis_cache).items()}
    # Refused calls are taken back out: the windows hold the two calls that were served.
    assert counts == {"second": 2, "minute": 2, "day": 2}
    assert not RateWindow.objects.exists()  # nothing counted in the database
    for key in redis_cache.scan_iter("test-*:hub:rate:*"):
        assert 0 < redis_cache.ttl(key) <= 86_405  # windows expire on their own


def test_concurrent_callers_share_one_count_without_losing_any(redis_cache):
    limits = [("minute", 60, 10_000), ("day", 86_400, 100_000)]
    now = 1_900_000_000.0
    barrier = threading.Barrier(8)
    refused = []

    def hammer():
        barrier.wait()
        for _ in range(50):
            if not CacheCounter().hit(4242, limits, now).allowed:
                refused.append(1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = {key.rsplit(":", 2)[1]: value for key, value in _keys(redis_cache).items()}
    assert refused == [] and counts == {"minute": 400, "day": 400}
