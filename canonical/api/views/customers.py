"""Customer accounts: read endpoints and the CRM's upsert."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from canonical.api.filters.customers import CustomerFilter
from canonical.api.serializers.customers import CustomerUpsertInput
from canonical.api.views.base import CanonicalReadViewSet, ExternalRecordView
from canonical.models import Customer, Domain, EntityType
from canonical.serializers.customers import CustomerSerializer
from canonical.services.customers import customer_write

_CUSTOMERS = Customer.objects.select_related("group").prefetch_related("addresses", "contacts")


@extend_schema_view(
    list=extend_schema(tags=["customers"], summary="List customer accounts"),
    retrieve=extend_schema(tags=["customers"], summary="Get a customer account by hub id"),
)
class CustomerViewSet(CanonicalReadViewSet):
    domain = Domain.CUSTOMERS
    queryset = _CUSTOMERS
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter


@ExternalRecordView.documented(tag="customers", noun="customer account")
class CustomerByExternalId(ExternalRecordView):
    domain = Domain.CUSTOMERS
    entity_type = EntityType.CUSTOMER
    model = Customer
    serializer_class = CustomerSerializer
    write_serializer_class = CustomerUpsertInput
    # Through the hub's onboarding (duplicate check, ERP activation): see customer_write.
    upsert = staticmethod(customer_write)

    def get_queryset(self):
        return _CUSTOMERS


read_routes = [("customers", CustomerViewSet, "customer")]
external_routes = [("customers", CustomerByExternalId)]
