"""Connectors, mappings, subscriptions, deliveries, inbound messages and the exception queue."""

from connectors.models.connectors import AuthType, BreakerState, Connector, Direction, RateWindow
from connectors.models.deliveries import (
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    PayloadFormat,
    Subscription,
)
from connectors.models.exceptions import (
    ACTIVE_EXCEPTION_STATUSES,
    EXCEPTION_TRANSITIONS,
    SLA_BY_SEVERITY,
    Category,
    ExceptionStatus,
    IntegrationException,
    Severity,
    Team,
)
from connectors.models.inbound import InboundMessage, InboundMessageRevision, InboundStatus
from connectors.models.mappings import Mapping, MappingDirection

__all__ = [
    "ACTIVE_EXCEPTION_STATUSES", "AttemptOutcome", "AuthType", "BreakerState", "Category", "Connector",
    "Delivery", "DeliveryAttempt", "DeliveryStatus", "Direction", "EXCEPTION_TRANSITIONS", "ExceptionStatus",
    "InboundMessage", "InboundMessageRevision", "InboundStatus", "IntegrationException", "Mapping",
    "MappingDirection", "PayloadFormat", "RateWindow", "SLA_BY_SEVERITY", "Severity", "Subscription", "Team",
]
