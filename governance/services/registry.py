"""The API catalog's writes: teams, products, and each version's way through the lifecycle.

Every status change goes through ``LIFECYCLE.check`` and leaves an audit entry; the board's
decisions carry the reviewer and comment. Deprecation also writes the ``api.deprecated``
business event and notifies subscribed consumers (see governance.services.deprecation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.models import System
from canonical.services.events import audit_record
from governance.diff import Finding
from governance.models import (
    LIFECYCLE,
    ApiProduct,
    ApiVersion,
    Lifecycle,
    Review,
    ReviewDecision,
    Team,
)
from governance.services.checks import VersionCheck, api_version_check, previous_version, semver_of
from governance.style import WaiverError, lint_openapi, parse_waivers


class GovernanceError(ValueError):
    """A governance rule refused the change; ``reasons`` lists each thing to fix."""

    def __init__(self, message: str, reasons: Iterable[str] = ()):
        self.reasons = list(reasons)
        super().__init__(message)


class VersionRefused(GovernanceError):
    def __init__(self, check: VersionCheck):
        self.check = check
        label = f"{check.product.name} {check.version}".strip()
        super().__init__(f"{label} is refused.", check.reasons)


def _user(actor: Actor):
    user = actor.user
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _transition(version: ApiVersion, target: str, *, actor: Actor, note: str = "", **changes: Any) -> ApiVersion:
    """Move a locked version to ``target`` through the lifecycle table, with an audit entry."""
    LIFECYCLE.check(version.status, target)
    before = version.status
    version.status = target
    for name, value in changes.items():
        setattr(version, name, value)
    version.save(update_fields=["status", *changes])
    audit_record(actor=actor, action=f"api_version.{target}", object_type="api_version", object_id=version.pk,
                 before={"status": before}, after={"status": target, "version": version.label,
                                                    **{k: _jsonable(v) for k, v in changes.items()}},
                 note=note)
    return version


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, ApiVersion):
        return value.label
    return value


def _locked(version: ApiVersion) -> ApiVersion:
    return ApiVersion.objects.select_for_update().select_related("product").get(pk=version.pk)


def team_create(
    *, name: str, slug: str, contact_email: str, contact_name: str = "", owner=None, actor: Actor
) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=name, slug=slug, contact_email=contact_email, contact_name=contact_name,
                                   owner=owner)
        audit_record(actor=actor, action="team.created", object_type="team", object_id=team.pk,
                     after={"name": name, "contact_email": contact_email})
    return team


def api_product_create(
    *,
    name: str,
    slug: str,
    domain: str,
    layer: str,
    owner_team: Team,
    actor: Actor,
    description: str = "",
    system_of_record: System | None = None,
    required_approvals: int = 1,
    minimum_deprecation_notice_days: int = 90,
    requires_subscription_approval: bool = False,
    path_prefixes: Iterable[str] = (),
    documentation_url: str = "",
) -> ApiProduct:
    with transaction.atomic():
        product = ApiProduct.objects.create(
            name=name, slug=slug, domain=domain, layer=layer, owner_team=owner_team, description=description,
            system_of_record=system_of_record, required_approvals=required_approvals,
            minimum_deprecation_notice_days=minimum_deprecation_notice_days,
            requires_subscription_approval=requires_subscription_approval,
            path_prefixes=list(path_prefixes), documentation_url=documentation_url,
        )
        audit_record(actor=actor, action="api_product.created", object_type="api_product", object_id=product.pk,
                     after={"name": name, "slug": slug, "layer": layer, "owner_team": owner_team.name,
                            "path_prefixes": product.path_prefixes})
    return product


def api_version_upload(
    *,
    product: ApiProduct,
    source: str | bytes | Mapping,
    actor: Actor,
    version: str = "",
    changelog: str = "",
    waivers: Iterable[Mapping[str, Any]] = (),
) -> ApiVersion:
    """Store a new draft version after the same checks the dry run shows; refuse it with the reasons."""
    with transaction.atomic():
        # Serialise uploads per product so two uploads cannot both pass the "is it new" check.
        product = ApiProduct.objects.select_for_update().get(pk=product.pk)
        check = api_version_check(product=product, source=source, version=version, waivers=waivers)
        if not check.accepted:
            audit_record(actor=actor, action="api_version.refused", object_type="api_product",
                         object_id=product.pk, after={"version": check.version, "reasons": check.reasons[:50]})
            refused = VersionRefused(check)
        else:
            refused = None
            semver = check.semver
            now = timezone.now()
            user = _user(actor)
            try:
                with transaction.atomic():
                    created = ApiVersion.objects.create(
                        product=product, version=check.version, major=semver.major, minor=semver.minor,
                        patch=semver.patch, prerelease=".".join(semver.prerelease), openapi=check.document,
                        changelog=changelog, compared_with=check.previous,
                        compatibility_report=check.compatibility_json(),
                        style_findings=[f.to_dict() for f in check.style],
                        style_waivers=[{**w, "by": user.get_username() if user else actor.label,
                                        "at": now.isoformat()} for w in check.waivers],
                        created_by=user,
                    )
            except IntegrityError:
                check.problems.append(f"{product.name} already has a version {check.version}.")
                raise VersionRefused(check) from None
            audit_record(actor=actor, action="api_version.uploaded", object_type="api_version",
                         object_id=created.pk,
                         after={"version": created.label, "against": check.previous.label if check.previous else None,
                                "findings": check.report.counts if check.report else {},
                                "style_errors": len(check.style_errors)})
    if refused is not None:
        # Raised after the block so the audit entry of the refusal is kept.
        raise refused
    return created


def api_version_waive(*, version: ApiVersion, waivers: Iterable[Mapping[str, Any]], actor: Actor) -> ApiVersion:
    """Accept style findings of a draft, each for one operation and with a reason, kept with the version.

    The document cannot change once uploaded (a fix is a new version); a waiver is how its authors
    and the board agree that a finding stands, so the draft can go to review.
    """
    with transaction.atomic():
        version = _locked(version)
        if version.status != Lifecycle.DRAFT:
            raise GovernanceError(f"{version} is {version.get_status_display().lower()}; "
                                  "style findings can only be waived while it is a draft.")
        try:
            added = parse_waivers(waivers)
        except WaiverError as exc:
            raise GovernanceError("The waivers are not valid.", exc.problems) from None
        if not added:
            raise GovernanceError("Name the finding to waive: check id, path, method and a reason.")
        known = {(w["check_id"], w["path"], w.get("method")) for w in version.style_waivers}
        user = _user(actor)
        now = timezone.now().isoformat()
        fresh = [{**w.to_dict(), "by": user.get_username() if user else actor.label, "at": now}
                 for w in added if (w.check_id, w.path, w.method) not in known]
        findings = lint_openapi(version.openapi, [*version.style_waivers, *fresh])
        unmatched = [w for w in added if not any(w.covers(f) for f in findings)]
        if unmatched:
            raise GovernanceError(f"{version} has no such style finding to waive.",
                                  [f"{w.check_id} {w.method or '*'} {w.path}" for w in unmatched])
        version.style_waivers = [*version.style_waivers, *fresh]
        version.style_findings = [f.to_dict() for f in findings]
        version.save(update_fields=["style_waivers", "style_findings"])
        audit_record(actor=actor, action="api_version.style_waived", object_type="api_version",
                     object_id=version.pk, after={"version": version.label, "waivers": fresh})
    return version


def _style_blockers(version: ApiVersion) -> list[str]:
    blockers = []
    for finding in version.style_findings:
        if finding.get("severity") == "error" and not finding.get("waived"):
            where = " ".join(filter(None, [finding["location"].get("method"), finding["location"].get("path")]))
            blockers.append(f"[{finding['check_id']}] {where or finding['location'].get('pointer') or 'document'}: "
                            f"{finding['message']}")
    return blockers


@dataclass
class SubmitResult:
    version: ApiVersion
    published: PublishResult | None = None


def api_version_submit(*, version: ApiVersion, actor: Actor) -> SubmitResult:
    """Send a draft to the board. Style errors must be fixed or waived first.

    A product that needs no approvals (``required_approvals`` 0) is published at once.
    """
    with transaction.atomic():
        version = _locked(version)
        blockers = _style_blockers(version)
        if blockers:
            raise GovernanceError(
                f"{version} has style errors; fix them or waive each with a reason before review.", blockers
            )
        version = _transition(version, Lifecycle.IN_REVIEW, actor=actor, review_round=version.review_round + 1,
                              submitted_at=timezone.now())
        result = SubmitResult(version=version)
        if version.product.required_approvals == 0:
            result.published = api_version_publish(version=version, actor=actor,
                                                   note="published on submission: the product needs no approvals")
            result.version = result.published.version
    return result


@dataclass
class ReviewResult:
    review: Review
    version: ApiVersion
    approvals: int
    required: int
    published: PublishResult | None = None


def approvals_of(version: ApiVersion) -> int:
    return version.reviews.filter(round=version.review_round, decision=ReviewDecision.APPROVE).count()


def api_version_review(*, version: ApiVersion, decision: str, comment: str = "", actor: Actor) -> ReviewResult:
    """Record one board member's decision. A rejection sends the version back to draft; the last
    approval the product needs publishes it. Approvals come from members other than the version's
    author (who uploaded it): four eyes. An author may still reject their own version."""
    user = _user(actor)
    if user is None:
        raise GovernanceError("A review needs a signed-in board member.")
    if decision not in ReviewDecision.values:
        raise GovernanceError(f"Unknown decision '{decision}'; use approve or reject.")
    if decision == ReviewDecision.REJECT and not comment.strip():
        raise GovernanceError("Say why in the comment: a rejection goes back to the authors.")
    with transaction.atomic():
        version = _locked(version)
        if version.status != Lifecycle.IN_REVIEW:
            raise GovernanceError(f"{version} is {version.get_status_display().lower()}, not in review.")
        if version.reviews.filter(round=version.review_round, reviewer=user).exists():
            raise GovernanceError(f"You have already reviewed this submission of {version}.")
        if decision == ReviewDecision.APPROVE and version.created_by_id == user.pk:
            raise GovernanceError(f"You uploaded {version}: its approvals must come from other board members.")
        review = Review.objects.create(version=version, round=version.review_round, reviewer=user,
                                       decision=decision, comment=comment)
        audit_record(actor=actor, action=f"api_version.review_{decision}", object_type="api_version",
                     object_id=version.pk, after={"version": version.label, "round": version.review_round},
                     note=comment)
        required = version.product.required_approvals
        approvals = approvals_of(version)
        result = ReviewResult(review=review, version=version, approvals=approvals, required=required)
        if decision == ReviewDecision.REJECT:
            result.version = _transition(version, Lifecycle.DRAFT, actor=actor, note=comment)
        elif approvals >= required:
            result.published = api_version_publish(version=version, actor=actor)
            result.version = result.published.version
    return result


@dataclass
class PublishResult:
    version: ApiVersion
    # Live versions of earlier majors: the page offers to deprecate them.
    older_majors: list[ApiVersion] = field(default_factory=list)


def api_version_publish(*, version: ApiVersion, actor: Actor, note: str = "") -> PublishResult:
    """Publish a version in review once it has its approvals, re-checking compatibility first.

    The report stored at upload is stale when another version was published since: then the check
    runs again against today's previous version and refuses with its reasons.
    """
    with transaction.atomic():
        version = _locked(version)
        required = version.product.required_approvals
        approvals = approvals_of(version)
        if approvals < required:
            raise GovernanceError(
                f"{version} has {approvals} of the {required} approvals it needs to be published."
            )
        changes = {"published_at": timezone.now()}
        previous = previous_version(version.product, semver_of(version), exclude_pk=version.pk)
        if previous != version.compared_with:
            # Something was published since the upload: the stored report is against the wrong version.
            check = api_version_check(product=version.product, source=version.openapi, version=version.version,
                                      waivers=version.style_waivers, exclude_pk=version.pk)
            if not check.accepted:
                raise VersionRefused(check)
            changes.update(compared_with=check.previous, compatibility_report=check.compatibility_json())
        version = _transition(version, Lifecycle.PUBLISHED, actor=actor, note=note, **changes)
        older = list(
            version.product.versions.filter(major__lt=version.major,
                                            status__in=[Lifecycle.PUBLISHED, Lifecycle.DEPRECATED])
            .order_by("-major", "-minor", "-patch")
        )
    return PublishResult(version=version, older_majors=older)


def api_version_withdraw(*, version: ApiVersion, actor: Actor, note: str = "") -> ApiVersion:
    """Take a version out of review back to draft (by its authors, before the board decides)."""
    with transaction.atomic():
        return _transition(_locked(version), Lifecycle.DRAFT, actor=actor, note=note)


def api_version_retire(*, version: ApiVersion, actor: Actor, note: str = "") -> ApiVersion:
    """Retire a deprecated version once its sunset has passed; from then on it serves nobody (410)."""
    with transaction.atomic():
        version = _locked(version)
        now = timezone.now()
        if version.status == Lifecycle.DEPRECATED and (version.sunset_at is None or version.sunset_at > now):
            when = version.sunset_at.isoformat() if version.sunset_at else "not set"
            raise GovernanceError(
                f"{version} cannot be retired before its sunset ({when}); consumers were promised that date. "
                "Block it instead if it must stop now."
            )
        version = _transition(version, Lifecycle.RETIRED, actor=actor, note=note, retired_at=now)
    return version


def api_version_block(*, version: ApiVersion, reason: str, actor: Actor) -> ApiVersion:
    """The board's emergency stop: a blocked version answers 403 to everyone until unblocked."""
    if not reason.strip():
        raise GovernanceError("Blocking needs a reason; consumers see it in the 403 they get.")
    with transaction.atomic():
        version = _locked(version)
        version = _transition(version, Lifecycle.BLOCKED, actor=actor, note=reason, blocked_from=version.status,
                              block_reason=reason)
    return version


def api_version_unblock(*, version: ApiVersion, actor: Actor, note: str = "") -> ApiVersion:
    """Return a blocked version to the state it was blocked from."""
    with transaction.atomic():
        version = _locked(version)
        if version.status != Lifecycle.BLOCKED:
            raise GovernanceError(f"{version} is not blocked.")
        # A version blocked while in review goes back to draft: its approvals were for another state of things.
        target = version.blocked_from if version.blocked_from in (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED) \
            else Lifecycle.DRAFT
        version = _transition(version, target, actor=actor, note=note, blocked_from="", block_reason="")
    return version


def findings_of(version: ApiVersion) -> list[dict]:
    """The stored breaking-change findings of a version (dicts as Finding.to_dict wrote them)."""
    return (version.compatibility_report.get("report") or {}).get("findings", [])


__all__ = [
    "Finding",
    "GovernanceError",
    "PublishResult",
    "ReviewResult",
    "SubmitResult",
    "VersionRefused",
    "api_product_create",
    "api_version_block",
    "api_version_publish",
    "api_version_retire",
    "api_version_review",
    "api_version_submit",
    "api_version_unblock",
    "api_version_upload",
    "api_version_waive",
    "api_version_withdraw",
    "approvals_of",
    "findings_of",
    "team_create",
]
