"""The API governance registry; import models from here."""

from governance.models.access import ApiSubscription, RatePlan, SubscriptionStatus
from governance.models.consumers import ApiKey, Consumer
from governance.models.contracts import CompatibilityMode, EventContract, EventContractVersion
from governance.models.registry import (
    LIFECYCLE,
    LIVE_STATES,
    SUBSCRIBABLE_STATES,
    ApiProduct,
    ApiVersion,
    Layer,
    Lifecycle,
    Review,
    ReviewDecision,
    Team,
)
from governance.models.usage import RateWindow, StatusClass, UsageCounter

__all__ = [
    "LIFECYCLE",
    "LIVE_STATES",
    "SUBSCRIBABLE_STATES",
    "ApiKey",
    "ApiProduct",
    "ApiSubscription",
    "ApiVersion",
    "CompatibilityMode",
    "Consumer",
    "EventContract",
    "EventContractVersion",
    "Layer",
    "Lifecycle",
    "RatePlan",
    "RateWindow",
    "Review",
    "ReviewDecision",
    "StatusClass",
    "SubscriptionStatus",
    "Team",
    "UsageCounter",
]
