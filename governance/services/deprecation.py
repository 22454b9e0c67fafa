"""Deprecating an API version: dates within the product's rules, the event, and the notice to consumers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.services.events import audit_record, event_record
from governance.models import ApiSubscription, ApiVersion, Consumer, Lifecycle, SubscriptionStatus
from governance.services.registry import GovernanceError, _locked, _transition

logger = logging.getLogger(__name__)


def affected_consumers(version: ApiVersion) -> list[Consumer]:
    """Consumers holding a live subscription to the version's product and major (who a deprecation reaches)."""
    ids = (
        ApiSubscription.objects.filter(
            version__product_id=version.product_id, version__major=version.major,
            status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PENDING],
        ).values("consumer_id")
    )
    return list(Consumer.objects.filter(pk__in=ids).select_related("system").order_by("name"))


def sunset_problems(version: ApiVersion, *, deprecated_at: datetime, sunset_at: datetime) -> list[str]:
    """Why a deprecation/sunset pair breaks the product's rules (empty when it is fine)."""
    notice = version.product.minimum_deprecation_notice_days
    earliest = deprecated_at + timedelta(days=notice)
    problems = []
    if version.published_at and deprecated_at < version.published_at - timedelta(days=1):
        problems.append(f"The deprecation date cannot be before the version was published "
                        f"({version.published_at:%Y-%m-%d}).")
    if sunset_at < earliest:
        problems.append(
            f"The sunset ({sunset_at:%Y-%m-%d}) must be at least {notice} days after the deprecation "
            f"({deprecated_at:%Y-%m-%d}), i.e. on or after {earliest:%Y-%m-%d}: {version.product.name} "
            f"promises consumers {notice} days' notice."
        )
    # The consumers hear of it now: the notice runs from today, whatever date the deprecation is given.
    told = timezone.now() + timedelta(days=notice)
    if sunset_at < told - timedelta(days=1):
        problems.append(
            f"The sunset ({sunset_at:%Y-%m-%d}) must be at least {notice} days from today, on or after "
            f"{told:%Y-%m-%d}: the consumers are told now."
        )
    if version.status == Lifecycle.DEPRECATED and version.sunset_at and sunset_at < version.sunset_at:
        problems.append(
            f"The consumers were promised the sunset of {version.sunset_at:%Y-%m-%d}; it may move later, "
            "not earlier."
        )
    return problems


@dataclass
class DeprecationNotice:
    version: ApiVersion
    consumers: list[Consumer] = field(default_factory=list)
    emailed: list[str] = field(default_factory=list)
    rescheduled: bool = False


def _email_messages(version: ApiVersion, consumers: list[Consumer]) -> list[tuple[str, str, str, list[str]]]:
    replacement = (
        f"Move to {version.replacement.product.name} {version.replacement.version}."
        if version.replacement else "There is no replacement version."
    )
    subject = f"[API deprecation] {version.product.name} {version.version} sunsets on {version.sunset_at:%Y-%m-%d}"
    team = version.product.owner_team
    messages = []
    for consumer in consumers:
        if not consumer.contact_email:
            continue
        body = (
            f"Hello {consumer.name},\n\n"
            f"{version.product.name} {version.version} is deprecated as of {version.deprecated_at:%Y-%m-%d} and "
            f"will stop answering (HTTP 410) after its sunset on {version.sunset_at:%Y-%m-%d %H:%M} UTC.\n"
            f"{replacement}\n\n"
            f"Until then every response carries Deprecation, Sunset and Link headers.\n"
            f"Questions: {team.contact_name or team.name} <{team.contact_email}>.\n"
        )
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [consumer.contact_email]))
    return messages


def _send(messages) -> None:
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:  # noqa: BLE001 - the deprecation stands; a failed mail must not undo it
        logger.exception("Could not send %d API deprecation e-mails", len(messages))


def api_version_deprecate(
    *,
    version: ApiVersion,
    sunset_at: datetime,
    actor: Actor,
    deprecated_at: datetime | None = None,
    replacement: ApiVersion | None = None,
    notify: bool = True,
    note: str = "",
) -> DeprecationNotice:
    """Deprecate a published version (or move the dates of a deprecated one) and tell its consumers.

    The sunset must leave the product's minimum notice after the deprecation date. Writes the
    ``api.deprecated`` event in the same transaction; the e-mails go out after it commits.
    """
    with transaction.atomic():
        version = _locked(version)
        rescheduled = version.status == Lifecycle.DEPRECATED
        if not rescheduled and version.status != Lifecycle.PUBLISHED:
            raise GovernanceError(
                f"{version} is {version.get_status_display().lower()}; only a published version can be deprecated."
            )
        deprecated_at = deprecated_at or (version.deprecated_at if rescheduled else None) or timezone.now()
        problems = sunset_problems(version, deprecated_at=deprecated_at, sunset_at=sunset_at)
        if replacement is not None and replacement.pk == version.pk:
            problems.append("A version cannot replace itself.")
        elif replacement is not None and replacement.status != Lifecycle.PUBLISHED:
            problems.append(f"The replacement {replacement} is {replacement.get_status_display().lower()}, "
                            "not published.")
        if problems:
            raise GovernanceError(f"{version} cannot be deprecated with these dates.", problems)
        changes = {"deprecated_at": deprecated_at, "sunset_at": sunset_at,
                   "replacement": replacement or version.replacement}
        if rescheduled:
            before = {"deprecated_at": version.deprecated_at.isoformat(), "sunset_at": version.sunset_at.isoformat()}
            for name, value in changes.items():
                setattr(version, name, value)
            version.save(update_fields=list(changes))
            audit_record(actor=actor, action="api_version.rescheduled", object_type="api_version",
                         object_id=version.pk, before=before,
                         after={"deprecated_at": deprecated_at.isoformat(), "sunset_at": sunset_at.isoformat()},
                         note=note)
        else:
            version = _transition(version, Lifecycle.DEPRECATED, actor=actor, note=note, **changes)
        consumers = affected_consumers(version)
        event_record(
            event_type="api.deprecated", aggregate_type="api_version", aggregate_id=version.pk, actor=actor,
            payload={
                "product": version.product.slug,
                "version": version.version,
                "deprecated_at": version.deprecated_at.isoformat(),
                "sunset_at": version.sunset_at.isoformat(),
                "replacement": version.replacement.label if version.replacement else None,
                "consumers": [c.name for c in consumers],
                "rescheduled": rescheduled,
            },
        )
        notice = DeprecationNotice(version=version, consumers=consumers, rescheduled=rescheduled)
        if notify:
            messages = _email_messages(version, consumers)
            notice.emailed = [m[3][0] for m in messages]
            if messages:
                transaction.on_commit(lambda: _send(messages))
    return notice
