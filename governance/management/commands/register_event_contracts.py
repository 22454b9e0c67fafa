"""Register the canonical business event types as event contracts, with schemas generated from their payloads."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from canonical.context import Actor
from governance.services import event_contracts_register_canonical


class Command(BaseCommand):
    help = (
        "Register every event type of canonical.events as an event contract. The schema is generated from the "
        "recorded payloads; a new schema that breaks the contract's compatibility mode is refused and reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sample-size", type=int, default=200, help="Recent events per type to learn from.")

    def handle(self, *args, sample_size, **options):
        result = event_contracts_register_canonical(actor=Actor.hub(), sample_size=sample_size)
        for version in result.registered:
            self.stdout.write(f"{version.contract.event_type}: registered version {version.version}")
        if result.unchanged:
            self.stdout.write(f"unchanged: {', '.join(result.unchanged)}")
        if result.without_samples:
            self.stdout.write(f"no events recorded yet (contract listed, no schema): "
                              f"{', '.join(result.without_samples)}")
        for event_type, refusal in result.refused.items():
            self.stderr.write(f"{event_type}: REFUSED {refusal}")
            for reason in refusal.reasons:
                self.stderr.write(f"  - {reason}")
        if result.refused:
            raise CommandError(f"{len(result.refused)} event type(s) changed incompatibly; see above.")
