"""Products, price lists and contract prices: read endpoints and their systems of record's upserts."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from canonical.api.filters.catalog import (
    ContractPriceFilter,
    CustomerGroupFilter,
    PriceListFilter,
    ProductFilter,
)
from canonical.api.serializers.catalog import (
    ContractPriceUpsertInput,
    PriceListUpsertInput,
    ProductUpsertInput,
)
from canonical.api.views.base import CanonicalReadViewSet, ExternalRecordView
from canonical.models import ContractPrice, CustomerGroup, Domain, EntityType, PriceList, Product
from canonical.serializers.catalog import (
    ContractPriceSerializer,
    CustomerGroupSerializer,
    PriceListSerializer,
    ProductSerializer,
    price_list_items_prefetch,
)
from canonical.services.catalog import contract_price_upsert, price_list_upsert, product_upsert


def _products():
    return Product.objects.all()


def _price_lists():
    return PriceList.objects.prefetch_related(price_list_items_prefetch())


def _contract_prices():
    return ContractPrice.objects.select_related("product", "customer_group")


@extend_schema_view(
    list=extend_schema(tags=["products"], summary="List products"),
    retrieve=extend_schema(tags=["products"], summary="Get a product by hub id"),
)
class ProductViewSet(CanonicalReadViewSet):
    domain = Domain.PRODUCTS
    queryset = _products()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter


@ExternalRecordView.documented(tag="products", noun="product")
class ProductByExternalId(ExternalRecordView):
    domain = Domain.PRODUCTS
    entity_type = EntityType.PRODUCT
    model = Product
    serializer_class = ProductSerializer
    write_serializer_class = ProductUpsertInput
    upsert = staticmethod(product_upsert)


@extend_schema_view(
    list=extend_schema(tags=["prices"], summary="List price lists with their quantity breaks"),
    retrieve=extend_schema(tags=["prices"], summary="Get a price list by hub id"),
)
class PriceListViewSet(CanonicalReadViewSet):
    domain = Domain.PRICES
    queryset = _price_lists()
    serializer_class = PriceListSerializer
    filterset_class = PriceListFilter


@ExternalRecordView.documented(tag="prices", noun="price list")
class PriceListByExternalId(ExternalRecordView):
    domain = Domain.PRICES
    entity_type = EntityType.PRICE_LIST
    model = PriceList
    serializer_class = PriceListSerializer
    write_serializer_class = PriceListUpsertInput
    upsert = staticmethod(price_list_upsert)

    def get_queryset(self):
        return _price_lists()


@extend_schema_view(
    list=extend_schema(tags=["prices"], summary="List contract prices (per customer or customer group)"),
    retrieve=extend_schema(tags=["prices"], summary="Get a contract price by hub id"),
)
class ContractPriceViewSet(CanonicalReadViewSet):
    domain = Domain.PRICES
    queryset = _contract_prices()
    serializer_class = ContractPriceSerializer
    filterset_class = ContractPriceFilter


@ExternalRecordView.documented(tag="prices", noun="contract price")
class ContractPriceByExternalId(ExternalRecordView):
    domain = Domain.PRICES
    entity_type = EntityType.CONTRACT_PRICE
    model = ContractPrice
    serializer_class = ContractPriceSerializer
    write_serializer_class = ContractPriceUpsertInput
    upsert = staticmethod(contract_price_upsert)

    def get_queryset(self):
        return _contract_prices()


@extend_schema_view(
    list=extend_schema(tags=["customers"], summary="List customer groups (contract prices can be for a group)"),
    retrieve=extend_schema(tags=["customers"], summary="Get a customer group by hub id"),
)
class CustomerGroupViewSet(CanonicalReadViewSet):
    domain = Domain.CUSTOMERS
    queryset = CustomerGroup.objects.all()
    serializer_class = CustomerGroupSerializer
    filterset_class = CustomerGroupFilter


read_routes = [
    ("products", ProductViewSet, "product"),
    ("price-lists", PriceListViewSet, "price-list"),
    ("contract-prices", ContractPriceViewSet, "contract-price"),
    ("customer-groups", CustomerGroupViewSet, "customer-group"),
]
external_routes = [
    ("products", ProductByExternalId),
    ("price-lists", PriceListByExternalId),
    ("contract-prices", ContractPriceByExternalId),
]
