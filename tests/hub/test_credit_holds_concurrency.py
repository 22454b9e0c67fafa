"""Two finance users deciding the same held order at the same moment (PostgreSQL row locks):
exactly one decision takes effect; the other is refused, and nothing is allocated twice.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from canonical.context import Actor
from canonical.models import AuditEntry, BusinessEvent, InventoryPosition, OrderStatus
from hub.workflows.credit import CreditHoldRefused, credit_hold_reject, credit_hold_release
from tests.hub.credit_support import held_order

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _race(*decisions) -> tuple[list[str], list[Exception]]:
    barrier = threading.Barrier(len(decisions))
    done, refused = [], []

    def run(name, decide):
        try:
            barrier.wait()
            decide()
            done.append(name)
        except CreditHoldRefused as exc:
            refused.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name, decide)) for name, decide in decisions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done, refused


@pytest.mark.parametrize("attempts", [2, 6])
def test_simultaneous_releases_release_once(attempts):
    order = held_order()
    done, refused = _race(*[
        (f"user{i}", lambda i=i: credit_hold_release(order=order.pk, actor=Actor.hub(), note=f"release {i}"))
        for i in range(attempts)
    ])
    assert len(done) == 1 and len(refused) == attempts - 1
    assert all("not on credit hold" in exc.detail for exc in refused)
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    assert InventoryPosition.objects.get().reserved == Decimal("3")
    assert BusinessEvent.objects.filter(event_type="order.credit_hold_released").count() == 1
    assert AuditEntry.objects.filter(action="order.credit_hold_released").count() == 1


def test_a_release_and_a_reject_at_once_leave_one_consistent_outcome():
    order = held_order()
    done, refused = _race(
        ("release", lambda: credit_hold_release(order=order.pk, actor=Actor.hub(), note="paid")),
        ("reject", lambda: credit_hold_reject(order=order.pk, actor=Actor.hub(), note="collections")),
    )
    assert len(done) == 1 and len(refused) == 1
    order.refresh_from_db()
    expected = {"release": (OrderStatus.ALLOCATED, Decimal("3")), "reject": (OrderStatus.CANCELLED, Decimal("0"))}
    assert (order.status, InventoryPosition.objects.get().reserved) == expected[done[0]]
    assert AuditEntry.objects.filter(action__startswith="order.credit_hold_").count() == 1
