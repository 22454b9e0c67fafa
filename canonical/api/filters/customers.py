import django_filters

from canonical.api.filters.base import CanonicalFilterSet, HubIdFilter
from canonical.models import CreditStatus, Customer, CustomerStatus, EntityType


class CustomerFilter(CanonicalFilterSet):
    entity_type = EntityType.CUSTOMER
    status = django_filters.ChoiceFilter(choices=CustomerStatus.choices)
    credit_status = django_filters.ChoiceFilter(choices=CreditStatus.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")
    tax_id = django_filters.CharFilter()
    account_number = django_filters.CharFilter()
    parent = HubIdFilter(field_name="parent_id", help_text="Hub id of the parent account.")
    group = django_filters.CharFilter(field_name="group__code")

    class Meta:
        model = Customer
        fields = ["status", "credit_status", "name", "tax_id", "account_number", "parent", "group", "updated_since"]
