"""POST (and GET) /api/v1/systems/{system}/purchase-orders/{po_ref}/acknowledgements: the canonical
endpoint, with the supplier date-miss check of hub.workflows.supply behind the write."""

from __future__ import annotations

from django.urls import re_path

from canonical.api.views.supply import ACKNOWLEDGEMENTS_ROUTE, Acknowledgements
from hub.workflows.supply import supplier_acknowledgement_receive


class SupplierAcknowledgements(Acknowledgements):
    def record(self, *, supplier, purchase_order, data: dict, actor):
        return supplier_acknowledgement_receive(
            supplier=supplier, purchase_order=purchase_order, data=data, actor=actor
        )


urlpatterns = [
    re_path(ACKNOWLEDGEMENTS_ROUTE, SupplierAcknowledgements.as_view(), name="purchase-order-acknowledgements"),
]
