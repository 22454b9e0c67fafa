"""The exception queue's services: status table, resolve/ignore/assign rules, bulk reports, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from canonical.context import Actor
from canonical.models import AuditEntry
from canonical.state import IllegalTransition
from connectors.models import SLA_BY_SEVERITY, ExceptionStatus, IntegrationException, Team
from connectors.selectors import (
    exception_audit_trail,
    exceptions_search,
    exceptions_visible_to,
    teams_worked_by,
)
from connectors.services.exceptions import (
    ExceptionActionRefused,
    exception_assign,
    exception_ignore,
    exception_raise,
    exception_reopen,
    exception_resolve,
    exception_transition,
    exceptions_assign,
    exceptions_ignore,
    exceptions_resolve,
    exceptions_resolve_for_source,
    exceptions_retry,
)
from tests.factories import (
    CustomerFactory,
    ExternalRefFactory,
    IntegrationExceptionFactory,
    OrderFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(django_user_model):
    """A staff member who works the integration queue."""
    user = django_user_model.objects.create_user("ivy", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="work_integration_queue"))
    return django_user_model.objects.get(pk=user.pk)


def actions_of(exception) -> list[str]:
    return list(exception_audit_trail(exception=exception).values_list("action", flat=True))


def test_same_fingerprint_counts_occurrences_on_the_active_exception():
    first = IntegrationExceptionFactory(fingerprint="delivery:1", severity="high")
    again = exception_raise(category="partner_error", team="integration", title="again", fingerprint="delivery:1",
                            actor=Actor.hub(), detail="HTTP 500 again")
    assert again.pk == first.pk
    assert again.occurrences == 2 and again.detail == "HTTP 500 again"
    assert again.last_seen_at >= first.last_seen_at
    assert IntegrationException.objects.count() == 1
    assert first.sla_due_at - first.first_seen_at == pytest.approx(SLA_BY_SEVERITY["high"], abs=timedelta(seconds=2))


def test_a_failure_after_resolution_opens_a_new_exception(worker):
    first = IntegrationExceptionFactory(fingerprint="delivery:2")
    exception_resolve(exception=first, actor=Actor(user=worker), note="Partner fixed their endpoint.")
    second = IntegrationExceptionFactory(fingerprint="delivery:2")
    assert second.pk != first.pk and second.occurrences == 1


def test_resolve_records_who_when_and_why_with_an_audit_entry(worker):
    exception = IntegrationExceptionFactory()
    resolved = exception_resolve(exception=exception, actor=Actor(user=worker), note="  Re-sent by phone.  ")
    assert resolved.status == ExceptionStatus.RESOLVED
    assert resolved.resolved_by == worker and resolved.resolution_note == "Re-sent by phone."
    assert resolved.resolved_at is not None
    entry = AuditEntry.objects.get(object_type="exception", object_id=str(exception.pk), action="exception.resolved")
    assert entry.actor_user == worker
    assert entry.before["status"] == "open" and entry.after["status"] == "resolved"
    assert entry.note == "Re-sent by phone."
    assert actions_of(exception) == ["exception.opened", "exception.resolved"]


@pytest.mark.parametrize("text", ["", "   "])
def test_resolve_without_a_note_and_ignore_without_a_reason_are_refused(worker, text):
    exception = IntegrationExceptionFactory()
    with pytest.raises(ExceptionActionRefused, match="note is required"):
        exception_resolve(exception=exception, actor=Actor(user=worker), note=text)
    with pytest.raises(ExceptionActionRefused, match="reason is required"):
        exception_ignore(exception=exception, actor=Actor(user=worker), reason=text)
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.OPEN
    assert actions_of(exception) == ["exception.opened"]


def test_illegal_moves_are_refused_by_the_transition_table(worker):
    exception = IntegrationExceptionFactory()
    exception_ignore(exception=exception, actor=Actor(user=worker), reason="Test order from the partner.")
    with pytest.raises(IllegalTransition, match="from 'ignored' to 'resolved'"):
        exception_resolve(exception=exception, actor=Actor(user=worker), note="late")
    with pytest.raises(IllegalTransition, match="from 'ignored' to 'in_progress'"):
        exception_transition(exception=exception, status=ExceptionStatus.IN_PROGRESS, actor=Actor(user=worker))


def test_reopen_clears_the_resolution_and_is_refused_while_a_newer_one_is_active(worker):
    exception = IntegrationExceptionFactory(fingerprint="inbound-message:9")
    exception_resolve(exception=exception, actor=Actor(user=worker), note="done")
    reopened = exception_reopen(exception=exception, actor=Actor(user=worker), note="came back")
    assert (reopened.status, reopened.resolved_at, reopened.resolved_by, reopened.resolution_note) == (
        "open", None, None, "")
    exception_resolve(exception=exception, actor=Actor(user=worker), note="done again")
    newer = IntegrationExceptionFactory(fingerprint="inbound-message:9")
    with pytest.raises(ExceptionActionRefused, match=f"Exception {newer.pk} is already open"):
        exception_reopen(exception=exception, actor=Actor(user=worker))


def test_assign_to_a_user_starts_work_and_needs_their_queue_permission(worker, django_user_model):
    exception = IntegrationExceptionFactory(team=Team.INTEGRATION)
    assigned = exception_assign(exception=exception, actor=Actor(user=worker), user=worker)
    assert assigned.assignee == worker and assigned.status == ExceptionStatus.IN_PROGRESS
    finance_clerk = django_user_model.objects.create_user("fay", is_staff=True)
    finance_clerk.user_permissions.add(Permission.objects.get(codename="work_finance_queue"))
    with pytest.raises(ExceptionActionRefused, match="fay does not work the integration queue"):
        exception_assign(exception=exception, actor=Actor(user=worker), user=finance_clerk)
    entry = AuditEntry.objects.get(object_id=str(exception.pk), action="exception.assigned")
    assert entry.before["assignee"] is None and entry.after["assignee"] == "ivy"


def test_assign_to_a_team_moves_it_to_their_queue_unassigned(worker):
    exception = IntegrationExceptionFactory(team=Team.INTEGRATION)
    exception_assign(exception=exception, actor=Actor(user=worker), user=worker)
    moved = exception_assign(exception=exception, actor=Actor(user=worker), team=Team.DATA_STEWARDSHIP)
    assert (moved.team, moved.assignee, moved.status) == ("data_stewardship", None, "open")
    entry = AuditEntry.objects.get(object_id=str(exception.pk), action="exception.team_changed")
    assert entry.before["team"] == "integration" and entry.after["team"] == "data_stewardship"
    with pytest.raises(ExceptionActionRefused, match="not a team"):
        exception_assign(exception=exception, actor=Actor(user=worker), team="marketing")


def test_bulk_resolve_reports_each_item_done_or_skipped_with_why(worker):
    open_one, other_open = IntegrationExceptionFactory(), IntegrationExceptionFactory()
    ignored = IntegrationExceptionFactory()
    exception_ignore(exception=ignored, actor=Actor(user=worker), reason="duplicate")
    result = exceptions_resolve(exceptions=IntegrationException.objects.all(), actor=Actor(user=worker),
                                note="Partner re-sent everything.")
    assert result.done == [open_one.pk, other_open.pk]
    assert result.skipped == [(ignored.pk, "it is ignored and cannot become resolved")]
    assert result.summary("resolved") == (
        f"2 resolved, 1 skipped (#{ignored.pk}: it is ignored and cannot become resolved).")
    assert AuditEntry.objects.filter(action="exception.resolved").count() == 2


def test_generic_resolve_and_ignore_refuse_categories_decided_on_their_own_page(worker):
    credit_hold = IntegrationExceptionFactory(category="credit_hold", team="finance")
    duplicate = IntegrationExceptionFactory(category="duplicate_customer", team="data_stewardship")
    dispute = IntegrationExceptionFactory(category="invoice_dispute", team="finance")  # no settling page yet
    partner = IntegrationExceptionFactory()
    actor = Actor(user=worker)

    resolved = exceptions_resolve(exceptions=IntegrationException.objects.all(), actor=actor, note="Checked; fine")
    ignored = exceptions_ignore(exceptions=[credit_hold.pk, duplicate.pk], actor=actor, reason="Not needed")

    assert resolved.done == [dispute.pk, partner.pk]
    assert resolved.skipped == [
        (credit_hold.pk, "a credit hold is decided in the finance credit-hold queue: release or reject the order "
                         "there, which resolves this exception"),
        (duplicate.pk, "a duplicate customer is decided on the duplicate review page: merge or dismiss there, "
                       "which resolves this exception"),
    ]
    assert ignored.done == [] and [pk for pk, _ in ignored.skipped] == [credit_hold.pk, duplicate.pk]
    assert set(IntegrationException.objects.filter(pk__in=[credit_hold.pk, duplicate.pk])
               .values_list("status", flat=True)) == {"open"}
    # The decision itself still closes them (it calls exception_resolve, not the staff's generic resolve).
    assert exception_resolve(exception=credit_hold, actor=actor, note="Released").status == "resolved"


def test_bulk_assign_by_ids_skips_the_already_assigned_and_unknown_ids(worker):
    mine = IntegrationExceptionFactory()
    exception_assign(exception=mine, actor=Actor(user=worker), user=worker)
    fresh = IntegrationExceptionFactory()
    result = exceptions_assign(exceptions=[mine.pk, fresh.pk, 999_999], actor=Actor(user=worker), user=worker)
    assert result.done == [fresh.pk]
    assert result.skipped == [(mine.pk, "It is already assigned to ivy."), (999_999, "no longer exists")]


def test_retry_without_a_source_is_skipped_with_the_reason(worker):
    exception = IntegrationExceptionFactory(workflow_step="credit check")
    result = exceptions_retry(exceptions=[exception.pk], actor=Actor(user=worker))
    assert result.done == []
    assert result.skipped == [(exception.pk, "It has no delivery or inbound message to retry.")]


def test_a_failed_bulk_item_does_not_undo_the_others(worker):
    first, second = IntegrationExceptionFactory(), IntegrationExceptionFactory()
    result = exceptions_resolve(exceptions=[first.pk, second.pk], actor=Actor(user=worker), note="ok")
    assert result.done == [first.pk, second.pk]
    again = exceptions_resolve(exceptions=[first.pk, second.pk], actor=Actor(user=worker), note="ok")
    assert again.done == [] and len(again.skipped) == 2
    assert IntegrationException.objects.filter(status="resolved").count() == 2


def test_resolve_for_source_closes_only_active_exceptions_of_that_source(worker):
    from tests.connectors.outbound_support import record_event
    from tests.factories import SubscriptionFactory

    subscription = SubscriptionFactory()
    delivery = subscription.deliveries.create(event=record_event(), next_attempt_at=timezone.now(), status="dead")
    active = IntegrationExceptionFactory(delivery=delivery, fingerprint=f"delivery:{delivery.pk}")
    unrelated = IntegrationExceptionFactory()
    assert exceptions_resolve_for_source(actor=Actor.hub(), note="Delivered on retry.", delivery=delivery) == 1
    active.refresh_from_db()
    unrelated.refresh_from_db()
    assert active.status == "resolved" and active.resolution_note == "Delivered on retry."
    assert unrelated.status == "open"


def test_queues_are_scoped_by_the_work_permission(worker, django_user_model):
    integration = IntegrationExceptionFactory(team=Team.INTEGRATION)
    IntegrationExceptionFactory(team=Team.FINANCE, category="credit_hold")
    nobody = django_user_model.objects.create_user("nobody", is_staff=True)
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "x")
    assert teams_worked_by(worker) == ["integration"]
    assert list(exceptions_visible_to(worker)) == [integration]
    assert list(exceptions_visible_to(nobody)) == []
    assert exceptions_visible_to(boss).count() == 2


def test_search_finds_by_order_number_customer_external_id_and_correlation():
    crm = SystemFactory(code="crm", kind="crm")
    customer = CustomerFactory(account_number="C-4711", name="Northern Plumbing Supply")
    order = OrderFactory(number="SO-88001", customer=customer)
    ExternalRefFactory(system=crm, entity_type="order", external_id="SF-ORD-0042", object_id=order.pk)
    hit = IntegrationExceptionFactory(order=order, customer=customer, actor=Actor(correlation_id="corr-123"))
    IntegrationExceptionFactory(title="Something else entirely")
    queryset = IntegrationException.objects.all()
    for term in ("SO-88001", "c-4711", "northern plumbing", "SF-ORD-0042", "corr-123", str(hit.pk)):
        assert list(exceptions_search(queryset=queryset, term=term)) == [hit], term
    assert exceptions_search(queryset=queryset, term="no such thing").count() == 0
