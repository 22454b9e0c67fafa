"""The canonical data store, split by sub-domain; import models from here."""

from canonical.models.base import (
    Domain,
    EntityType,
    ExternalRef,
    System,
    SystemKind,
    SystemOfRecord,
)
from canonical.models.billing import (
    OPEN_INVOICE_STATUSES,
    CreditMemo,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    ReturnAuthorization,
    ReturnLine,
    ReturnStatus,
)
from canonical.models.catalog import ContractPrice, PriceList, PriceListItem, Product, ProductStatus
from canonical.models.customers import (
    Address,
    AddressKind,
    Contact,
    CreditStatus,
    Customer,
    CustomerGroup,
    CustomerStatus,
    DuplicateDismissal,
    Onboarding,
    PaymentTerms,
    address_key,
    name_key,
    normalise_name,
    tax_key,
)
from canonical.models.events import AuditEntry, BusinessEvent, EventFeed
from canonical.models.fulfilment import (
    MILESTONE_RANK,
    MilestoneCode,
    Shipment,
    ShipmentLine,
    ShipmentMilestone,
)
from canonical.models.inventory import (
    InventoryPosition,
    Location,
    LocationKind,
    Reservation,
    ReservationStatus,
)
from canonical.models.orders import OPEN_ORDER_STATUSES, ORDER_TRANSITIONS, Order, OrderLine, OrderStatus
from canonical.models.supply import (
    AdvanceShipNotice,
    AdvanceShipNoticeLine,
    PurchaseOrder,
    PurchaseOrderKind,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    SupplierAcknowledgement,
    SupplierAcknowledgementLine,
)

__all__ = [
    "Address", "AddressKind", "AdvanceShipNotice", "AdvanceShipNoticeLine", "AuditEntry", "BusinessEvent", "EventFeed",
    "Contact", "ContractPrice", "CreditMemo", "CreditStatus", "Customer", "CustomerGroup", "CustomerStatus",
    "Domain", "EntityType", "ExternalRef", "InventoryPosition", "Invoice", "InvoiceLine", "InvoiceStatus",
    "Location", "LocationKind", "MILESTONE_RANK", "MilestoneCode", "OPEN_INVOICE_STATUSES",
    "OPEN_ORDER_STATUSES", "ORDER_TRANSITIONS", "Order", "OrderLine", "OrderStatus", "PaymentTerms",
    "PriceList", "PriceListItem", "Product", "ProductStatus", "PurchaseOrder", "PurchaseOrderKind",
    "PurchaseOrderLine", "PurchaseOrderStatus", "Reservation", "ReservationStatus", "ReturnAuthorization",
    "ReturnLine", "ReturnStatus", "Shipment", "ShipmentLine", "ShipmentMilestone", "SupplierAcknowledgement",
    "SupplierAcknowledgementLine", "System", "SystemKind", "SystemOfRecord", "normalise_name",
    "DuplicateDismissal", "Onboarding", "address_key", "name_key", "tax_key",
]
