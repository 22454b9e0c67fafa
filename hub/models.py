"""Operational records of the hub itself."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by a scheduled django-q2 task; /readyz reads it to know a worker is alive."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%H:%M:%S}"
