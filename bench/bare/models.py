"""The one table the baseline endpoint writes to."""

from django.db import models


class BareRow(models.Model):
    name = models.CharField(max_length=80)
    value = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
