"""Customer accounts: sold-to parents with ship-to and bill-to children, plus likely CRM/ERP duplicates.

Accounts arrive the way they do in production: the CRM sends them through
``customer_upsert`` (the customers' system of record) and the ERP's customer
number is bound when the account is activated there. The duplicates are the
classic failure: an inside-sales user keyed a second account straight into the
ERP before the hub enforced the system of record, so they carry only an ERP id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from canonical.context import Actor
from canonical.demo import names
from canonical.demo.rand import DemoRandom
from canonical.models import (
    Address,
    Contact,
    CreditStatus,
    Customer,
    CustomerGroup,
    CustomerStatus,
    EntityType,
    PaymentTerms,
    System,
    normalise_name,
)
from canonical.services.customers import customer_upsert
from canonical.services.events import event_record
from canonical.services.refs import external_ref_bind

GROUP_CODE = "contractor-alliance"
GROUP_NAME = "Contractor Alliance buying group"
GROUP_TRADES = ("Plumbing", "Mechanical", "HVAC", "Heating", "Refrigeration", "Pipe")

# The first duplicate pair is the one everybody recognises; the rest are derived from real accounts.
SIGNATURE_ACCOUNT = "Acme Plumbing Inc."
SIGNATURE_DUPLICATE = "ACME Plumbing, Inc"


@dataclass
class AccountPlan:
    account_number: str
    name: str
    parent: str | None = None
    sold_to: bool = True
    bill_to: bool = True
    ship_to: bool = True
    status: str = CustomerStatus.ACTIVE
    tax_id: str = ""
    payment_terms: str = PaymentTerms.NET30
    credit_limit: Decimal = Decimal("0")
    credit_status: str = CreditStatus.GOOD
    group: str | None = None
    crm_id: str | None = None
    erp_id: str | None = None
    addresses: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    duplicate_of: str | None = None

    def data(self) -> dict:
        return {
            "account_number": self.account_number, "name": self.name, "is_sold_to": self.sold_to,
            "is_bill_to": self.bill_to, "is_ship_to": self.ship_to, "status": self.status, "tax_id": self.tax_id,
            "currency": "USD", "payment_terms": self.payment_terms, "credit_limit": self.credit_limit,
            "credit_status": self.credit_status,
        }


def _address(rng: DemoRandom, kind: str, city: tuple[str, str, str]) -> dict:
    street = f"{rng.randint(100, 9899)} {rng.choice(names.STREET_NAMES)} {rng.choice(names.STREET_TYPES)}"
    return {
        "kind": kind, "line1": street, "line2": rng.choice(["", "", "", f"Suite {rng.randint(100, 450)}"]),
        "city": city[0], "region": city[1], "postal_code": f"{city[2]}{rng.randint(0, 99):02d}",
        "country": "US", "is_default": True,
    }


def _contact(rng: DemoRandom, role: str, domain: str, primary: bool) -> dict:
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.SURNAMES)
    local = f"{first}.{last}".lower().replace("'", "")
    return {
        "name": f"{first} {last}", "email": f"{local}@{domain}", "phone": f"+1 {rng.randint(201, 989)}-555-{rng.digits(4)}",
        "role": role, "is_primary": primary,
    }


def _company_name(rng: DemoRandom, taken: set[str]) -> str:
    while True:
        style = rng.random()
        if style < 0.1:
            name = rng.choice(names.INSTITUTIONS).format(place=rng.choice(names.PLACE_WORDS))
        else:
            head = rng.choice(names.SURNAMES) if style < 0.75 else rng.choice(names.PLACE_WORDS)
            name = " ".join(part for part in (head, rng.choice(names.TRADES), rng.choice(names.LEGAL_SUFFIXES)) if part)
        if name not in taken and name != SIGNATURE_ACCOUNT:
            taken.add(name)
            return name


def _domain(name: str) -> str:
    words = normalise_name(name).split()[:2] or ["customer"]
    return "".join(words) + ".example"


def _duplicate_name(rng: DemoRandom, name: str) -> str:
    """How the same company gets keyed again in another system."""
    variants = [
        lambda n: n.upper().replace(" INC.", ", INC").replace(" LLC", ", L.L.C."),
        lambda n: n.replace("&", "and").replace(" Inc.", " Incorporated"),
        lambda n: n.replace(" Co.", " Company").replace(" Corp.", " Corporation").replace(" LLC", ""),
        lambda n: n.replace("view", " View").replace("side", " Side").replace("wood", " Wood") + " (do not use)",
    ]
    for variant in rng.sample(variants, len(variants)):
        candidate = variant(name).strip()
        if candidate != name:
            return candidate
    return name + " - ERP"


def accounts_plan(*, seed: int, total: int) -> list[AccountPlan]:
    """The account tree, in creation order (parents before children), exactly ``total`` accounts."""
    rng = DemoRandom.for_part(seed, "customers")
    duplicates = 0 if total < 8 else max(2, min(6, total // 30))
    plans: list[AccountPlan] = []
    roots: list[AccountPlan] = []
    taken: set[str] = set()
    crm_ids: set[str] = set()

    def crm_id() -> str:
        while True:
            value = "0015g00000" + rng.alnum(8)
            if value not in crm_ids:
                crm_ids.add(value)
                return value

    def number(prefix: int) -> tuple[str, str]:
        erp = str(prefix + len(plans) + 1)
        return f"C{erp}", erp

    while len(plans) < total - duplicates:
        account_number, erp_id = number(100000)
        name = SIGNATURE_ACCOUNT if not roots else _company_name(rng, taken)
        city = rng.choice(names.CITIES)
        size = rng.random()
        root = AccountPlan(
            account_number=account_number, name=name, tax_id=f"{rng.randint(10, 98)}-{rng.digits(7)}",
            payment_terms=rng.choice([PaymentTerms.NET30] * 6 + [PaymentTerms.NET15, PaymentTerms.NET45,
                                                                   PaymentTerms.NET60, PaymentTerms.PREPAID]),
            credit_limit=Decimal(rng.choice([10, 15, 25, 40, 50, 75, 100, 150, 250]) * 1000),
            crm_id=crm_id(), erp_id=erp_id,
            group=GROUP_CODE if any(t in name for t in GROUP_TRADES) and rng.chance(0.6) else None,
        )
        root.addresses = [_address(rng, "registered", city), _address(rng, "billing", city)]
        domain = _domain(name)
        root.contacts = [_contact(rng, "Buyer", domain, True)] + [
            _contact(rng, role, domain, False) for role in rng.sample(names.CONTACT_ROLES[1:5], rng.randint(0, 2))
        ]
        plans.append(root)
        roots.append(root)
        ship_tos = 0 if size < 0.35 else rng.randint(1, 4 if size < 0.9 else 8)
        ship_tos = min(ship_tos, total - duplicates - len(plans))
        root.ship_to = ship_tos == 0
        if not root.ship_to:
            root.addresses.append(_address(rng, "shipping", city))
        sites: set[str] = set()
        for _ in range(ship_tos):
            site_city = city if rng.chance(0.5) else rng.choice(names.CITIES)
            site = f"{site_city[0]} {rng.choice(names.SITE_KINDS)}"
            site = site if site not in sites else f"{site} {len(sites) + 1}"
            sites.add(site)
            account_number, erp_id = number(100000)
            child = AccountPlan(
                account_number=account_number, parent=root.account_number, sold_to=False, bill_to=False,
                name=f"{name.rstrip('.')} - {site}",
                payment_terms=root.payment_terms, crm_id=crm_id(), erp_id=erp_id,
            )
            child.addresses = [_address(rng, "shipping", site_city)]
            child.contacts = [_contact(rng, rng.choice(["Receiving", "Project manager"]), domain, True)]
            plans.append(child)
        if ship_tos >= 3 and len(plans) < total - duplicates and rng.chance(0.5):
            account_number, erp_id = number(100000)
            root.bill_to = False
            payables = AccountPlan(
                account_number=account_number, parent=root.account_number, sold_to=False, ship_to=False,
                name=f"{name.rstrip('.')} - Accounts Payable", payment_terms=root.payment_terms,
                crm_id=crm_id(), erp_id=erp_id,
            )
            payables.addresses = [_address(rng, "billing", city)]
            payables.contacts = [_contact(rng, "Accounts payable", domain, True)]
            plans.append(payables)

    _assign_credit_and_status(rng, roots)
    by_number = {p.account_number: p for p in plans}
    for plan in plans:
        parent = by_number.get(plan.parent) if plan.parent else None
        if parent is not None and parent.status != CustomerStatus.ACTIVE:
            plan.status = parent.status
            plan.erp_id = plan.erp_id if parent.erp_id else None
    originals = [roots[0]] + rng.sample(roots[1:], min(duplicates - 1, len(roots) - 1)) if duplicates else []
    for index, original in enumerate(originals):
        erp_id = str(900000 + index + 1)
        duplicate = AccountPlan(
            account_number=f"C{erp_id}",
            name=SIGNATURE_DUPLICATE if index == 0 else _duplicate_name(rng, original.name),
            # One duplicate was keyed without a tax id: only the name and address give it away.
            tax_id="" if index == 3 else original.tax_id,
            payment_terms=PaymentTerms.NET30, credit_limit=Decimal("5000"), erp_id=erp_id,
            ship_to=True, duplicate_of=original.account_number,
        )
        billing = next(a for a in original.addresses if a["kind"] == "billing")
        duplicate.addresses = [{**billing, "line1": billing["line1"].replace(" St", " Street").upper()}]
        duplicate.contacts = [dict(original.contacts[0], is_primary=True)]
        plans.append(duplicate)
    return plans


def _assign_credit_and_status(rng: DemoRandom, roots: list[AccountPlan]) -> None:
    candidates = roots[1:]
    rng.shuffle(candidates)
    holds = max(2, len(roots) // 30)
    watches = max(3, len(roots) // 12)
    pending = max(1, len(roots) // 50) if len(roots) > 10 else 0
    inactive = max(1, len(roots) // 40) if len(roots) > 10 else 0
    cursor = 0
    for count, change in (
        (holds, {"credit_status": CreditStatus.HOLD}),
        (watches, {"credit_status": CreditStatus.WATCH}),
        (pending, {"status": CustomerStatus.PENDING, "erp_id": None}),
        (inactive, {"status": CustomerStatus.INACTIVE}),
    ):
        for plan in candidates[cursor:cursor + count]:
            for name, value in change.items():
                setattr(plan, name, value)
        cursor += count


def accounts_ensure(*, plans: list[AccountPlan], systems: dict[str, System], as_of: datetime) -> int:
    """Create the planned accounts that do not exist yet (by account number); return how many were created."""
    existing = set(
        Customer.objects.filter(account_number__in=[p.account_number for p in plans])
        .values_list("account_number", flat=True)
    )
    missing = [p for p in plans if p.account_number not in existing]
    if not missing:
        return 0
    group, _ = CustomerGroup.objects.get_or_create(code=GROUP_CODE, defaults={"name": GROUP_NAME})
    crm, erp = systems["crm"], systems["erp"]
    by_number: dict[str, Customer] = {}
    parents_needed = {p.parent for p in missing if p.parent}
    by_number.update({c.account_number: c for c in Customer.objects.filter(account_number__in=parents_needed)})
    for plan in missing:
        with transaction.atomic():
            data = plan.data()
            if plan.parent:
                data["parent"] = by_number[plan.parent]
            if plan.group:
                data["group"] = group
            if plan.crm_id:
                actor = Actor(system=crm)
                customer = customer_upsert(
                    system=crm, external_id=plan.crm_id, actor=actor,
                    data={**data, "addresses": plan.addresses, "contacts": plan.contacts},
                ).instance
            else:
                customer = _legacy_erp_account(plan, data, erp, as_of)
            if plan.erp_id:
                external_ref_bind(
                    system=erp, entity_type=EntityType.CUSTOMER, external_id=plan.erp_id, object_id=customer.pk
                )
        by_number[plan.account_number] = customer
    return len(missing)


def _legacy_erp_account(plan: AccountPlan, data: dict, erp: System, as_of: datetime) -> Customer:
    """An account keyed straight into the ERP, loaded as it was (the CRM never knew it)."""
    from canonical.serializers.customers import CustomerSerializer

    customer = Customer.objects.create(**data)
    Address.objects.bulk_create(Address(customer=customer, **a) for a in plan.addresses)
    Contact.objects.bulk_create(Contact(customer=customer, **c) for c in plan.contacts)
    event_record(
        event_type="customer.created", aggregate_type="customer", aggregate_id=customer.pk,
        payload={"customer": CustomerSerializer(customer).data}, actor=Actor(system=erp),
        occurred_at=as_of - timedelta(days=400),
    )
    return customer
