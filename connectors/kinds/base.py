"""The one small base class every connector kind implements, and its one error type.

A kind turns a delivery request into a call to the partner. It answers with a
TransportResult, or raises TransportError saying whether trying again could help
(``permanent``) and how long the partner asked us to wait (``retry_after``). The
dispatcher decides retries, dead letters and breaker state from that alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from canonical.models import BusinessEvent
    from connectors.models import Connector, Subscription

# Exception categories (connectors.models.Category values) a failed send falls into.
AUTHENTICATION = "authentication"
TIMEOUT = "timeout"
RATE_LIMITED = "rate_limited"
PARTNER_ERROR = "partner_error"
MAPPING = "mapping"


class TransportError(Exception):
    """A send that did not succeed. ``permanent`` failures are dead at once; others are retried."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        status_code: int | None = None,
        timed_out: bool = False,
        category: str | None = None,
        duration_ms: int = 0,
        response_excerpt: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status_code = status_code
        self.timed_out = timed_out
        self.duration_ms = duration_ms
        self.response_excerpt = response_excerpt
        self._category = category

    @property
    def category(self) -> str:
        """The exception-queue category a dead delivery with this error is filed under."""
        if self._category:
            return self._category
        if self.status_code in (401, 403):
            return AUTHENTICATION
        if self.timed_out or self.status_code == 408:
            return TIMEOUT
        if self.status_code == 429:
            return RATE_LIMITED
        return PARTNER_ERROR


@dataclass(frozen=True)
class DeliveryRequest:
    """One event going to one subscription, as the ``attempt``-th try."""

    event: BusinessEvent
    subscription: Subscription
    attempt: int = 1
    delivery_id: int | None = None

    @property
    def correlation_id(self) -> str:
        return self.event.correlation_id or ""


@dataclass(frozen=True)
class TransportResult:
    status_code: int | None
    duration_ms: int
    response_excerpt: str = ""


@dataclass(frozen=True)
class TestResult:
    """What "test connection" shows: whether the partner answered as expected, and how."""

    __test__ = False  # not a pytest test class, whatever its name

    ok: bool
    detail: str
    status_code: int | None = None
    duration_ms: int = 0


class Transport:
    """Sends deliveries for one connector. Kinds subclass it and implement the two methods."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def __init__(self, connector: Connector):
        self.connector = connector

    def send(self, request: DeliveryRequest) -> TransportResult:
        raise NotImplementedError

    def test_connection(self) -> TestResult:
        raise NotImplementedError
