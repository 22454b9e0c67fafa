"""A deterministic random source for the demo data: the same seed gives the same distributor."""

from __future__ import annotations

import bisect
import itertools
import random
import string
from datetime import datetime
from decimal import Decimal

_ALNUM = string.ascii_letters + string.digits
_MILLIS_MASK = (1 << 48) - 1
_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)
CENT = Decimal("0.01")


class DemoRandom(random.Random):
    """``random.Random`` with the few helpers the builders share.

    Every part of the demo seeds its own generator from the run's seed and a
    label, so adding a section or changing a batch size does not reshuffle the others.
    """

    @classmethod
    def for_part(cls, seed: int, *labels: object) -> DemoRandom:
        return cls(":".join(str(x) for x in (seed, *labels)))

    def weighted(self, table: WeightedChoice):
        return table.pick(self.random())

    def alnum(self, length: int) -> str:
        return "".join(self.choices(_ALNUM, k=length))

    def digits(self, length: int) -> str:
        return "".join(self.choices(string.digits, k=length))

    def chance(self, probability: float) -> bool:
        return self.random() < probability

    def correlation_id(self, when: datetime | None = None) -> str:
        """32 hex digits, like ``canonical.context.new_correlation_id``; time-ordered when ``when`` is given."""
        if when is None:
            return f"{self.getrandbits(128):032x}"
        return self.uuid7(when).replace("-", "")

    def uuid7(self, when: datetime) -> str:
        """A time-ordered UUID (RFC 9562 version 7) from ``when``, as text: outbox event ids stay index-friendly."""
        millis = int(when.timestamp() * 1000) & _MILLIS_MASK
        text = f"{(millis << 80) | _VERSION_AND_VARIANT | (self.getrandbits(12) << 64) | self.getrandbits(62):032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class WeightedChoice:
    """Pick from ``{item: weight}`` with one bisect per draw (faster than random.choices in a hot loop)."""

    def __init__(self, weights: dict):
        self.items = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))
        self.total = self.cumulative[-1]

    def pick(self, fraction: float):
        return self.items[bisect.bisect_right(self.cumulative, fraction * self.total)]


def money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)
