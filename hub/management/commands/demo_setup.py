"""Build the whole demo hub: data, integration configuration, API catalog and partner keys (idempotent).

Each app owns its part; this command, in the project on top of them, runs them in order:

1. ``seed_demo`` (canonical): the distributor's systems, customers, catalogue, stock and history;
2. ``hub_config apply connectors/config/demo.yaml`` (connectors): connectors, mappings, subscriptions;
   then ``scan_duplicates`` puts the seeded duplicate accounts in the data stewards' queue, and
   hub.demo opens, through the hub's flows, what the history leaves waiting (the finance exceptions of
   its credit holds and disputes) and places one live drop-ship order whose purchase orders give the
   failed-sync and supplier queues something real (the Northwind partner is set to fail);
3. the governance registry: the hub's own API products published from the live schema, the demo
   catalog of other teams' APIs with their history (governance.demo), and the canonical event
   contracts learnt from the events the history wrote;
4. one partner consumer per demo system, subscribed to every published version of the hub's API,
   with an API key. Keys are shown once, so new ones are written to ``var/demo-api-keys.txt``
   (readable by you only) for the README's curl examples; a consumer that exists keeps its keys;
5. 30 days of API usage counters for the board's pages.
"""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from canonical.context import Actor
from canonical.models import System
from connectors.config import DEMO_CONFIG
from governance.demo import demo_catalog_build, demo_contract_owners, demo_usage_build
from governance.hub_api import HUB_PRODUCTS, hub_api_register
from governance.models import Consumer
from governance.services import api_key_issue, consumer_create, consumer_subscribe_all
from hub.demo import demo_work_open

DEMO_KEYS_FILE = Path(settings.BASE_DIR) / "var" / "demo-api-keys.txt"


def demo_consumer_name(system: System) -> str:
    return f"{system.name} (demo)"


class Command(BaseCommand):
    help = "Build the demo hub: demo data, integration configuration, API catalog and partner API keys."

    def add_arguments(self, parser):
        parser.add_argument("--keys-file", type=Path, default=DEMO_KEYS_FILE,
                            help="Where new demo API keys are written (they are shown only once).")
        parser.add_argument("--force", action="store_true", help="Run even though HUB_PRODUCTION is on.")

    def handle(self, *args, keys_file: Path, force: bool, **options):
        if getattr(settings, "PRODUCTION", False) and not force:
            raise CommandError("Refusing to load demo data: HUB_PRODUCTION is on. Use --force to override.")
        verbosity = options.get("verbosity", 1)
        call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)
        out = StringIO()
        call_command("hub_config", "apply", str(DEMO_CONFIG), stdout=out, stderr=self.stderr)
        summary = out.getvalue().strip().splitlines()
        self.stdout.write(f"Integration configuration: {summary[-1] if summary else 'applied'}")
        # The seeded CRM/ERP twins go to the data stewards' queue (hub.workflows.onboarding).
        call_command("scan_duplicates", stdout=self.stdout, stderr=self.stderr)
        work = demo_work_open()
        if work.credit_holds or work.disputes:
            self.stdout.write(f"Finance exceptions opened for {work.credit_holds} held orders and {work.disputes} "
                              "disputed invoices.")
        if work.live_order is not None:
            suppliers = ", ".join(f"{po.number} to {po.supplier.code}" for po in work.purchase_orders)
            self.stdout.write(f"Live order {work.live_order.number} placed: drop-ship purchase orders {suppliers}"
                              + (f"; supplier date miss exception {work.date_miss.pk} opened." if work.date_miss
                                 else "."))
        actor = Actor.hub()
        # The hub's API as this hub serves it: published the first time, and after an upgrade its
        # new products, majors and minors (what has not changed stays as it is).
        changes = []
        for result in hub_api_register(actor=actor, publish=True):
            if result.outcome == "refused":
                self.stderr.write(f"The hub's API {result.label} was not registered: " + "; ".join(result.reasons))
            elif result.outcome != "unchanged":
                changes.append(f"{result.label} {result.state}")
        if changes:
            self.stdout.write("The hub's API: " + ", ".join(changes) + ".")
        catalog = demo_catalog_build(actor=actor)
        call_command("register_event_contracts", stdout=StringIO() if verbosity < 2 else self.stdout)
        demo_contract_owners()
        self.stdout.write(f"API catalog: the hub's API products are published, with {len(catalog.products)} demo "
                          f"products of other teams ({len(catalog.steps)} steps this run); event contracts "
                          "registered.")
        issued = self._partner_keys(actor)
        if issued:
            keys_file.parent.mkdir(parents=True, exist_ok=True)
            with open(keys_file, "a", encoding="utf-8") as handle:
                for system_code, name, raw in issued:
                    handle.write(f"{system_code}\t{raw}\t{name}\n")
            os.chmod(keys_file, 0o600)
            self.stdout.write(f"Partner API keys for {len(issued)} demo systems written to {keys_file}.")
        elif keys_file.exists():
            self.stdout.write(f"Partner API keys: see {keys_file}.")
        self.stdout.write(f"API usage: {demo_usage_build()} daily counters added for the last 30 days.")

    def _partner_keys(self, actor: Actor) -> list[tuple[str, str, str]]:
        """A subscribed consumer with a key for each active demo system that has none yet."""
        issued = []
        for system in System.objects.filter(is_active=True).order_by("code"):
            name = demo_consumer_name(system)
            consumer = Consumer.objects.filter(name=name).first()
            if consumer is None:
                consumer = consumer_create(name=name, system=system, contact_email=f"{system.code}@demo.example",
                                           actor=actor)
                issued.append((system.code, name, api_key_issue(consumer=consumer, actor=actor).raw_key))
            consumer_subscribe_all(consumer=consumer, actor=actor, product_slugs=[p.slug for p in HUB_PRODUCTS])
        return issued
