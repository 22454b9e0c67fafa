"""Create a partner consumer for a system and print its API key (shown once)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from canonical.context import Actor
from canonical.models import System
from governance.models import Consumer
from governance.services import api_key_issue, consumer_create


class Command(BaseCommand):
    help = "Create a consumer (partner application) acting for a system, and print a new API key for it."

    def add_arguments(self, parser):
        parser.add_argument("--system", required=True, help="Code of the system the consumer acts for.")
        parser.add_argument("--name", required=True, help="Unique name of the partner application.")
        parser.add_argument("--email", default="", help="Contact e-mail of the partner's team.")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Key expiry; none by default.")
        parser.add_argument(
            "--key-only", action="store_true", help="Print only the key (for scripts)."
        )

    def handle(self, *args, system, name, email, expires_in_days, key_only, **options):
        try:
            system_obj = System.objects.get(code=system)
        except System.DoesNotExist:
            known = ", ".join(System.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(f"No system with code '{system}'. Known systems: {known}.") from None
        actor = Actor.hub()
        consumer = Consumer.objects.filter(name=name).first()
        if consumer is None:
            consumer = consumer_create(name=name, system=system_obj, contact_email=email, actor=actor)
        elif consumer.system_id != system_obj.pk:
            raise CommandError(
                f"Consumer '{name}' already exists and acts for system '{consumer.system.code}', not '{system}'."
            )
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        issued = api_key_issue(consumer=consumer, expires_at=expires_at, actor=actor)
        if key_only:
            self.stdout.write(issued.raw_key)
            return
        self.stdout.write(f"Consumer: {consumer.name} (system {system_obj.code})")
        self.stdout.write(f"API key (shown once, store it now): {issued.raw_key}")
        self.stdout.write(f"Key prefix: {issued.key.prefix}  expires: {expires_at.isoformat() if expires_at else 'never'}")
