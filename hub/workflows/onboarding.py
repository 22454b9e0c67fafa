"""Customer onboarding: an account the CRM creates is checked for likely duplicates; a clean one is
sent to ERP for activation, a likely duplicate waits in the data stewards' queue, where a steward
merges it (or its twin) or dismisses the match.

* ``customer_onboard_upsert`` is the CRM's write (the PUT API and the inbound ``customer.upsert``
  message reach it through ``canonical.services.customers.customer_write``): the canonical upsert,
  then, for a new account, ``customer_onboarding_check``, all in one transaction. A new account is
  ``pending`` until ERP activates it; while it waits the CRM cannot make it active.
* ``customer_onboarding_check``: likely duplicates (canonical.services.duplicates) hold the account
  for review and open a ``duplicate_customer`` exception for the data stewardship team with each
  candidate's score and reasons; otherwise the account is sent to ERP (``customer.activation_requested``,
  delivered by the ERP's subscription) or, when an ERP already knows it, activated at once.
* ``duplicate_review_merge`` / ``duplicate_review_dismiss``: a data steward's decision on the
  exception. Each is audited on the exception. When no likely duplicate of the account remains,
  the exception is resolved and the account carries on to activation.
* ERP's answer, the inbound ``customer.activated`` message, is recorded by
  canonical.services.onboarding.customer_activation_record.
* ``customers_duplicate_scan`` (``manage.py scan_duplicates``) raises likely duplicates among the
  accounts that exist (bulk loads, older data, and two twins created in the same instant, whose
  checks ran in two transactions that could not see each other).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from canonical.access import AccessDenied
from canonical.context import Actor
from canonical.errors import CanonicalError
from canonical.models import Customer, CustomerStatus, EntityType, Onboarding, System
from canonical.services.customer_merge import (
    MergeResult,
    customer_merge,
    customer_merge_check,
    describe_counts,
)
from canonical.services.customers import customer_upsert
from canonical.services.duplicates import (
    LIKELY_DUPLICATE_SCORE,
    DuplicateCandidate,
    customer_duplicate_dismiss,
    customer_duplicates_find,
)
from canonical.services.events import audit_record
from canonical.services.onboarding import (
    customer_activation_record,
    customer_activation_request,
    customer_duplicate_review_hold,
    customer_duplicate_review_release,
    erp_known_ids,
)
from canonical.services.refs import UpsertResult, external_ref_find
from connectors.models import (
    ACTIVE_EXCEPTION_STATUSES,
    Category,
    ExceptionStatus,
    IntegrationException,
    Severity,
    Team,
)
from connectors.services.exceptions import (
    AUDIT_OBJECT_TYPE,
    ExceptionActionRefused,
    exception_raise,
    exception_resolve,
    exception_transition,
    user_can_work,
)

WORKFLOW_STEP = "customer_onboarding.duplicate_check"
NOTE_MAX_LENGTH = 2000


class CustomerMergedAway(CanonicalError):
    status_code = 409
    slug = "customer-merged"
    title = "The account was merged into another"


def fingerprint_for(customer: Customer) -> str:
    return f"duplicate-customer:{customer.pk}"


# --- the CRM's write -------------------------------------------------------------------------------


def customer_onboard_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """The customers' system of record creates or updates an account; a new one starts onboarding."""
    data = dict(data)
    with transaction.atomic():
        known = external_ref_find(
            system=system, entity_type=EntityType.CUSTOMER, external_id=external_id, model=Customer, lock=True
        )
        by_number = Customer.objects.filter(account_number=data["account_number"]).first()
        _refuse_merged(by_number)  # (a merge moves the external ids to the survivor: `known` is never merged)
        existing = known or by_number
        if existing is None:
            # New: pending until ERP has opened it (an inactive account is not onboarded).
            if data.get("status", CustomerStatus.ACTIVE) in (CustomerStatus.ACTIVE, CustomerStatus.PENDING):
                data["status"] = CustomerStatus.PENDING
        elif (
            existing.status == CustomerStatus.PENDING
            and existing.onboarding in (Onboarding.DUPLICATE_REVIEW, Onboarding.ACTIVATION_REQUESTED)
            and data.get("status") == CustomerStatus.ACTIVE
        ):
            data["status"] = CustomerStatus.PENDING  # active once ERP says so, not before
        result = customer_upsert(system=system, external_id=external_id, data=data, actor=actor)
        if result.created and result.instance.status == CustomerStatus.PENDING:
            customer_onboarding_check(customer=result.instance, actor=actor)
            result.instance.refresh_from_db()
    return result


def _refuse_merged(by_number: Customer | None) -> None:
    """Refuse a write to an account number the data stewards merged away, naming the survivor."""
    if by_number is not None and by_number.status == CustomerStatus.MERGED:
        survivor = Customer.objects.filter(pk=by_number.merged_into_id).first()
        into = (f"{survivor.account_number} (customer {survivor.pk})" if survivor
                else f"customer {by_number.merged_into_id}")
        raise CustomerMergedAway(
            f"Account {by_number.account_number} was merged into {into} by the data stewards; merge the two "
            f"accounts in your system too and send updates for {survivor.account_number if survivor else 'it'}.",
            account_number=by_number.account_number, merged_into=by_number.merged_into_id,
        )


# --- the check -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnboardingOutcome:
    customer: Customer
    onboarding: str
    exception: IntegrationException | None = None
    candidates: list[DuplicateCandidate] = field(default_factory=list)


def customer_onboarding_check(*, customer: Customer, actor: Actor) -> OnboardingOutcome:
    """Hold a likely duplicate for the data stewards, or send a clean account on to ERP."""
    with transaction.atomic():
        candidates = customer_duplicates_find(customer=customer)
        if not candidates:
            return _onward(customer=customer, actor=actor)
        customer_duplicate_review_hold(customer=customer, actor=actor, note="likely duplicate")
        exception = exception_raise(
            category=Category.DUPLICATE_CUSTOMER,
            team=Team.DATA_STEWARDSHIP,
            severity=Severity.MEDIUM,
            title=_title(customer, candidates),
            detail=(
                f"The new account {customer.account_number} is held (pending) and not sent to ERP until a data "
                "steward merges it with one of the accounts below or dismisses the match."
            ),
            fingerprint=fingerprint_for(customer),
            context=_context(customer, candidates),
            workflow_step=WORKFLOW_STEP,
            actor=actor,
            customer=customer,
        )
    return OnboardingOutcome(customer=customer, onboarding=Onboarding.DUPLICATE_REVIEW, exception=exception,
                             candidates=candidates)


def customers_duplicate_scan(*, actor: Actor, customers=None) -> list[IntegrationException]:
    """Look for likely duplicates among accounts that exist (loaded in bulk, or keyed before the
    hub checked): each pair is raised once, on the newer account, for the data stewards; accounts
    are not held (only a new CRM account waits for the review). Returns the exceptions raised."""
    queryset = Customer.objects.exclude(status=CustomerStatus.MERGED) if customers is None else customers
    raised = []
    for customer in queryset.order_by("pk").iterator(chunk_size=500):
        candidates = [c for c in customer_duplicates_find(customer=customer) if c.customer.pk < customer.pk]
        if not candidates:
            continue
        raised.append(exception_raise(
            category=Category.DUPLICATE_CUSTOMER, team=Team.DATA_STEWARDSHIP, severity=Severity.LOW,
            title=_title(customer, candidates),
            detail=f"Found by a scan of the accounts; {customer.account_number} is not held.",
            fingerprint=fingerprint_for(customer), context=_context(customer, candidates),
            workflow_step="customer_onboarding.duplicate_scan", actor=actor, customer=customer,
        ))
    return raised


def _title(customer: Customer, candidates: list[DuplicateCandidate]) -> str:
    best = candidates[0].customer
    more = f" and {len(candidates) - 1} more" if len(candidates) > 1 else ""
    return (f"Possible duplicate: {customer.name} ({customer.account_number}) looks like "
            f"{best.name} ({best.account_number}){more}")


def _context(customer: Customer, candidates: list[DuplicateCandidate]) -> dict:
    return {
        "customer": {"id": customer.pk, "account_number": customer.account_number, "name": customer.name,
                     "tax_id": customer.tax_id},
        "candidates": [candidate.as_context() for candidate in candidates],
        "threshold": LIKELY_DUPLICATE_SCORE,
    }


def _onward(*, customer: Customer, actor: Actor) -> OnboardingOutcome:
    """Nothing holds the account any more: activate it where ERP knows it already, else ask ERP to."""
    customer.refresh_from_db()
    if customer.status != CustomerStatus.PENDING:
        return OnboardingOutcome(customer=customer, onboarding=customer.onboarding)
    customer_duplicate_review_release(customer=customer, actor=actor)
    known = erp_known_ids(customer)
    if known:
        system, erp_id = known[0]
        customer_activation_record(customer=customer, system=system, erp_customer_id=erp_id, actor=actor,
                                   note=f"already known to {system.code} as {erp_id}")
    else:
        customer_activation_request(customer=customer, actor=actor)
    customer.refresh_from_db()
    return OnboardingOutcome(customer=customer, onboarding=customer.onboarding)


# --- the steward's decisions -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewOutcome:
    exception: IntegrationException
    account: Customer  # the account under review now (the survivor when it was merged away)
    remaining: list[DuplicateCandidate]
    merge: MergeResult | None = None
    dismissed: list[int] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return self.exception.status == ExceptionStatus.RESOLVED


def account_under_review(exception: IntegrationException) -> Customer | None:
    """The exception's account, or the account it was merged into (followed to the end)."""
    customer = exception.customer
    seen = set()
    while customer is not None and customer.status == CustomerStatus.MERGED and customer.merged_into_id:
        if customer.pk in seen:
            break
        seen.add(customer.pk)
        customer = customer.merged_into
    return customer


def _text(value: str, what: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ExceptionActionRefused(f"A {what} is required: say why, for the next person and the audit.",
                                     field=what)
    if len(text) > NOTE_MAX_LENGTH:
        raise ExceptionActionRefused(f"The {what} is longer than {NOTE_MAX_LENGTH} characters.", field=what)
    return text


def _lock_review(exception: IntegrationException | int, actor: Actor) -> IntegrationException:
    if not user_can_work(actor.user, Team.DATA_STEWARDSHIP):
        raise AccessDenied("Only data stewards (the data stewardship queue) merge or dismiss duplicate accounts.")
    pk = exception.pk if isinstance(exception, IntegrationException) else exception
    locked = IntegrationException.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise ExceptionActionRefused(f"There is no exception {pk}.", exception=pk)
    if locked.category != Category.DUPLICATE_CUSTOMER or locked.customer_id is None:
        raise ExceptionActionRefused(f"Exception {pk} is not about a duplicate customer account.", exception=pk)
    _refuse_closed(locked)
    return locked


def _refuse_closed(exception: IntegrationException) -> None:
    if exception.status not in ACTIVE_EXCEPTION_STATUSES:
        raise ExceptionActionRefused(
            f"Exception {exception.pk} is {exception.get_status_display().lower()}; someone may have decided it "
            "already.", exception=exception.pk, status=exception.status,
        )


def _reviewable_ids(exception: IntegrationException, account: Customer) -> set[int]:
    """Accounts a steward may decide about: the likely duplicates now, and those the exception listed."""
    listed = {c.get("id") for c in (exception.context or {}).get("candidates", []) if isinstance(c, dict)}
    return {c.customer.pk for c in customer_duplicates_find(customer=account)} | listed


def _exception_audit(exception: IntegrationException, *, actor: Actor, action: str, before: dict, after: dict,
                     note: str) -> None:
    audit_record(actor=actor, action=action, object_type=AUDIT_OBJECT_TYPE, object_id=exception.pk,
                 before=before, after=after, note=note)


def _conclude(exception: IntegrationException, account: Customer, *, actor: Actor, note: str) -> list:
    """Resolve the review when no likely duplicate of the account remains (the account carries on to
    ERP), else keep the exception in progress for the rest; the candidates still remaining."""
    account.refresh_from_db()
    remaining = customer_duplicates_find(customer=account) if account.status != CustomerStatus.MERGED else []
    if remaining:
        if exception.status == ExceptionStatus.OPEN:
            exception_transition(exception=exception, status=ExceptionStatus.IN_PROGRESS, actor=actor,
                                 note=f"{len(remaining)} likely duplicate(s) still to decide")
        return remaining
    _onward(customer=account, actor=actor)
    exception_resolve(exception=exception, actor=actor, note=note)
    # The merged-away twin may have had its own review open: nothing is left to decide there either.
    for other in IntegrationException.objects.filter(
        category=Category.DUPLICATE_CUSTOMER, status__in=ACTIVE_EXCEPTION_STATUSES,
        customer__status=CustomerStatus.MERGED, customer__merged_into=account,
    ).exclude(pk=exception.pk):
        exception_resolve(exception=other, actor=actor,
                          note=f"Account merged into {account.account_number} (exception {exception.pk}).")
    return []


def _pair_check(exception: IntegrationException, *, survivor: Customer, merged: Customer) -> Customer:
    """The account under review, when ``survivor`` and ``merged`` are it and one of its likely
    duplicates (either way round) and may be merged; else the refusal."""
    account = account_under_review(exception)
    if account is None or account.pk not in {survivor.pk, merged.pk}:
        raise ExceptionActionRefused(
            f"Exception {exception.pk} is about account {account.account_number if account else '?'}: merge it "
            "with one of its likely duplicates, or it into one of them.", field="survivor",
        )
    other = merged if survivor.pk == account.pk else survivor
    if other.status == CustomerStatus.MERGED:  # a candidate the review listed, merged away since
        raise ExceptionActionRefused(
            f"Account {other.account_number} was already merged into another account.", field="survivor",
        )
    if other.pk not in _reviewable_ids(exception, account):
        raise ExceptionActionRefused(
            f"Account {other.account_number} is not one of the likely duplicates of {account.account_number}.",
            field="survivor",
        )
    customer_merge_check(survivor=survivor, merged=merged)
    return account


def duplicate_review_merge_check(*, exception: IntegrationException, survivor: Customer, merged: Customer) -> None:
    """Raise the refusal duplicate_review_merge would give (but for the note), without locking: the
    confirmation page asks it, so it offers only a merge the review allows."""
    _refuse_closed(exception)
    _pair_check(exception, survivor=survivor, merged=merged)


def duplicate_review_merge(
    *, exception: IntegrationException | int, survivor: Customer, merged: Customer, actor: Actor, note: str
) -> ReviewOutcome:
    """Merge one account of the reviewed pair into the other (either way round). A merge cannot be
    undone, so, like a dismissal's reason, the note saying why they are one company is required."""
    note = _text(note, "note", required=True)
    with transaction.atomic():
        locked = _lock_review(exception, actor)
        account = _pair_check(locked, survivor=survivor, merged=merged)
        result = customer_merge(survivor=survivor, merged=merged, actor=actor, note=note)
        summary = (f"Merged {result.merged.account_number} into {result.survivor.account_number} "
                   f"({describe_counts(result.counts())} moved). {note}")
        _exception_audit(locked, actor=actor, action="exception.duplicate_merged",
                         before={"account": account.pk},
                         after={"survivor": result.survivor.pk, "merged": result.merged.pk,
                                "moved": result.counts()},
                         note=summary)
        remaining = _conclude(locked, result.survivor, actor=actor, note=summary)
        locked.refresh_from_db()
    return ReviewOutcome(exception=locked, account=result.survivor, remaining=remaining, merge=result)


def duplicate_review_dismiss(
    *, exception: IntegrationException | int, candidate_ids: list[int], reason: str, actor: Actor
) -> ReviewOutcome:
    """The listed candidates are not duplicates of the account under review: never raise those pairs again."""
    reason = _text(reason, "reason", required=True)
    with transaction.atomic():
        locked = _lock_review(exception, actor)
        account = account_under_review(locked)
        if account is None:
            raise ExceptionActionRefused(f"Exception {locked.pk} has no account to review.")
        ids = sorted({int(pk) for pk in candidate_ids})
        if not ids:
            raise ExceptionActionRefused("Choose the accounts that are not duplicates.", field="candidates")
        allowed = _reviewable_ids(locked, account)
        unknown = [pk for pk in ids if pk not in allowed]
        if unknown:
            raise ExceptionActionRefused(
                f"Account(s) {', '.join(map(str, unknown))} are not likely duplicates of {account.account_number}.",
                field="candidates",
            )
        others = list(Customer.objects.filter(pk__in=ids).order_by("pk"))
        for other in others:
            customer_duplicate_dismiss(customer=account, other=other, reason=reason, actor=actor)
        names = ", ".join(o.account_number for o in others)
        summary = f"Not a duplicate of {names}: {reason}"
        _exception_audit(locked, actor=actor, action="exception.duplicate_dismissed",
                         before={"account": account.pk}, after={"not_duplicates_of": ids}, note=summary)
        remaining = _conclude(locked, account, actor=actor, note=summary)
        locked.refresh_from_db()
    return ReviewOutcome(exception=locked, account=account, remaining=remaining, dismissed=ids)
