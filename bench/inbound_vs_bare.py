"""Inbound shipment milestones over REST against a bare DRF insert, served by the same gunicorn in the same run.

    .venv/bin/python bench/inbound_vs_bare.py [--database-url postgres://.../hub_bench_inbound]

Goal (issue 3): ``POST /api/v1/inbound/wms/shipment.milestone`` reaches at least 0.4 of the requests
per second of the bare DRF endpoint (bench/bare, the baseline of bench/upsert_vs_bare.py), 16
clients, ``gunicorn -w 2``, measured in alternating slices. Every message has its own X-Message-ID,
so each is stored, de-duplicated (a new id), validated against its JSON Schema, applied through the
canonical milestone service and answered with its outcome; none is a repeat. The partner is a WMS
consumer subscribed to the hub's published API through governance.services, so every call passes
the runtime policy (key, subscription, lifecycle, rate plan, usage counting) as a partner's would;
the bare endpoint lives outside /api/ and only authenticates the key. The database is dropped,
created and migrated each run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

GOAL_RATIO = 0.4
SHIPMENTS = common.SHIPMENTS
DEFAULT_URL = os.environ.get("BENCH_INBOUND_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench_inbound")
PATH = "/api/v1/inbound/wms/shipment.milestone"

BASELINE_DESCRIPTION = (
    "baseline: POST /bench/bare/rows, a DRF CreateAPIView + ModelSerializer inserting one row into a "
    "one-table model (bench.bare), with the same API-key authentication (one key lookup) and "
    "IsAuthenticated, through the hub's middleware stack (outside /api/, so no partner policy)"
)
TARGET_DESCRIPTION = (
    "target: a WMS shipment.milestone message for one of 200 shipments, each with a new X-Message-ID: "
    "policy (key, subscription, rate plan, usage), raw message stored and committed first, message id "
    "claimed, JSON Schema, milestone service (system-of-record check, external-id lookup, shipment row "
    "lock, milestone insert, status, business event in the outbox), outcome stored"
)


def _prepare() -> tuple[list[dict], list[dict]]:

    from canonical.context import Actor
    from canonical.models import (
        Domain,
        System,
        SystemOfRecord,
    )
    from connectors.models import Connector
    from governance.hub_api import hub_api_ensure_published
    from governance.models import RatePlan
    from governance.services import api_key_issue, consumer_create, consumer_subscribe_all, rate_plan_assign

    actor = Actor.hub()
    erp = System.objects.create(code="erp", name="ERP", kind="erp")
    wms = System.objects.create(code="wms", name="Warehouse", kind="wms")
    for domain in Domain.values:
        owner = wms if domain in {Domain.SHIPMENTS, Domain.INVENTORY} else erp
        SystemOfRecord.objects.create(domain=domain, system=owner)
    # The WMS's inbound connector, as a deployment has it: messages de-duplicated by X-Message-ID,
    # processed synchronously, no signature (the API key authenticates), no mapping (canonical shape).
    Connector.objects.create(code="wms-inbound", name="WMS inbound", system=wms, kind="webhook",
                             direction="inbound", message_id_header="X-Message-ID")

    hub_api_ensure_published(actor=actor)
    consumer = consumer_create(name="bench-wms", system=wms, actor=actor)
    subscriptions = consumer_subscribe_all(consumer=consumer, actor=actor)
    if not subscriptions or any(s.status != "active" for s in subscriptions):
        raise SystemExit(f"The WMS consumer is not subscribed: {[(str(s.version), s.status) for s in subscriptions]}")
    # Limits far above what the run reaches: every call is counted against them, none is refused.
    plan = RatePlan.objects.create(name="bench", burst=1_000_000, per_minute=60_000_000, per_day=1_000_000_000)
    rate_plan_assign(plan=plan, consumer=consumer, actor=actor)
    key = api_key_issue(consumer=consumer, actor=actor).raw_key

    common.milestone_shipments_create(erp=erp, wms=wms)

    auth = {"Authorization": f"Bearer {key}"}
    target = [
        {"method": "POST", "path": PATH, "headers": {**auth, "X-Message-ID": "bench-{n}"},
         "body": json.dumps({"shipment_id": f"WMS-SH-{i}", "code": "in_transit", "occurred_at": "{ts}",
                             "location_text": "Depot {n}"})}
        for i in range(SHIPMENTS)
    ]
    return target, common.bare_requests(key)


def _probe(server: common.Gunicorn, spec: dict) -> tuple[int, str]:
    """One request as the load generator will make it (n = -1), so a set-up mistake shows at once."""
    body = spec["body"].replace("{n}", "-1").replace("{ts}", "2024-12-31T00:00:00+00:00").encode()
    headers = {k: v.replace("{n}", "-1") for k, v in spec["headers"].items()}
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{spec['path']}", data=body, method="POST",
                                     headers={**headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()[:300]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()[:600]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL database to (re)create")
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per endpoint (default 3)")
    common.add_load_arguments(parser)
    args = parser.parse_args(argv)

    common.database_fresh(args.database_url)
    target, bare = _prepare()
    common.release_connections()

    load = {"clients": args.clients, "warmup": args.warmup, "duration": args.duration}
    with common.Gunicorn(args.database_url, workers=args.workers) as server:
        status, body = _probe(server, target[0])
        if status not in (200, 201):
            raise SystemExit(f"The set-up is wrong: a milestone message was answered {status}: {body}")
        baseline, measured = common.load_interleaved(
            server, [("bare: POST /bench/bare/rows", bare), (f"inbound: POST {PATH}", target)],
            rounds=args.rounds, **load,
        )

    from connectors.models import InboundMessage

    stored = InboundMessage.objects.count()
    processed = InboundMessage.objects.filter(status="processed").count()
    common.release_connections()

    common.print_header("Inbound shipment milestones over REST vs a bare DRF insert", workers=args.workers, **load)
    print(f"   measured in {args.rounds} alternating slices per endpoint (bare, inbound, bare, inbound, ...)")
    print(f"   {BASELINE_DESCRIPTION}")
    print(f"   {TARGET_DESCRIPTION}")
    common.print_table([baseline, measured])
    print(f"   inbound messages stored: {stored:,}, processed: {processed:,} (warm-up and probe included)")
    ratio = measured.rps / baseline.rps if baseline.rps else 0.0
    passed = ratio >= GOAL_RATIO
    print(f"   req/s ratio inbound/bare = {ratio:.2f}   goal >= {GOAL_RATIO}   "
          f"{common.verdict(passed, baseline, measured)}")
    print(f"   p99: inbound {measured.percentile_ms(99):.1f} ms, bare {baseline.percentile_ms(99):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
