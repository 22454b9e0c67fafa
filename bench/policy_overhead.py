"""Runtime policy overhead: the same partner read with the governance policy on and off, in the same run.

    .venv/bin/python bench/policy_overhead.py [--database-url postgres://.../hub_bench_policy]

Goal (issue 5): the read through the policy (API key, subscription, lifecycle, rate plan with its
counters, usage counting) reaches at least 0.85 of the requests per second of the same read with
the policy off (HUB_POLICY_ENABLED=false). Two gunicorn servers (2 workers each) run side by side on
the same database and are measured in alternating slices, 16 clients each, so machine noise lands
on both. The database is dropped, created and migrated each run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

GOAL_RATIO = 0.85
CUSTOMERS = 200  # reads rotate over these
DEFAULT_URL = os.environ.get("BENCH_POLICY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench_policy")
POLICY_MIDDLEWARE = "governance.policy.middleware.GovernancePolicyMiddleware"


class Server(common.Gunicorn):
    """common.Gunicorn with extra environment (the policy switch, a settings module)."""

    def __init__(self, url: str, *, workers: int, env: dict[str, str]):
        super().__init__(url, workers=workers)
        self.extra_env = env

    def __enter__(self) -> Server:
        command = [str(common.VENV_BIN / "gunicorn"), "hub.wsgi", "-w", str(self.workers),
                   "-b", f"127.0.0.1:{self.port}", "--timeout", "60"]
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in __exit__
        env = {**common.server_environment(self.url), **self.extra_env}
        self.process = subprocess.Popen(command, cwd=common.REPO, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self._wait_ready()
        return self


def _prepare() -> tuple[list[dict], str, dict]:
    """Customers to read, the hub's API registered, and a subscribed, rate-planned CRM consumer."""
    from canonical.context import Actor
    from canonical.models import Customer, Domain, System, SystemOfRecord
    from governance.hub_api import hub_api_register
    from governance.models import ApiSubscription, RatePlan
    from governance.services import api_key_issue, consumer_create, consumer_subscribe_all

    crm = System.objects.create(code="crm", name="CRM", kind="crm")
    SystemOfRecord.objects.create(domain=Domain.CUSTOMERS, system=crm)
    ids = [Customer.objects.create(account_number=f"B{i:05d}", name=f"Bench customer {i}").pk
           for i in range(CUSTOMERS)]
    registered = hub_api_register(actor=Actor.hub(), publish=True)
    if not any(r.outcome == "published" and r.product.slug == "hub-canonical" for r in registered):
        raise SystemExit(f"The hub's API did not publish: {[(r.product.slug, r.outcome, r.reasons) for r in registered]}")
    consumer = consumer_create(name="bench-crm", system=crm, actor=Actor.hub())
    consumer_subscribe_all(consumer=consumer, actor=Actor.hub())
    # Limits far above what the run reaches: every call is counted against them, none is refused.
    plan = RatePlan.objects.create(name="bench", burst=1_000_000, per_minute=60_000_000, per_day=1_000_000_000)
    ApiSubscription.objects.filter(consumer=consumer).update(rate_plan=plan)
    key = api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key
    requests = [{"method": "GET", "path": f"/api/v1/customers/{pk}", "headers": {"Authorization": f"Bearer {key}"}}
                for pk in ids]
    unsubscribed = consumer_create(name="bench-unsubscribed", system=crm, actor=Actor.hub())
    probe = {"key": api_key_issue(consumer=unsubscribed, actor=Actor.hub()).raw_key, "path": requests[0]["path"]}
    return requests, key, probe


def _status(server: common.Gunicorn, path: str, key: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _counted() -> tuple[int, int]:
    from django.db.models import Sum

    from governance.models import RateWindow, UsageCounter

    usage = UsageCounter.objects.aggregate(n=Sum("count"))["n"] or 0
    return usage, RateWindow.objects.count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL database to (re)create")
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per server (default 3)")
    parser.add_argument("--settings", default="hub.settings", help="Django settings module of the servers")
    common.add_load_arguments(parser)
    args = parser.parse_args(argv)

    common.database_recreate(args.database_url)
    # common.django_setup, with the settings module of the servers.
    os.environ.update({k: v for k, v in common.server_environment(args.database_url).items() if k != "PATH"})
    os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    import django

    django.setup()
    from django.conf import settings

    if POLICY_MIDDLEWARE not in settings.MIDDLEWARE:
        raise SystemExit(f"{POLICY_MIDDLEWARE} is not in {args.settings}.MIDDLEWARE: the policy is not installed.")
    common.migrate()
    requests, _key, probe = _prepare()
    common.release_connections()

    base_env = {"DJANGO_SETTINGS_MODULE": args.settings, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    load = {"clients": args.clients, "warmup": args.warmup, "duration": args.duration}
    label_on, label_off = "policy on:  GET /api/v1/customers/{id}", "policy off: GET /api/v1/customers/{id}"
    with Server(args.database_url, workers=args.workers, env={**base_env, "HUB_POLICY_ENABLED": "true"}) as on, \
            Server(args.database_url, workers=args.workers, env={**base_env, "HUB_POLICY_ENABLED": "false"}) as off:
        # The switch really switches: an unsubscribed key is refused by one server and served by the other.
        refused, served = _status(on, probe["path"], probe["key"]), _status(off, probe["path"], probe["key"])
        if (refused, served) != (403, 200):
            raise SystemExit(f"Policy switch not effective: unsubscribed key got {refused} (on) and {served} (off).")
        usage_before, _ = _counted()
        merged: dict[str, common.Measurement] = {}
        for round_index in range(args.rounds):
            for label, server in ((label_on, on), (label_off, off)):
                warmup = args.warmup if round_index == 0 else min(1.0, args.warmup)
                m = common.load(server, label, requests, clients=args.clients, warmup=warmup,
                                duration=args.duration / args.rounds, first_n=round_index * 10_000_000)
                total = merged.setdefault(label, common.Measurement(label, 0, 0.0, [], {}))
                total.requests += m.requests
                total.seconds += m.seconds
                total.latencies += m.latencies
                total.capped = total.capped or m.capped
                for status, count in m.statuses.items():
                    total.statuses[status] = total.statuses.get(status, 0) + count
                total.error_samples.update({k: v for k, v in m.error_samples.items() if k not in total.error_samples})
        time.sleep(2.5)  # the servers write their buffered usage counts once a second
        usage_after, windows = _counted()
    measured, baseline = merged[label_on], merged[label_off]

    common.print_header("Runtime policy overhead (same read, policy on vs off)", workers=args.workers, **load)
    print(f"   two servers side by side, measured in {args.rounds} alternating slices each (on, off, on, off, ...)")
    print("   policy on: key, subscription to hub-canonical 1.x, lifecycle, rate plan (second/minute/day windows "
          "counted in the database), usage counted per consumer/version/day/status class")
    flush = getattr(settings, "HUB_USAGE_FLUSH_SECONDS", 1)
    print(f"   usage counts buffered per worker and written every {flush} s (HUB_USAGE_FLUSH_SECONDS)")
    print(f"   read: one of {CUSTOMERS} customers by id, as a CRM consumer")
    common.print_table([measured, baseline])
    ratio = measured.rps / baseline.rps if baseline.rps else 0.0
    print(f"   usage counted by the policy during the run: {usage_after - usage_before} calls "
          f"(all policy-on requests, warm-up included), in {windows} rate-window rows")
    print(f"   ratio policy-on/policy-off = {ratio:.2f} req/s   goal >= {GOAL_RATIO}   "
          f"{common.verdict(ratio >= GOAL_RATIO, measured, baseline)}")
    print(f"   p99: on {measured.percentile_ms(99):.1f} ms, off {baseline.percentile_ms(99):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
