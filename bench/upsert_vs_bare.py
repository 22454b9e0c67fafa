"""Canonical upsert over REST against a bare DRF insert, served by the same gunicorn in the same run.

    .venv/bin/python bench/upsert_vs_bare.py [--database-url postgres://.../hub_bench]

Goal (issue 2): the upsert reaches at least 0.5 of the bare endpoint's requests per second.
The target is a shipment milestone POST when the hub has that endpoint, otherwise the
CRM's customer upsert (PUT). The database is dropped, created and migrated each run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

GOAL_RATIO = 0.5
SHIPMENTS = common.SHIPMENTS
DEFAULT_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench")

BASELINE_DESCRIPTION = (
    "baseline: POST /bench/bare/rows, a DRF CreateAPIView + ModelSerializer inserting one row into a "
    "one-table model (bench.bare), with the same API-key authentication (one key lookup) and "
    "IsAuthenticated, through the hub's full middleware stack"
)


@dataclass
class Target:
    label: str
    description: str
    requests: list[dict]


def _consumer_key(system, name: str) -> str:
    from canonical.context import Actor
    from governance.services import api_key_issue, consumer_create

    consumer = consumer_create(name=name, system=system, actor=Actor.hub())
    return api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key


def _milestone_endpoint_exists() -> bool:
    from django.urls import Resolver404, resolve

    try:
        match = resolve("/api/v1/systems/wms/shipments/S1/milestones")
    except Resolver404:
        return False
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    return view_class is not None and hasattr(view_class, "post")


def _target_milestones() -> tuple[Target, str]:
    """Milestones from the WMS for shipments of one order, each with its own occurred_at."""

    from canonical.models import (
        Domain,
        System,
        SystemOfRecord,
    )

    erp = System.objects.create(code="erp", name="ERP", kind="erp")
    wms = System.objects.create(code="wms", name="Warehouse", kind="wms")
    for domain in Domain.values:
        owner = wms if domain in {Domain.SHIPMENTS, Domain.INVENTORY} else erp
        SystemOfRecord.objects.create(domain=domain, system=owner)
    key = _consumer_key(wms, "bench-wms")
    common.milestone_shipments_create(erp=erp, wms=wms)
    headers = {"Authorization": f"Bearer {key}"}
    body = json.dumps({"code": "in_transit", "occurred_at": "{ts}", "location_text": "Depot {n}"})
    requests = [
        {"method": "POST", "path": f"/api/v1/systems/wms/shipments/WMS-SH-{i}/milestones", "body": body,
         "headers": headers}
        for i in range(SHIPMENTS)
    ]
    return Target(
        label="upsert: POST /api/v1/systems/wms/shipments/{id}/milestones",
        description="target: a WMS milestone for one of 200 shipments (system-of-record check, external-id "
        "lookup, shipment row lock, milestone insert, status update, business event in the outbox)",
        requests=requests,
    ), key


def _target_customers() -> tuple[Target, str]:
    """Until the milestone endpoint exists: the CRM creates a new customer per request."""
    from canonical.models import Domain, System, SystemOfRecord

    crm = System.objects.create(code="crm", name="CRM", kind="crm")
    SystemOfRecord.objects.create(domain=Domain.CUSTOMERS, system=crm)
    key = _consumer_key(crm, "bench-crm")
    body = json.dumps({"account_number": "B{n}", "name": "Bench customer {n}", "credit_limit": "1000.00"})
    requests = [{"method": "PUT", "path": "/api/v1/systems/crm/customers/BENCH-{n}", "body": body,
                 "headers": {"Authorization": f"Bearer {key}"}}]
    return Target(
        label="upsert: PUT /api/v1/systems/crm/customers/{id}",
        description="target: the CRM's customer upsert, a new account per request (system-of-record check, "
        "external-id lookup and bind, insert, business event in the outbox)",
        requests=requests,
    ), key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL database to (re)create")
    parser.add_argument("--target", choices=["auto", "milestones", "customers"], default="auto")
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per endpoint (default 3)")
    common.add_load_arguments(parser)
    args = parser.parse_args(argv)

    common.database_fresh(args.database_url)
    use_milestones = args.target == "milestones" or (args.target == "auto" and _milestone_endpoint_exists())
    target, key = _target_milestones() if use_milestones else _target_customers()
    bare = common.bare_requests(key)
    common.release_connections()

    load = {"clients": args.clients, "warmup": args.warmup, "duration": args.duration}
    with common.Gunicorn(args.database_url, workers=args.workers) as server:
        baseline, measured = common.load_interleaved(
            server, [("bare: POST /bench/bare/rows", bare), (target.label, target.requests)],
            rounds=args.rounds, **load,
        )

    common.print_header("Canonical upsert over REST vs a bare DRF insert", workers=args.workers, **load)
    print(f"   measured in {args.rounds} alternating slices per endpoint (bare, upsert, bare, upsert, ...)")
    print(f"   {BASELINE_DESCRIPTION}")
    print(f"   {target.description}")
    common.print_table([baseline, measured])
    ratio = measured.rps / baseline.rps if baseline.rps else 0.0
    passed = ratio >= GOAL_RATIO
    print(f"   req/s ratio upsert/bare = {ratio:.2f}   goal >= {GOAL_RATIO}   "
          f"{common.verdict(passed, baseline, measured)}")
    print(f"   p99: upsert {measured.percentile_ms(99):.1f} ms, bare {baseline.percentile_ms(99):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
