"""The version lifecycle: one transition table, board approvals, deprecation rules and notices, retirement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from canonical.context import Actor
from canonical.models import AuditEntry, BusinessEvent
from canonical.state import IllegalTransition
from governance.models import LIFECYCLE, ApiVersion, Lifecycle, Review
from governance.services import (
    GovernanceError,
    VersionRefused,
    api_version_block,
    api_version_deprecate,
    api_version_publish,
    api_version_retire,
    api_version_review,
    api_version_submit,
    api_version_unblock,
    api_version_upload,
    subscription_request,
)
from tests.governance.conftest import list_op, orders_doc

pytestmark = pytest.mark.django_db


def test_lifecycle_is_one_table_with_retired_final():
    assert LIFECYCLE.states == set(Lifecycle.values)
    assert LIFECYCLE.is_final(Lifecycle.RETIRED)
    assert LIFECYCLE.can(Lifecycle.PUBLISHED, Lifecycle.DEPRECATED)
    assert not LIFECYCLE.can(Lifecycle.DRAFT, Lifecycle.PUBLISHED)
    assert not LIFECYCLE.can(Lifecycle.PUBLISHED, Lifecycle.RETIRED)


def test_a_draft_cannot_be_published_or_deprecated_directly(product, board_actor):
    draft = api_version_upload(product=product, source=orders_doc(), actor=board_actor)
    with pytest.raises(GovernanceError, match="not in review"):
        api_version_review(version=draft, decision="approve", actor=board_actor)
    with pytest.raises(GovernanceError, match="only a published version"):
        api_version_deprecate(version=draft, sunset_at=timezone.now() + timedelta(days=200), actor=board_actor)


def _second_board_member():
    return Actor(user=get_user_model().objects.create_user("board-2", is_staff=True))


def test_publishing_needs_the_products_number_of_approvals(product, board_actor, author_actor):
    product.required_approvals = 2
    product.save()
    version = api_version_upload(product=product, source=orders_doc(), actor=author_actor)
    api_version_submit(version=version, actor=author_actor)
    first = api_version_review(version=version, decision="approve", comment="fine", actor=board_actor)
    assert first.published is None and (first.approvals, first.required) == (1, 2)
    with pytest.raises(GovernanceError, match="1 of the 2 approvals"):
        api_version_publish(version=version, actor=board_actor)
    with pytest.raises(GovernanceError, match="already reviewed"):
        api_version_review(version=version, decision="approve", actor=board_actor)
    second = api_version_review(version=version, decision="approve", actor=_second_board_member())
    assert second.published is not None
    version.refresh_from_db()
    assert version.status == Lifecycle.PUBLISHED and version.published_at is not None
    assert AuditEntry.objects.filter(action="api_version.review_approve", object_id=str(version.pk)).count() == 2
    assert AuditEntry.objects.filter(action="api_version.published", object_id=str(version.pk)).exists()


def test_the_author_may_reject_but_never_approve_their_own_version(product, board_actor, author_actor):
    version = api_version_upload(product=product, source=orders_doc(), actor=author_actor)
    api_version_submit(version=version, actor=author_actor)
    with pytest.raises(GovernanceError, match="You uploaded .*: its approvals must come from other board members"):
        api_version_review(version=version, decision="approve", actor=author_actor)
    assert not Review.objects.filter(version=version).exists()
    assert ApiVersion.objects.get(pk=version.pk).status == Lifecycle.IN_REVIEW
    assert api_version_review(version=version, decision="approve", actor=board_actor).published is not None

    second = api_version_upload(product=product, source=orders_doc("1.1.0"), actor=author_actor)
    api_version_submit(version=second, actor=author_actor)
    back = api_version_review(version=second, decision="reject", comment="I sent the wrong file", actor=author_actor)
    assert back.version.status == Lifecycle.DRAFT


def test_a_rejection_needs_a_comment_sends_the_version_back_and_starts_a_new_round(product, board_actor,
                                                                                  author_actor):
    version = api_version_upload(product=product, source=orders_doc(), actor=author_actor)
    api_version_submit(version=version, actor=author_actor)
    with pytest.raises(GovernanceError, match="Say why"):
        api_version_review(version=version, decision="reject", actor=board_actor)
    result = api_version_review(version=version, decision="reject", comment="Add examples", actor=board_actor)
    assert result.version.status == Lifecycle.DRAFT
    entry = AuditEntry.objects.get(action="api_version.review_reject")
    assert entry.note == "Add examples" and entry.actor_user == board_actor.user
    # Resubmitted: the same member may review the new round.
    api_version_submit(version=version, actor=author_actor)
    api_version_review(version=version, decision="approve", actor=board_actor)
    version.refresh_from_db()
    assert version.status == Lifecycle.PUBLISHED
    assert list(Review.objects.filter(version=version).values_list("round", "decision").order_by("round")) == [
        (1, "reject"), (2, "approve")]


def test_style_errors_block_submission_until_waived(product, board_actor):
    document = orders_doc()
    document["paths"]["/v1/orders"]["get"].pop("operationId")
    version = api_version_upload(product=product, source=document, actor=board_actor)
    with pytest.raises(GovernanceError) as blocked:
        api_version_submit(version=version, actor=board_actor)
    assert any("/v1/orders" in reason for reason in blocked.value.reasons)
    assert ApiVersion.objects.get(pk=version.pk).status == Lifecycle.DRAFT


def test_publishing_rechecks_against_what_was_published_meanwhile(product, publish, board_actor, author_actor):
    publish(product, orders_doc("1.0.0"))
    # Both are fine against 1.0.0 when uploaded...
    additive = orders_doc("1.1.0", extra_paths={"/v1/returns": list_op("listReturns", "returns")})
    first = api_version_upload(product=product, source=additive, actor=author_actor)
    second = api_version_upload(product=product, source=orders_doc("1.2.0"), actor=author_actor)
    api_version_submit(version=first, actor=author_actor)
    api_version_review(version=first, decision="approve", actor=board_actor)
    # ...but once 1.1.0 is out, 1.2.0 removes its /v1/returns without a major bump.
    api_version_submit(version=second, actor=author_actor)
    with pytest.raises(VersionRefused) as refused:
        api_version_review(version=second, decision="approve", actor=_second_board_member())
    assert any("/v1/returns" in reason for reason in refused.value.reasons)
    assert ApiVersion.objects.get(pk=second.pk).status == Lifecycle.IN_REVIEW


def test_publishing_a_new_major_offers_the_older_majors(product, publish, board_actor, author_actor):
    old = publish(product, orders_doc("1.0.0"))
    new = api_version_upload(product=product, source=orders_doc("2.0.0", drop=("/v1/orders/{id}",)),
                             actor=author_actor)
    api_version_submit(version=new, actor=author_actor)
    result = api_version_review(version=new, decision="approve", actor=board_actor)
    assert [v.pk for v in result.published.older_majors] == [old.pk]


@pytest.fixture
def published_pair(product, publish, board_actor):
    product.minimum_deprecation_notice_days = 90
    product.save()
    old = publish(product, orders_doc("1.0.0"))
    new = publish(product, orders_doc("2.0.0", drop=("/v1/orders/{id}",)))
    return old, new


def test_sunset_must_leave_the_products_minimum_notice(published_pair, board_actor):
    old, new = published_pair
    now = timezone.now()
    with pytest.raises(GovernanceError) as refused:
        api_version_deprecate(version=old, sunset_at=now + timedelta(days=89), actor=board_actor)
    assert "at least 90 days after the deprecation" in refused.value.reasons[0]
    assert ApiVersion.objects.get(pk=old.pk).status == Lifecycle.PUBLISHED


def test_the_notice_runs_from_today_and_a_promised_sunset_only_moves_later(published_pair, board_actor):
    old, _ = published_pair
    now = timezone.now()
    # A deprecation dated in the past cannot shorten the notice: the consumers are told today.
    with pytest.raises(GovernanceError) as refused:
        api_version_deprecate(version=old, deprecated_at=now - timedelta(days=200),
                              sunset_at=now - timedelta(days=100), actor=board_actor)
    assert any("at least 90 days from today" in reason for reason in refused.value.reasons)
    assert ApiVersion.objects.get(pk=old.pk).status == Lifecycle.PUBLISHED

    promised = now + timedelta(days=120)
    api_version_deprecate(version=old, sunset_at=promised, actor=board_actor)
    with pytest.raises(GovernanceError) as earlier:
        api_version_deprecate(version=old, sunset_at=promised - timedelta(days=10), actor=board_actor)
    assert earlier.value.reasons == [
        f"The consumers were promised the sunset of {promised:%Y-%m-%d}; it may move later, not earlier."]
    later = api_version_deprecate(version=old, sunset_at=promised + timedelta(days=30), actor=board_actor)
    assert later.rescheduled and ApiVersion.objects.get(pk=old.pk).sunset_at == promised + timedelta(days=30)


def test_deprecation_writes_the_event_audits_and_emails_subscribed_consumers(
    published_pair, board_actor, consumer_with_key, django_capture_on_commit_callbacks
):
    old, new = published_pair
    consumer, _ = consumer_with_key("crm-app", email="crm-team@example.com")
    silent, _ = consumer_with_key("no-mail-app", system_code="shop", email="")
    subscription_request(consumer=consumer, version=old, actor=Actor.hub())
    subscription_request(consumer=silent, version=old, actor=Actor.hub())
    sunset = timezone.now() + timedelta(days=120)
    with django_capture_on_commit_callbacks(execute=True):
        notice = api_version_deprecate(version=old, sunset_at=sunset, replacement=new, actor=board_actor)
    old.refresh_from_db()
    assert old.status == Lifecycle.DEPRECATED and old.sunset_at == sunset and old.replacement == new
    assert {c.name for c in notice.consumers} == {"crm-app", "no-mail-app"}
    assert notice.emailed == ["crm-team@example.com"]
    [message] = mail.outbox
    assert message.to == ["crm-team@example.com"]
    assert "Orders API 1.0.0" in message.subject and sunset.strftime("%Y-%m-%d") in message.subject
    assert "Move to Orders API 2.0.0" in message.body
    event = BusinessEvent.objects.get(event_type="api.deprecated")
    assert event.payload["version"] == "1.0.0" and event.payload["replacement"] == "orders@2.0.0"
    assert sorted(event.payload["consumers"]) == ["crm-app", "no-mail-app"]
    assert AuditEntry.objects.get(action="api_version.deprecated").actor_user == board_actor.user


def test_a_deprecated_version_takes_no_new_subscriptions(published_pair, board_actor, consumer_with_key):
    old, new = published_pair
    api_version_deprecate(version=old, sunset_at=timezone.now() + timedelta(days=100), replacement=new,
                          actor=board_actor)
    consumer, _ = consumer_with_key()
    with pytest.raises(GovernanceError, match="takes no new subscriptions; subscribe to orders@2.0.0"):
        subscription_request(consumer=consumer, version=old, actor=Actor.hub())


def test_retirement_waits_for_the_sunset(published_pair, board_actor):
    old, _ = published_pair
    api_version_deprecate(version=old, sunset_at=timezone.now() + timedelta(days=100), actor=board_actor)
    with pytest.raises(GovernanceError, match="before its sunset"):
        api_version_retire(version=old, actor=board_actor)
    past = timezone.now() - timedelta(days=1)
    ApiVersion.objects.filter(pk=old.pk).update(deprecated_at=past - timedelta(days=100), sunset_at=past)
    retired = api_version_retire(version=old, actor=board_actor)
    assert retired.status == Lifecycle.RETIRED and retired.retired_at is not None
    with pytest.raises(IllegalTransition):
        api_version_block(version=retired, reason="too late", actor=board_actor)


def test_block_and_unblock_return_to_the_state_before(published_pair, board_actor):
    old, _ = published_pair
    with pytest.raises(GovernanceError, match="needs a reason"):
        api_version_block(version=old, reason=" ", actor=board_actor)
    blocked = api_version_block(version=old, reason="leaks personal data", actor=board_actor)
    assert (blocked.status, blocked.blocked_from) == (Lifecycle.BLOCKED, Lifecycle.PUBLISHED)
    unblocked = api_version_unblock(version=old, actor=board_actor)
    assert unblocked.status == Lifecycle.PUBLISHED and unblocked.block_reason == ""
    assert list(AuditEntry.objects.filter(object_type="api_version", object_id=str(old.pk),
                                          action__in=["api_version.blocked", "api_version.published"])
                .values_list("action", flat=True).order_by("id"))[-2:] == ["api_version.blocked",
                                                                           "api_version.published"]
