"""Likely duplicate customer accounts: find them (scored, with the reasons) and record a steward's
"not a duplicate" decision so the pair is never raised again.

Finding is a few index lookups on keys each account carries (canonical.models.customers: name_key,
name_block, tax_key, Address.match_key), then scoring a bounded set of rows in Python, so it costs
the same for a hundred accounts as for a hundred thousand:

* same tax id                        0.60
* same name (after normalisation)    0.50, or a similar name (same first letters, ≥ 80 % alike) up to 0.45
* same street address                0.30
* two different tax ids             -0.30 (two legal entities, whatever their names say)

The points add up (between 0 and 1); an account is a likely duplicate from ``LIKELY_DUPLICATE_SCORE``
(0.5): a shared tax id or an identical name is enough on its own, a shared address needs a
similar name too (several accounts of one group can share a building), and an identical name with
another tax id needs the address as well ("Wood Electric LLC" and "Wood Electric Co." in two states).
Accounts of the same hierarchy (a sold-to and its ship-tos) are never duplicates of each other,
nor are merged accounts or pairs a steward dismissed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db import IntegrityError, transaction
from django.db.models import Q

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import Address, Customer, CustomerStatus, DuplicateDismissal
from canonical.services.events import audit_record

LIKELY_DUPLICATE_SCORE = 0.5
TAX_ID_POINTS = 0.6
SAME_NAME_POINTS = 0.5
SIMILAR_NAME_POINTS = 0.45
SIMILAR_NAME_RATIO = 0.8
ADDRESS_POINTS = 0.3
DIFFERENT_TAX_ID_POINTS = -0.3
# The most rows of one name block compared (a very common first six letters); identical names,
# tax ids and addresses are found however crowded the block is.
NAME_BLOCK_LIMIT = 400
# The most candidates reported for one account.
CANDIDATES_SHOWN = 10


@dataclass
class DuplicateCandidate:
    customer: Customer
    score: float
    reasons: list[dict] = field(default_factory=list)

    def as_context(self) -> dict:
        """The candidate as the data steward's exception shows it (JSON)."""
        customer = self.customer
        return {
            "id": customer.pk,
            "account_number": customer.account_number,
            "name": customer.name,
            "status": customer.status,
            "tax_id": customer.tax_id,
            "score": self.score,
            "reasons": self.reasons,
        }


def _hierarchy_root_id(customer_id: int, parents: dict[int, int | None]) -> int:
    seen = {customer_id}
    node = customer_id
    while parents.get(node) and parents[node] not in seen:
        node = parents[node]
        seen.add(node)
    return node


def _parents_of(ids: set[int]) -> dict[int, int | None]:
    """{id: parent_id} for ``ids`` and all their ancestors (one query per level of the hierarchy)."""
    parents: dict[int, int | None] = {}
    todo = set(ids)
    while todo:
        rows = dict(Customer.objects.filter(pk__in=todo).values_list("pk", "parent_id"))
        parents.update(rows)
        todo = {parent for parent in rows.values() if parent and parent not in parents}
    return parents


def dismissed_partners(customer: Customer) -> set[int]:
    """The accounts a steward has said ``customer`` is not a duplicate of."""
    pairs = DuplicateDismissal.objects.filter(Q(customer_low=customer) | Q(customer_high=customer))
    rows = pairs.values_list("customer_low_id", "customer_high_id")
    return {low if high == customer.pk else high for low, high in rows}


def _address_keys(customer: Customer) -> dict[str, Address]:
    return {a.match_key: a for a in Address.objects.filter(customer=customer).exclude(match_key="")}


def customer_duplicates_find(
    *, customer: Customer, minimum_score: float = LIKELY_DUPLICATE_SCORE, limit: int = CANDIDATES_SHOWN
) -> list[DuplicateCandidate]:
    """The accounts ``customer`` is likely a duplicate of, best first, each with its score and reasons."""
    addresses = _address_keys(customer)
    block: dict[int, str] = {}
    if customer.name_key:
        block = dict(
            Customer.objects.filter(name_block=customer.name_block)
            .order_by("name_key")
            .values_list("pk", "name_key")[:NAME_BLOCK_LIMIT]
        )
    candidate_ids: set[int] = set()
    if customer.tax_key:
        candidate_ids.update(
            Customer.objects.filter(tax_key=customer.tax_key).exclude(tax_key="").values_list("pk", flat=True)
        )
    if len(block) == NAME_BLOCK_LIMIT:  # a crowded block: the identical names may lie beyond the cut
        candidate_ids.update(
            Customer.objects.filter(name_block=customer.name_block, name_key=customer.name_key)
            .values_list("pk", flat=True)
        )
    if addresses:
        candidate_ids.update(
            Address.objects.filter(match_key__in=list(addresses)).exclude(match_key="")
            .values_list("customer_id", flat=True)
        )
    candidate_ids.update(_similar_names(customer.name_key, block))
    candidate_ids.discard(customer.pk)
    candidate_ids -= dismissed_partners(customer)
    if not candidate_ids:
        return []

    parents = _parents_of(candidate_ids | {customer.pk})
    own_root = _hierarchy_root_id(customer.pk, parents)
    candidates = (
        Customer.objects.filter(pk__in=candidate_ids)
        .exclude(status=CustomerStatus.MERGED)
        .prefetch_related("addresses")
    )
    found = []
    for other in candidates:
        if _hierarchy_root_id(other.pk, parents) == own_root:
            continue
        candidate = _score(customer, addresses, other)
        if candidate.score >= minimum_score:
            found.append(candidate)
    found.sort(key=lambda c: (-c.score, c.customer.pk))
    return found[:limit]


def _name_ratio(key: str, other: str) -> float:
    return SequenceMatcher(None, other, key, autojunk=False).ratio()


def _similar_names(key: str, block: dict[int, str]) -> list[int]:
    """The ids in the block whose name is identical or at least SIMILAR_NAME_RATIO alike. The cheap
    upper bounds (lengths, then letters in common) rule most rows out before the full comparison."""
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(key)  # the matcher caches what it learns about seq2
    similar = []
    for pk, other in block.items():
        if other == key:
            similar.append(pk)
            continue
        matcher.set_seq1(other)
        if (matcher.real_quick_ratio() >= SIMILAR_NAME_RATIO and matcher.quick_ratio() >= SIMILAR_NAME_RATIO
                and matcher.ratio() >= SIMILAR_NAME_RATIO):
            similar.append(pk)
    return similar


def _score(customer: Customer, addresses: dict[str, Address], other: Customer) -> DuplicateCandidate:
    points = 0.0
    reasons = []
    if customer.tax_key and customer.tax_key == other.tax_key:
        points += TAX_ID_POINTS
        reasons.append({"signal": "tax_id", "points": TAX_ID_POINTS,
                        "detail": f"same tax id ({customer.tax_id} / {other.tax_id})"})
    elif customer.tax_key and other.tax_key:
        points += DIFFERENT_TAX_ID_POINTS
        reasons.append({"signal": "different_tax_id", "points": DIFFERENT_TAX_ID_POINTS,
                        "detail": f"different tax ids ({customer.tax_id} / {other.tax_id})"})
    if customer.name_key and customer.name_key == other.name_key:
        points += SAME_NAME_POINTS
        reasons.append({"signal": "name", "points": SAME_NAME_POINTS,
                        "detail": f"same name once normalised ('{customer.name}' / '{other.name}')"})
    elif customer.name_key and other.name_key:
        ratio = _name_ratio(customer.name_key, other.name_key)
        if ratio >= SIMILAR_NAME_RATIO:
            name_points = round(SIMILAR_NAME_POINTS * ratio, 2)
            points += name_points
            reasons.append({"signal": "similar_name", "points": name_points,
                            "detail": f"similar name, {round(ratio * 100)} % alike "
                                      f"('{customer.name}' / '{other.name}')"})
    shared = [a for a in other.addresses.all() if a.match_key and a.match_key in addresses]
    if shared:
        points += ADDRESS_POINTS
        address = shared[0]
        reasons.append({"signal": "address", "points": ADDRESS_POINTS,
                        "detail": f"same address ({address.line1}, {address.city} {address.postal_code})".strip()})
    return DuplicateCandidate(customer=other, score=round(min(max(points, 0.0), 1.0), 2), reasons=reasons)


def customer_duplicate_dismiss(*, customer: Customer, other: Customer, reason: str, actor: Actor) -> DuplicateDismissal:
    """Record that ``customer`` and ``other`` are not duplicates (audited); a repeat returns the first decision."""
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleViolation("Say why the accounts are not duplicates.", errors=[
            {"pointer": "/reason", "field": "reason", "messages": ["This field is required."]}])
    if customer.pk == other.pk:
        raise BusinessRuleViolation("An account cannot be a duplicate of itself.")
    low, high = sorted((customer, other), key=lambda c: c.pk)
    existing = DuplicateDismissal.objects.filter(customer_low=low, customer_high=high).first()
    if existing is not None:
        return existing
    user = actor.user if actor.user is not None and getattr(actor.user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            dismissal = DuplicateDismissal.objects.create(
                customer_low=low, customer_high=high, reason=reason, decided_by=user,
                correlation_id=actor.correlation_id,
            )
            audit_record(
                actor=actor, action="customer.duplicate_dismissed", object_type="customer", object_id=customer.pk,
                after={"customer": customer.pk, "not_a_duplicate_of": other.pk,
                       "accounts": [low.account_number, high.account_number]},
                note=reason,
            )
    except IntegrityError:  # the same decision, taken at the same moment by someone else
        return DuplicateDismissal.objects.get(customer_low=low, customer_high=high)
    return dismissal

