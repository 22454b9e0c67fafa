"""POST (and GET) /api/v1/systems/{system}/purchase-orders/{po_ref}/acknowledgements: the canonical
endpoint, with the supplier date-miss check behind the write (supplier_acknowledgement_receive)."""

from __future__ import annotations

from django.urls import re_path

from canonical.api.views.supply import ACKNOWLEDGEMENTS_ROUTE, Acknowledgements
from connectors.services.supply_exceptions import supplier_acknowledgement_receive


class SupplierAcknowledgements(Acknowledgements):
    def record(self, *, supplier, purchase_order, data: dict, actor):
        result, _ = supplier_acknowledgement_receive(
            supplier=supplier, purchase_order=purchase_order, data=data, actor=actor
        )
        return result


urlpatterns = [
    re_path(ACKNOWLEDGEMENTS_ROUTE, SupplierAcknowledgements.as_view(), name="purchase-order-acknowledgements"),
]
