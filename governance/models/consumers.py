"""Partner applications (consumers) and their API keys, stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import models
from django.utils import timezone

from canonical.models import System

KEY_PREFIX_LENGTH = 8


def hash_key(raw_key: str) -> str:
    # Keys are 32 random bytes, so a fast digest is enough: there is nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class Consumer(models.Model):
    """A partner application that calls the hub. It acts for exactly one system."""

    name = models.CharField(max_length=120, unique=True)
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="consumers")
    contact_email = models.EmailField(blank=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    rate_plan = models.ForeignKey(
        "governance.RatePlan", null=True, blank=True, on_delete=models.SET_NULL, related_name="consumers",
        help_text="Limits for all of this consumer's calls, unless a subscription has its own plan.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.system.code})"


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, consumer__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """An API key: ``hub_<prefix>_<secret>``. Only the prefix and a hash are stored."""

    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=80, default="default")
    prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_to", editable=False,
        help_text="The key this one replaced; it stays valid until the end of the overlap window.",
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"hub_{self.prefix}_… ({self.consumer.name})"

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """Return (raw key, prefix, hash). The raw key is shown once and never stored."""
        prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
        raw = f"hub_{prefix}_{secrets.token_urlsafe(32)}"
        return raw, prefix, hash_key(raw)

    def matches(self, raw_key: str) -> bool:
        return hmac.compare_digest(self.hashed_key, hash_key(raw_key))

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"
