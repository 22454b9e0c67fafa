"""Connectors: the hub's link to one external system, with its transport, auth and resilience settings."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from canonical.models import System


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound (hub → partner)"
    INBOUND = "inbound", "Inbound (partner → hub)"
    BOTH = "both", "Both directions"


class AuthType(models.TextChoices):
    NONE = "none", "None"
    BEARER = "bearer", "Bearer token"
    BASIC = "basic", "HTTP basic"
    API_KEY_HEADER = "api_key_header", "API key header"
    HMAC = "hmac", "HMAC-SHA256 signature only"


class BreakerState(models.TextChoices):
    CLOSED = "closed", "Closed (sending)"
    OPEN = "open", "Open (waiting for cool-down)"
    HALF_OPEN = "half_open", "Half-open (one probe in flight)"


class Connector(models.Model):
    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="connectors")
    kind = models.CharField(max_length=30, help_text="Registered connector kind, e.g. 'webhook' or 'rest'.")
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    base_url = models.URLField(max_length=500, blank=True)
    settings = models.JSONField(default=dict, blank=True, help_text="Kind-specific settings.")

    auth_type = models.CharField(max_length=20, choices=AuthType.choices, default=AuthType.NONE)
    auth_username = models.CharField(max_length=120, blank=True, help_text="User name for HTTP basic.")
    auth_header_name = models.CharField(max_length=80, blank=True, help_text="Header for API key auth.")
    secret_ref = models.CharField(
        max_length=2000, blank=True,
        help_text="The credential: 'env:VARIABLE' or an encrypted 'enc:…' value. Never stored in plain text.",
    )
    signing_secret_ref = models.CharField(
        max_length=2000, blank=True,
        help_text="HMAC-SHA256 signing secret ('env:…' or 'enc:…'); signs outbound, verifies inbound.",
    )

    timeout_seconds = models.FloatField(default=10.0)
    max_attempts = models.PositiveIntegerField(default=8)
    backoff_base_seconds = models.FloatField(default=2.0)
    backoff_cap_seconds = models.FloatField(default=3600.0)
    backoff_jitter = models.BooleanField(default=True, help_text="Full jitter on the exponential backoff.")
    rate_limit_per_second = models.FloatField(null=True, blank=True, help_text="Shared by all workers; empty = none.")
    breaker_failure_threshold = models.PositiveIntegerField(default=5)
    breaker_cooldown_seconds = models.PositiveIntegerField(default=60)

    breaker_state = models.CharField(max_length=10, choices=BreakerState.choices, default=BreakerState.CLOSED)
    breaker_failures = models.PositiveIntegerField(default=0, help_text="Consecutive failures.")
    breaker_opened_at = models.DateTimeField(null=True, blank=True)
    breaker_probe_until = models.DateTimeField(
        null=True, blank=True, help_text="While half-open: the probe's claim; another worker may probe after it."
    )

    verify_inbound_signature = models.BooleanField(default=False)
    signature_tolerance_seconds = models.PositiveIntegerField(default=300)
    message_id_header = models.CharField(max_length=80, blank=True, default="X-Message-ID")
    message_id_field = models.CharField(
        max_length=200, blank=True,
        help_text="JSON pointer to the sender's message id in the body, read instead of the header: /message_id "
                  "(the field every message type's schema has), or a field of the partner's shape where an inbound "
                  "mapping translates it.",
    )
    process_inbound_async = models.BooleanField(default=False, help_text="Answer 202 and process in a worker.")

    enabled = models.BooleanField(default=True)
    paused = models.BooleanField(default=False, help_text="Deliveries wait (are not failed) while paused.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(timeout_seconds__gt=0), name="connector_timeout_positive"),
            models.CheckConstraint(condition=Q(max_attempts__gte=1), name="connector_attempts_at_least_one"),
            models.CheckConstraint(
                condition=Q(rate_limit_per_second__isnull=True) | Q(rate_limit_per_second__gt=0),
                name="connector_rate_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class RateWindow(models.Model):
    """The shared rate limit of one connector, as a single row every worker updates atomically.

    ``slot`` is the earliest time (microseconds since the epoch) the next request may start;
    a sender takes it with one conditional UPDATE that moves it on by 1/rate seconds. Requests
    are thus spaced at least 1/rate apart, so no sliding second ever holds more than the rate
    (a fixed per-second window would let a burst at the end of one second meet one at the start
    of the next). ``count`` is the number of requests let through, for the admin.
    """

    connector = models.OneToOneField(Connector, on_delete=models.CASCADE, related_name="+")
    slot = models.BigIntegerField(default=0, help_text="Earliest start of the next request, in µs since the epoch.")
    count = models.PositiveBigIntegerField(default=0, help_text="Requests let through so far.")

    def __str__(self) -> str:
        return f"{self.connector_id}: next at {self.slot}, {self.count} sent"
