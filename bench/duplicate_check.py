"""The duplicate check of a new customer account, with 1,000 accounts and then with 50,000.

    .venv/bin/python bench/duplicate_check.py [--accounts 50000] [--database-url postgres://.../hub_bench_duplicates]

``customer_duplicates_find`` (canonical/services/duplicates.py) runs for every account the CRM
creates, inside the CRM's request. Goal (issue 4): indexed, so it costs about the same whatever the
number of accounts. Measured in this process against PostgreSQL (no HTTP: the check's own cost):
the same 400 probe accounts (half of them with a twin: a name variant, the tax id or the street
address of an existing account) are checked with 1,000 accounts loaded, then again with 50,000;
the baseline is the small table in the same run. Verdict: p95 with the large table below 25 ms and
at most twice the p95 with the small one.

The database is dropped, created and migrated each run; accounts are loaded in bulk.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


def _ms_percentile(latencies: list[float], p: float) -> float:
    """Nearest-rank percentile in milliseconds (bench.common.percentile)."""
    return common.percentile(latencies, p) * 1000


DEFAULT_URL = os.environ.get("BENCH_DUPLICATES_DATABASE_URL",
                             "postgres://postgres@127.0.0.1:5432/hub_bench_duplicates")
SMALL = 1_000
PROBES = 400
GOAL_P95_MS = 25.0
GOAL_GROWTH = 2.0

SURNAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
            "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
            "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
            "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green"]
PLACES = ["Lakeview", "Riverside", "Harbor", "Summit", "Pinecrest", "Oakwood", "Brookfield", "Fairview", "Westgate",
          "Northgate", "Eastside", "Hillcrest", "Meadow", "Canyon", "Prairie", "Coastal", "Granite", "Cedar"]
TRADES = ["Plumbing", "Mechanical", "HVAC", "Electric", "Supply", "Pipe & Valve", "Heating", "Builders",
          "Contractors", "Refrigeration", "Fire Protection", "Industrial", "Utility Services", "Irrigation"]
SUFFIXES = ["Inc.", "LLC", "Co.", "Corp.", "Ltd.", ""]
STREETS = ["Main", "Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park", "Industrial"]
KINDS = ["St", "Ave", "Rd", "Blvd", "Dr", "Way"]


def _account(rng: random.Random, n: int) -> tuple[dict, dict]:
    head = rng.choice(SURNAMES if rng.random() < 0.7 else PLACES)
    name = " ".join(p for p in (head, rng.choice(TRADES), rng.choice(TRADES) if rng.random() < 0.3 else "",
                                rng.choice(SUFFIXES)) if p)
    customer = {"account_number": f"B{n:07d}", "name": f"{name} {n}" if rng.random() < 0.5 else name,
                "tax_id": f"{rng.randint(10, 99)}-{n:07d}"}
    address = {"kind": "billing", "line1": f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(KINDS)}",
               "city": "Springfield", "postal_code": f"{rng.randint(10000, 99999)}", "country": "US",
               "is_default": True}
    return customer, address


def _load(start: int, count: int, rng: random.Random) -> None:
    from canonical.models import Address, Customer, name_key, tax_key

    batch = 5_000
    for first in range(start, start + count, batch):
        plans = [_account(rng, n) for n in range(first, min(first + batch, start + count))]
        rows = []
        for data, _ in plans:
            row = Customer(**data)
            row.normalised_name = ""
            row.name_key, row.tax_key = name_key(row.name), tax_key(row.tax_id)
            row.name_block = row.name_key[:6]
            rows.append(row)
        Customer.objects.bulk_create(rows)
        Address.objects.bulk_create(Address(customer=row, **address) for row, (_, address) in zip(rows, plans, strict=True))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE canonical_customer")
        cursor.execute("ANALYZE canonical_address")


def _probes(rng: random.Random) -> list:
    """400 new pending accounts: half twins of loaded accounts (a name variant, the tax id, or the
    address with a similar name), half accounts of their own."""
    from canonical.models import Address, Customer

    loaded = list(Customer.objects.filter(account_number__startswith="B").order_by("?")[: PROBES // 2]
                  .prefetch_related("addresses"))
    probes = []
    for n, original in enumerate(loaded):
        way = n % 3
        name = original.name.upper().replace(" INC.", ", INC") if way != 1 else f"{original.name} Holdings"
        probe = Customer.objects.create(account_number=f"P{n:06d}", name=name, status="pending",
                                        tax_id=original.tax_id if way == 1 else "")
        address = original.addresses.all()[0]
        if way == 2:
            Address.objects.create(customer=probe, kind="billing", line1=address.line1.upper(), city=address.city,
                                   postal_code=address.postal_code)
        probes.append(probe)
    for n in range(PROBES // 2):
        data, address = _account(rng, 9_000_000 + n)
        probe = Customer.objects.create(**{**data, "account_number": f"Q{n:06d}", "status": "pending"})
        Address.objects.create(customer=probe, **address)
        probes.append(probe)
    return probes


def _measure(probes) -> tuple[list[float], int]:
    from canonical.services.duplicates import customer_duplicates_find

    for probe in probes[:20]:  # warm-up: plans cached, pages in memory
        customer_duplicates_find(customer=probe)
    latencies, found = [], 0
    for probe in probes:
        started = time.perf_counter()
        candidates = customer_duplicates_find(customer=probe)
        latencies.append(time.perf_counter() - started)
        found += bool(candidates)
    return latencies, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--accounts", type=int, default=50_000)
    args = parser.parse_args()
    common.database_fresh(args.database_url)
    rng = random.Random(4)

    _load(0, SMALL, rng)
    probes = _probes(rng)
    small, small_found = _measure(probes)
    started = time.perf_counter()
    _load(SMALL, args.accounts - SMALL, rng)
    loaded_in = time.perf_counter() - started
    large, large_found = _measure(probes)

    print()
    print("== Duplicate check of a new account (customer_duplicates_find), PostgreSQL, in process ==")
    print(f"   {PROBES} probe accounts (half with a twin); {args.accounts - SMALL} accounts loaded in "
          f"{loaded_in:.0f} s between the runs; {common.machine_load()}")
    print(f"   {'accounts':>9s}  {'p50 ms':>7s}  {'p95 ms':>7s}  {'p99 ms':>7s}  {'flagged':>7s}")
    for label, latencies, found in ((SMALL, small, small_found), (args.accounts, large, large_found)):
        print(f"   {label:9d}  {_ms_percentile(latencies, 50):7.2f}  {_ms_percentile(latencies, 95):7.2f}  "
              f"{_ms_percentile(latencies, 99):7.2f}  {found:7d}")
    growth = _ms_percentile(large, 95) / max(_ms_percentile(small, 95), 1e-6)
    passed = _ms_percentile(large, 95) < GOAL_P95_MS and growth <= GOAL_GROWTH
    print(f"   p95 grows {growth:.2f}× from {SMALL} to {args.accounts} accounts "
          f"(goal: < {GOAL_P95_MS:g} ms and ≤ {GOAL_GROWTH:g}×): {'PASS' if passed else 'MISS'}")


if __name__ == "__main__":
    main()
