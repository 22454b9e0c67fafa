"""Create a partner consumer for a system, subscribe it, and print its API key (shown once)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.models import System
from governance.models import ApiProduct, ApiVersion, Consumer, Lifecycle
from governance.services import (
    GovernanceError,
    api_key_issue,
    consumer_create,
    consumer_subscribe_all,
    subscription_request,
)

_RELEASE_LINE = re.compile(r"^v?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?$")


def version_from_label(label: str) -> ApiVersion:
    """'PRODUCT@VERSION' → the version; '@1' or '@1.2' picks the newest published release of that line."""
    slug, sep, wanted = label.partition("@")
    if not sep or not slug or not wanted:
        raise CommandError(f"--subscribe takes PRODUCT@VERSION (e.g. hub-canonical@1.0.0), not '{label}'.")
    product = ApiProduct.objects.filter(slug=slug).first()
    if product is None:
        known = ", ".join(ApiProduct.objects.values_list("slug", flat=True)) or "none yet"
        raise CommandError(f"No API product '{slug}'. Known products: {known}.")
    exact = product.versions.filter(version=wanted).first()
    if exact is not None:
        return exact
    line = _RELEASE_LINE.match(wanted)
    if line is not None:
        fields = {"major": int(line["major"])}
        if line["minor"] is not None:
            fields["minor"] = int(line["minor"])
        found = product.versions.filter(status=Lifecycle.PUBLISHED, **fields).order_by("-minor", "-patch").first()
        if found is not None:
            return found
    published = ", ".join(product.versions.filter(status=Lifecycle.PUBLISHED).values_list("version", flat=True))
    raise CommandError(f"{product.name} has no version '{wanted}'. Published: {published or 'none'}.")


class Command(BaseCommand):
    help = (
        "Create a consumer (partner application) acting for a system, print a new API key for it, and "
        "optionally subscribe it to API versions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--system", required=True, help="Code of the system the consumer acts for.")
        parser.add_argument("--name", required=True, help="Unique name of the partner application.")
        parser.add_argument("--email", default="", help="Contact e-mail of the partner's team.")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Key expiry; none by default.")
        parser.add_argument(
            "--key-only", action="store_true", help="Print only the key (for scripts)."
        )
        parser.add_argument(
            "--subscribe", action="append", default=[], metavar="PRODUCT@VERSION",
            help="Subscribe to this API version (repeatable); PRODUCT@1 takes the newest published 1.x.",
        )
        parser.add_argument(
            "--subscribe-all", action="store_true", help="Subscribe to every published API version (demos, tests)."
        )

    def handle(self, *args, system, name, email, expires_in_days, key_only, subscribe, subscribe_all, **options):
        try:
            system_obj = System.objects.get(code=system)
        except System.DoesNotExist:
            known = ", ".join(System.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(f"No system with code '{system}'. Known systems: {known}.") from None
        versions = [version_from_label(label) for label in subscribe]
        actor = Actor.hub()
        with transaction.atomic():
            consumer = Consumer.objects.filter(name=name).first()
            if consumer is None:
                consumer = consumer_create(name=name, system=system_obj, contact_email=email, actor=actor)
            elif consumer.system_id != system_obj.pk:
                raise CommandError(
                    f"Consumer '{name}' already exists and acts for system '{consumer.system.code}', not '{system}'."
                )
            try:
                subscriptions = [subscription_request(consumer=consumer, version=v, actor=actor) for v in versions]
                if subscribe_all:
                    subscriptions += consumer_subscribe_all(consumer=consumer, actor=actor)
            except GovernanceError as exc:
                raise CommandError(f"{exc} {' '.join(exc.reasons)}".strip()) from None
            expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
            issued = api_key_issue(consumer=consumer, expires_at=expires_at, actor=actor)
        if key_only:
            self.stdout.write(issued.raw_key)
            return
        self.stdout.write(f"Consumer: {consumer.name} (system {system_obj.code})")
        self.stdout.write(f"API key (shown once, store it now): {issued.raw_key}")
        self.stdout.write(f"Key prefix: {issued.key.prefix}  expires: {expires_at.isoformat() if expires_at else 'never'}")
        for subscription in subscriptions:
            self.stdout.write(f"Subscribed to {subscription.version.label}: {subscription.status}")
        if subscribe_all and not subscriptions:
            self.stdout.write("No published API versions to subscribe to yet (run manage.py register_hub_api --publish).")
