"""Aggregated call counters: usage per consumer, version, day and status class, and rate-limit windows.

Both are updated in place (one row per key, ``count = count + 1``), never a row per call.
"""

from __future__ import annotations

from django.db import models

from governance.models.consumers import Consumer
from governance.models.registry import ApiVersion


class StatusClass(models.TextChoices):
    SUCCESS = "2xx", "2xx"
    REDIRECT = "3xx", "3xx"
    CLIENT_ERROR = "4xx", "4xx"
    SERVER_ERROR = "5xx", "5xx"


class UsageCounter(models.Model):
    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="usage")
    version = models.ForeignKey(ApiVersion, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    status_class = models.CharField(max_length=3, choices=StatusClass.choices)
    count = models.PositiveBigIntegerField(default=0)
    last_called_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "version", "day", "status_class"], name="governance_usage_one_row_per_key"
            ),
        ]
        indexes = [models.Index(fields=["version", "day"], name="governance_usage_version_day")]

    def __str__(self) -> str:
        return f"{self.consumer_id}/{self.version_id} {self.day} {self.status_class}: {self.count}"


class RateWindow(models.Model):
    """The current fixed window of one consumer for one limit (second, minute or day).

    One row per consumer and window kind: the upsert that counts a call resets the count
    when a new window has started, so the table never grows with traffic.
    """

    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="rate_windows")
    period = models.CharField(max_length=6, help_text="second, minute or day.")
    window_start = models.BigIntegerField(help_text="Unix time at which the current window began.")
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "period"], name="governance_rate_window_per_consumer"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer_id} {self.period}@{self.window_start}: {self.count}"
